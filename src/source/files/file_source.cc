#include "source/files/file_source.h"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "io/file.h"
#include "source/kind.h"

namespace ward::source {

std::string CleanAbsolutePath(const std::string& path) {
  std::string full = path;
  if (full.empty() || full[0] != '/') {
    char buf[PATH_MAX];
    std::string cwd = ::getcwd(buf, sizeof buf) ? buf : "/";
    full = cwd + "/" + path;
  }
  std::vector<std::string> parts;
  size_t pos = 0;
  while (pos <= full.size()) {
    size_t slash = full.find('/', pos);
    if (slash == std::string::npos) slash = full.size();
    std::string part = full.substr(pos, slash - pos);
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
    } else if (!part.empty() && part != ".") {
      parts.push_back(part);
    }
    pos = slash + 1;
  }
  std::string out;
  for (const auto& p : parts) out += "/" + p;
  return out.empty() ? "/" : out;
}

namespace {

class FileReader : public Reader {
 public:
  FileReader(io::UniqueFd fd, std::string path) : fd_(std::move(fd)), path_(std::move(path)) {}
  Result<size_t> Read(std::span<uint8_t> out) override {
    return io::ReadFull(fd_.get(), out.data(), out.size(), path_);
  }

 private:
  io::UniqueFd fd_;
  std::string path_;
};

repo::NodeType TypeOf(mode_t m) {
  if (S_ISDIR(m)) return repo::NodeType::kDir;
  if (S_ISLNK(m)) return repo::NodeType::kSymlink;
  if (S_ISFIFO(m)) return repo::NodeType::kFifo;
  if (S_ISCHR(m)) return repo::NodeType::kCharDev;
  if (S_ISBLK(m)) return repo::NodeType::kBlockDev;
  if (S_ISSOCK(m)) return repo::NodeType::kSocket;
  return repo::NodeType::kFile;
}

bool IsUnder(const std::string& path, const std::string& base) {
  if (base.empty()) return true;
  return path == base || (path.size() > base.size() && path.compare(0, base.size(), base) == 0 &&
                          path[base.size()] == '/');
}

}  // namespace

Result<std::unique_ptr<FileSource>> FileSource::Create(const FileSourceOptions& options) {
  if (options.paths.empty()) return InvalidArgumentError("no paths to back up");
  std::unique_ptr<FileSource> s(new FileSource());
  WARD_ASSIGN_OR_RETURN(s->excludes_, PathMatcher::Create(options.excludes));
  s->one_file_system_ = options.one_file_system;
  std::set<std::string> uniq, trailing_slash;
  for (const auto& p : options.paths) {
    std::string clean = CleanAbsolutePath(p);
    uniq.insert(clean);
    // "lnk/" (or "lnk/.") names the folder behind a symlink, as for ls and tar.
    if (!p.empty() && (p.back() == '/' || p.ends_with("/."))) trailing_slash.insert(clean);
  }
  // A path inside another selected path adds nothing.
  for (const auto& p : uniq) {
    bool nested = false;
    for (const auto& q : uniq) {
      if (q != p && IsUnder(p, q == "/" ? "" : q)) nested = true;
    }
    if (!nested) s->selected_.push_back(p);
  }
  Status first_missing;
  for (const auto& p : s->selected_) {
    std::string rel = p == "/" ? "" : p.substr(1);
    s->selected_rel_.insert(rel);
    // The kernel follows symlinks in every component but the last of a
    // path: so must the walk, or `ward backup lnk/file` through a symlinked
    // folder would store the link and none of the file.
    for (size_t slash = rel.find('/'); slash != std::string::npos; slash = rel.find('/', slash + 1)) {
      s->follow_.insert(rel.substr(0, slash));
    }
    if (trailing_slash.count(p)) s->follow_.insert(rel);
  }
  for (const auto& p : s->selected_) {
    std::string rel = p == "/" ? "" : p.substr(1);
    struct stat st;
    if ((s->follow_.count(rel) ? ::stat(p.c_str(), &st) : ::lstat(p.c_str(), &st)) == 0) {
      s->devices_.insert(st.st_dev);
    } else if (first_missing.ok()) {
      first_missing = ErrnoStatus(errno, p);
    }
  }
  if (s->devices_.empty()) {
    return Status(first_missing.code(), "nothing to back up: " + first_missing.message());
  }
  return s;
}

std::string FileSource::UserName(uint32_t uid) {
  auto it = users_.find(uid);
  if (it != users_.end()) return it->second;
  struct passwd pw, *out = nullptr;
  char buf[4096];
  std::string name;
  if (::getpwuid_r(uid, &pw, buf, sizeof buf, &out) == 0 && out) name = out->pw_name;
  users_[uid] = name;
  return name;
}

std::string FileSource::GroupName(uint32_t gid) {
  auto it = groups_.find(gid);
  if (it != groups_.end()) return it->second;
  struct group gr, *out = nullptr;
  char buf[4096];
  std::string name;
  if (::getgrgid_r(gid, &gr, buf, sizeof buf, &out) == 0 && out) name = out->gr_name;
  groups_[gid] = name;
  return name;
}

Result<Entry> FileSource::Stat(const std::string& rel, const std::string& name) {
  std::string abs = "/" + rel;
  struct stat st;
  if ((follow_.count(rel) ? ::stat(abs.c_str(), &st) : ::lstat(abs.c_str(), &st)) != 0) {
    return ErrnoStatus(errno, abs);
  }
  Entry e;
  repo::Node& n = e.node;
  n.name = name;
  n.type = TypeOf(st.st_mode);
  n.mode = st.st_mode & 07777;
  n.uid = st.st_uid;
  n.gid = st.st_gid;
  n.user = UserName(st.st_uid);
  n.group = GroupName(st.st_gid);
  n.mtime_ns = int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  n.ctime_ns = int64_t(st.st_ctim.tv_sec) * 1000000000 + st.st_ctim.tv_nsec;
  n.inode = st.st_ino;
  n.device = st.st_dev;
  n.links = st.st_nlink;
  if (n.type == repo::NodeType::kFile) {
    n.size = static_cast<uint64_t>(st.st_size);
    n.sparse = st.st_size > 0 && uint64_t(st.st_blocks) * 512 < uint64_t(st.st_size);
  }
  if (n.type == repo::NodeType::kCharDev || n.type == repo::NodeType::kBlockDev) n.rdev = st.st_rdev;
  if (n.type == repo::NodeType::kSymlink) {
    std::string target(static_cast<size_t>(st.st_size > 0 ? st.st_size : PATH_MAX), '\0');
    ssize_t len = ::readlink(abs.c_str(), target.data(), target.size());
    if (len < 0) return ErrnoStatus(errno, abs);
    target.resize(static_cast<size_t>(len));
    n.link_target = target;
  }
  return e;
}

Result<std::vector<Entry>> FileSource::List(const std::string& path, std::vector<Status>* skipped) {
  std::vector<std::string> names;
  bool inside = false;  // path is a selected path or below one: list it for real
  for (const auto& sel : selected_rel_) inside |= IsUnder(path, sel);
  if (inside) {
    std::string abs = "/" + path;
    DIR* d = ::opendir(abs.c_str());
    if (!d) return ErrnoStatus(errno, abs);
    errno = 0;
    while (struct dirent* de = ::readdir(d)) {
      std::string n = de->d_name;
      if (n != "." && n != "..") names.push_back(n);
    }
    int err = errno;
    ::closedir(d);
    if (err != 0) return ErrnoStatus(err, abs);
  } else {
    // An ancestor of selected paths: only the components that lead to them.
    std::set<std::string> next;
    for (const auto& sel : selected_rel_) {
      if (!IsUnder(sel, path) || sel == path) continue;
      std::string rest = path.empty() ? sel : sel.substr(path.size() + 1);
      next.insert(rest.substr(0, rest.find('/')));
    }
    names.assign(next.begin(), next.end());
  }
  std::sort(names.begin(), names.end());
  std::vector<Entry> out;
  out.reserve(names.size());
  for (const auto& name : names) {
    std::string rel = Join(path, name);
    if (!excludes_.empty() && excludes_.Matches("/" + rel)) continue;
    auto e = Stat(rel, name);
    if (!e.ok()) {
      skipped->push_back(e.status());
      continue;
    }
    if (one_file_system_ && inside && e->node.type == repo::NodeType::kDir &&
        !devices_.count(e->node.device) && !selected_rel_.count(rel)) {
      continue;  // a mount point below a selected path: keep the empty dir out too
    }
    out.push_back(std::move(*e));
  }
  return out;
}

Result<std::unique_ptr<Reader>> FileSource::Open(const std::string& path, const Entry& entry) {
  std::string abs = "/" + path;
  int fd = ::open(abs.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOATIME);
  if (fd < 0 && errno == EPERM) fd = ::open(abs.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return ErrnoStatus(errno, abs);
  io::UniqueFd owned(fd);
  struct stat st;
  if (::fstat(fd, &st) != 0) return ErrnoStatus(errno, abs);
  if (!S_ISREG(st.st_mode) || st.st_ino != entry.node.inode) {
    return AbortedError(abs + ": changed while being backed up (it is no longer the same file)");
  }
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  return std::unique_ptr<Reader>(std::make_unique<FileReader>(std::move(owned), abs));
}

namespace {

Result<std::unique_ptr<Source>> MakeFilesSource(const plan::PlanSource& ps) {
  FileSourceOptions o;
  WARD_ASSIGN_OR_RETURN(o.paths, ps.Strings("paths", true));
  WARD_ASSIGN_OR_RETURN(o.excludes, ps.Strings("exclude"));
  WARD_ASSIGN_OR_RETURN(o.one_file_system, ps.Bool("one_file_system"));
  auto s = FileSource::Create(o);
  if (!s.ok()) return Status(s.status().code(), "source '" + ps.name + "': " + s.status().message());
  return std::unique_ptr<Source>(std::move(*s));
}

}  // namespace

const SourceKind& FilesKind() {
  static const SourceKind kind{"files", {"paths", "exclude", "one_file_system"}, &MakeFilesSource};
  return kind;
}

}  // namespace ward::source
