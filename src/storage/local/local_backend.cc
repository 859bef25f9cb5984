#include "storage/local/local_backend.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <thread>

#include <fmt/format.h>

#include "io/file.h"
#include "storage/layout.h"

namespace ward::storage {

namespace {

constexpr FileType kAllDirTypes[] = {FileType::kKey,     FileType::kPack,  FileType::kIndex,
                                     FileType::kSnapshot, FileType::kSession, FileType::kPlan,
                                     FileType::kHold};

class LocalBackend : public Backend {
 public:
  explicit LocalBackend(std::string root) : root_(std::move(root)) {
    while (root_.size() > 1 && root_.back() == '/') root_.pop_back();
  }

  std::string Location() const override { return root_; }
  bool IsLocal() const override { return true; }
  int Concurrency() const override {
    return std::max(2, static_cast<int>(std::thread::hardware_concurrency()));
  }

  Status Create() override {
    WARD_RETURN_IF_ERROR(RefuseForeignFiles());
    WARD_RETURN_IF_ERROR(io::MakeDirs(root_, 0700));
    for (FileType t : kAllDirTypes) {
      WARD_RETURN_IF_ERROR(io::MakeDirs(root_ + "/" + LayoutDir(t), 0700));
    }
    for (int i = 0; i < 256; ++i) {
      WARD_RETURN_IF_ERROR(io::MakeDirs(fmt::format("{}/data/{:02x}", root_, i), 0700));
    }
    return Status::OK();
  }

  // A repository is created in a new or empty folder, or in the empty
  // layout an interrupted init left: never among someone else's files, where
  // a later prune or a typo'd -r would mix the two.
  Status RefuseForeignFiles() const {
    WARD_ASSIGN_OR_RETURN(auto foreign, NamesIn(root_, [](std::string_view name) {
      if (name == "." || name == "..") return false;
      for (FileType t : kAllDirTypes) {
        if (name == LayoutDir(t)) return false;
      }
      return true;
    }));
    if (foreign.empty()) return Status::OK();
    return FailedPreconditionError(fmt::format(
        "{} is not empty and is not a ward repository (it holds '{}'): choose a new or empty folder", root_,
        foreign.front()));
  }

  Status Save(const Handle& h, ByteView data) override {
    WARD_RETURN_IF_ERROR(CheckHandle(h));
    std::string path = Path(h);
    Status s = io::WriteFileAtomic(path, data, /*no_replace=*/true, 0400);
    if (s.code() == StatusCode::kNotFound) {
      // The directory is missing (a repository created by an older layout, or
      // removed by hand): create it once and retry.
      WARD_RETURN_IF_ERROR(io::MakeDirs(path.substr(0, path.rfind('/')), 0700));
      s = io::WriteFileAtomic(path, data, true, 0400);
    }
    if (s.code() == StatusCode::kAlreadyExists) {
      return AlreadyExistsError(h.ToString() + " already exists in " + root_);
    }
    return s;
  }

  Result<Bytes> Load(const Handle& h, uint64_t offset, uint64_t length) override {
    WARD_RETURN_IF_ERROR(CheckHandle(h));
    std::string path = Path(h);
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return MissingOr(errno, h, path);
    io::UniqueFd owned(fd);
    struct stat st;
    if (::fstat(fd, &st) != 0) return ErrnoStatus(errno, path);
    uint64_t size = static_cast<uint64_t>(st.st_size);
    if (offset > size || (length > 0 && offset + length > size)) {
      return OutOfRangeError(fmt::format("{}: range {}+{} past its end ({} bytes)", h.ToString(),
                                         offset, length, size));
    }
    if (length == 0) length = size - offset;
    Bytes out(length);
    WARD_ASSIGN_OR_RETURN(size_t n, io::PreadFull(fd, out.data(), length, offset, path));
    if (n != length) return OutOfRangeError(h.ToString() + ": shrank while being read");
    return out;
  }

  Result<FileInfo> Stat(const Handle& h) override {
    WARD_RETURN_IF_ERROR(CheckHandle(h));
    std::string path = Path(h);
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) return MissingOr(errno, h, path);
    return FileInfo{h.name, static_cast<uint64_t>(st.st_size)};
  }

  Status List(FileType t, const std::function<Status(const FileInfo&)>& fn) override {
    if (t == FileType::kConfig) {
      auto info = Stat(Handle::Config());
      if (info.ok()) return fn(*info);
      return info.status().code() == StatusCode::kNotFound ? Status::OK() : info.status();
    }
    std::string dir = root_ + "/" + LayoutDir(t);
    if (t != FileType::kPack) return ListDir(dir, fn);
    // Packs fan out over data/00..ff; list the subdirectories that exist.
    WARD_ASSIGN_OR_RETURN(auto subdirs,
                          NamesIn(dir, [](std::string_view n) { return n.size() == 2 && n != ".."; }));
    for (const auto& sub : subdirs) WARD_RETURN_IF_ERROR(ListDir(dir + "/" + sub, fn));
    return Status::OK();
  }

  Status ListTemporaries(const std::function<Status(const FileInfo&)>& fn) override {
    std::vector<std::string> dirs;
    for (FileType t : kAllDirTypes) {
      if (t != FileType::kPack) dirs.push_back(LayoutDir(t));
    }
    for (int i = 0; i < 256; ++i) dirs.push_back(fmt::format("{}/{:02x}", LayoutDir(FileType::kPack), i));
    dirs.push_back("");  // the config's
    for (const auto& rel : dirs) {
      std::string dir = rel.empty() ? root_ : root_ + "/" + rel;
      WARD_ASSIGN_OR_RETURN(auto names, NamesIn(dir, IsTemporaryName));
      for (const auto& n : names) {
        struct stat st;
        if (::lstat((dir + "/" + n).c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
        WARD_RETURN_IF_ERROR(fn(FileInfo{rel.empty() ? n : rel + "/" + n, static_cast<uint64_t>(st.st_size)}));
      }
    }
    return Status::OK();
  }

  Status RemoveTemporary(const std::string& name) override {
    size_t slash = name.rfind('/');
    std::string base = slash == std::string::npos ? name : name.substr(slash + 1);
    if (!IsTemporaryName(base) || name.find("..") != std::string::npos || name.front() == '/') {
      return InvalidArgumentError("'" + name + "' is not a temporary file of this repository");
    }
    std::string path = root_ + "/" + name;
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) return ErrnoStatus(errno, path);
    return Status::OK();
  }

  Status Remove(const Handle& h) override {
    WARD_RETURN_IF_ERROR(CheckHandle(h));
    std::string path = Path(h);
    if (::unlink(path.c_str()) != 0) return MissingOr(errno, h, path);
    return Status::OK();
  }

 private:
  std::string Path(const Handle& h) const { return root_ + "/" + LayoutPath(h); }

  static Status CheckHandle(const Handle& h) {
    if (h.type != FileType::kConfig && !IsValidName(h.name)) {
      return InvalidArgumentError("invalid object name '" + h.name + "'");
    }
    return Status::OK();
  }

  static Status MissingOr(int err, const Handle& h, const std::string& path) {
    if (err == ENOENT) return NotFoundError(h.ToString() + " does not exist (" + path + ")");
    return ErrnoStatus(err, path);
  }

  // "<64 hex>.tmp-…" or "config.tmp-…", as io::WriteFileAtomic names them.
  static bool IsTemporaryName(std::string_view n) {
    size_t at = n.find(".tmp-");
    if (at == std::string_view::npos) return false;
    std::string_view stem = n.substr(0, at);
    return stem == "config" || IsValidName(stem);
  }

  // The names in `dir` that `keep` accepts; none if `dir` does not exist.
  static Result<std::vector<std::string>> NamesIn(const std::string& dir,
                                                  const std::function<bool(std::string_view)>& keep) {
    std::vector<std::string> names;
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) {
      if (errno == ENOENT) return names;
      return ErrnoStatus(errno, dir);
    }
    while (struct dirent* e = ::readdir(d)) {
      if (keep(e->d_name)) names.emplace_back(e->d_name);
    }
    ::closedir(d);
    return names;
  }

  static Status ListDir(const std::string& dir, const std::function<Status(const FileInfo&)>& fn) {
    WARD_ASSIGN_OR_RETURN(auto names, NamesIn(dir, [](std::string_view n) { return IsValidName(n); }));
    for (const auto& n : names) {
      struct stat st;
      std::string path = dir + "/" + n;
      if (::stat(path.c_str(), &st) != 0) {
        if (errno == ENOENT) continue;  // removed meanwhile
        return ErrnoStatus(errno, path);
      }
      WARD_RETURN_IF_ERROR(fn(FileInfo{n, static_cast<uint64_t>(st.st_size)}));
    }
    return Status::OK();
  }

  std::string root_;
};

}  // namespace

std::unique_ptr<Backend> NewLocalBackend(const std::string& root) {
  return std::make_unique<LocalBackend>(root);
}

}  // namespace ward::storage
