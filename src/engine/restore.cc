#include "engine/restore.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <future>
#include <cerrno>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "base/sync.h"
#include "io/file.h"
#include "source/files/pattern.h"

namespace ward::engine {

namespace {

using repo::BlobLocation;
using repo::BlobType;
using repo::Node;
using repo::NodeType;

constexpr uint64_t kMergeGap = 1 << 20;  // read across gaps up to 1 MiB in one request

struct FileTarget {
  std::string path;
  Node node;
  std::atomic<int64_t> remaining{0};
  std::atomic<bool> failed{false};
  std::atomic<bool> done{false};
  // Skip writing zero blocks (leave holes): only into a file that had no old
  // content, or stale bytes would show through the holes.
  bool sparse_write = false;
  // One blob, no hard links, nothing to keep: created, written and finished
  // in one open by the worker that has the blob (most small files).
  bool single = false;
};

struct Write {
  FileTarget* file;
  uint64_t offset;
};

struct BlobNeed {
  Id id;
  BlobLocation loc;
  std::vector<Write> writes;
};

struct DirMeta {
  std::string path;
  Node node;
  int depth;
};

std::vector<std::string> SplitPath(const std::string& p) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos <= p.size()) {
    size_t s = p.find('/', pos);
    if (s == std::string::npos) s = p.size();
    if (s > pos) out.push_back(p.substr(pos, s - pos));
    pos = s + 1;
  }
  return out;
}

Status SetMetadata(const std::string& path, const Node& n, bool owner) {
  if (owner && ::lchown(path.c_str(), n.uid, n.gid) != 0) return ErrnoStatus(errno, path);
  if (n.type != NodeType::kSymlink && ::chmod(path.c_str(), n.mode & 07777) != 0) {
    return ErrnoStatus(errno, path);
  }
  struct timespec ts[2];
  ts[0].tv_sec = ts[1].tv_sec = n.mtime_ns / 1000000000;
  ts[0].tv_nsec = ts[1].tv_nsec = n.mtime_ns % 1000000000;
  if (ts[0].tv_nsec < 0) {
    ts[0].tv_sec -= 1;
    ts[1].tv_sec -= 1;
    ts[0].tv_nsec = ts[1].tv_nsec = ts[0].tv_nsec + 1000000000;
  }
  if (::utimensat(AT_FDCWD, path.c_str(), ts, AT_SYMLINK_NOFOLLOW) != 0) return ErrnoStatus(errno, path);
  return Status::OK();
}

Status SetMetadataFd(int fd, const std::string& path, const Node& n, bool owner) {
  if (owner && ::fchown(fd, n.uid, n.gid) != 0) return ErrnoStatus(errno, path);
  if (::fchmod(fd, n.mode & 07777) != 0) return ErrnoStatus(errno, path);
  struct timespec ts[2];
  int64_t sec = n.mtime_ns / 1000000000, nsec = n.mtime_ns % 1000000000;
  if (nsec < 0) {
    sec -= 1;
    nsec += 1000000000;
  }
  ts[0].tv_sec = ts[1].tv_sec = sec;
  ts[0].tv_nsec = ts[1].tv_nsec = nsec;
  if (::futimens(fd, ts) != 0) return ErrnoStatus(errno, path);
  return Status::OK();
}

// Writes a blob at `offset`. Sparse files keep holes where the snapshot has
// zeros: all-zero 4 KiB blocks are skipped (the file was pre-sized with
// ftruncate, so they read back as zeros).
Status WriteBlob(int fd, ByteView data, uint64_t offset, bool sparse, const std::string& path) {
  if (!sparse) return io::PwriteAll(fd, data, offset, path);
  constexpr size_t kBlock = 4096;
  size_t pos = 0;
  while (pos < data.size()) {
    size_t end = std::min(data.size(), pos + kBlock);
    bool zero = std::all_of(data.begin() + pos, data.begin() + end, [](uint8_t c) { return c == 0; });
    if (zero) {
      pos = end;
      continue;
    }
    size_t run_end = end;  // extend over following non-zero blocks
    while (run_end < data.size()) {
      size_t next = std::min(data.size(), run_end + kBlock);
      if (std::all_of(data.begin() + run_end, data.begin() + next, [](uint8_t c) { return c == 0; })) break;
      run_end = next;
    }
    WARD_RETURN_IF_ERROR(io::PwriteAll(fd, data.subspan(pos, run_end - pos), offset + pos, path));
    pos = run_end;
  }
  return Status::OK();
}

// Makes room for an entry of type `t` at `path`: an existing entry of another
// type is removed (an empty directory, or a file or link).
// With `replace_file`, an existing regular file is removed too (it may be
// read-only from an earlier restore; its content is rewritten anyway).
Status Clear(const std::string& path, NodeType t, bool replace_file = false) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) return Status::OK();
  bool is_dir = S_ISDIR(st.st_mode);
  if (t == NodeType::kDir && is_dir) return Status::OK();
  if (t == NodeType::kFile && S_ISREG(st.st_mode) && !replace_file) return Status::OK();
  if (is_dir) {
    if (::rmdir(path.c_str()) != 0) {
      return ErrnoStatus(errno, path + " (a directory is in the way of a " + repo::NodeTypeName(t) + ")");
    }
    return Status::OK();
  }
  if (::unlink(path.c_str()) != 0) return ErrnoStatus(errno, path);
  return Status::OK();
}

class Restorer {
 public:
  Restorer(repo::Repository& repo, const RestoreOptions& o, Progress* p)
      : repo_(repo), opts_(o), progress_(p), owner_(::geteuid() == 0) {}

  Result<RestoreResult> Run(const Node& start, const std::string& start_path);

 private:
  Status Plan(const Node& dir_node, const std::string& snap_path, const std::string& target, int depth);
  void PlanEntry(const Node& n, const std::string& snap_path, const std::string& target, int depth);
  void PlanFile(const Node& n, const std::string& target);
  bool Included(const std::string& snap_path, bool is_dir) const;
  void Error(const Status& s) {
    std::lock_guard lock(mu_);
    result_.errors.push_back(s);
    if (progress_) progress_->errors++;
  }
  void RestorePack(const Id& pack, std::vector<BlobNeed*>& needs);
  void FileFailed(FileTarget* f, const Status& why);
  void BlobDone(FileTarget* f);

  repo::Repository& repo_;
  const RestoreOptions& opts_;
  Progress* progress_;
  bool owner_;
  source::PathMatcher includes_, excludes_;

  std::mutex mu_;
  RestoreResult result_;
  std::vector<std::unique_ptr<FileTarget>> files_;
  std::map<std::pair<uint64_t, uint64_t>, std::string> hardlinks_;  // (device, inode) -> first path
  std::map<std::pair<Id, int>, BlobNeed> needs_;  // (blob, type) -> where it goes
  std::vector<DirMeta> dirs_;
};

bool Restorer::Included(const std::string& snap_path, bool is_dir) const {
  if (!excludes_.empty() && excludes_.Matches(snap_path)) return false;
  if (includes_.empty()) return true;
  if (includes_.Matches(snap_path)) return true;
  return is_dir && includes_.CouldMatchBelow(snap_path);
}

void Restorer::FileFailed(FileTarget* f, const Status& why) {
  if (f->failed.exchange(true)) return;
  // Most reasons start with the path already ("/t/a: Read-only file system"): name it once.
  std::string reason = why.message();
  if (reason.rfind(f->path + ": ", 0) == 0) reason.erase(0, f->path.size() + 2);
  Error(Status(why.code(), "could not restore " + f->path + ": " + reason));
}

void Restorer::BlobDone(FileTarget* f) {
  if (f->remaining.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
  if (f->failed) return;
  Status s = SetMetadata(f->path, f->node, owner_);
  if (!s.ok()) Error(s);
  f->done = true;
  if (progress_) progress_->files_done++;
}

void Restorer::PlanFile(const Node& n, const std::string& target) {
  // Hard links: the second and later names of an inode link to the first.
  if (n.links > 1 && n.inode != 0) {
    auto key = std::make_pair(n.device, n.inode);
    auto it = hardlinks_.find(key);
    if (it != hardlinks_.end()) {
      Status s = Clear(target, NodeType::kSymlink);
      if (s.ok() && ::link(it->second.c_str(), target.c_str()) != 0) s = ErrnoStatus(errno, target);
      if (!s.ok()) Error(s); else result_.links++;
      return;
    }
    hardlinks_[key] = target;
  }
  auto f = std::make_unique<FileTarget>();
  f->path = target;
  f->node = n;
  FileTarget* file = f.get();
  files_.push_back(std::move(f));
  if (progress_) {
    progress_->files_total++;
    progress_->bytes_total += n.size;
  }

  Status s = Clear(target, NodeType::kFile, /*replace_file=*/!opts_.delta);
  if (!s.ok()) {
    FileFailed(file, s);
    return;
  }
  if (!opts_.delta && n.content.size() == 1 && n.links <= 1) {
    auto loc = repo_.LookupBlob(BlobType::kData, n.content[0]);
    if (!loc) {
      FileFailed(file, DataLossError(fmt::format("data blob {} is missing from the repository", n.content[0].Short())));
      return;
    }
    file->single = true;
    file->sparse_write = n.sparse;
    auto& need = needs_[{n.content[0], 0}];
    need.id = n.content[0];
    need.loc = *loc;
    need.writes.push_back({file, 0});
    file->remaining = 1;
    return;
  }
  int flags = O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | (opts_.delta ? 0 : O_TRUNC);
  int fd = ::open(target.c_str(), flags, 0600);
  if (fd < 0 && errno == EACCES && opts_.delta) {
    ::chmod(target.c_str(), 0600);  // a read-only file from an earlier restore
    fd = ::open(target.c_str(), flags, 0600);
  }
  if (fd < 0) {
    FileFailed(file, ErrnoStatus(errno, target));
    return;
  }
  io::UniqueFd owned(fd);

  // Where each chunk goes, and (delta) which chunks the file already has.
  std::vector<std::pair<Id, BlobLocation>> chunks;
  uint64_t offset = 0;
  for (const Id& id : n.content) {
    auto loc = repo_.LookupBlob(BlobType::kData, id);
    if (!loc) {
      FileFailed(file, DataLossError(fmt::format("data blob {} is missing from the repository", id.Short())));
      ::unlink(target.c_str());
      return;
    }
    chunks.emplace_back(id, *loc);
    offset += loc->ulength;
  }
  if (offset != n.size) {
    spdlog::debug("{}: stored size {} differs from chunk total {}", target, n.size, offset);
  }
  uint64_t size = offset;
  std::vector<bool> have(chunks.size(), false);
  file->sparse_write = n.sparse;
  if (opts_.delta) {
    struct stat st;
    if (::fstat(fd, &st) == 0 && st.st_size > 0) {
      file->sparse_write = false;
      auto rfd = io::OpenRead(target);
      Bytes buf;
      uint64_t off = 0;
      for (size_t i = 0; rfd.ok() && i < chunks.size(); ++i) {
        uint32_t len = chunks[i].second.ulength;
        if (off + len <= static_cast<uint64_t>(st.st_size)) {
          buf.resize(len);
          auto got = io::PreadFull(rfd->get(), buf.data(), len, off, target);
          if (got.ok() && *got == len && repo_.HashBlob(buf) == chunks[i].first) {
            have[i] = true;
            result_.bytes_reused += len;
          }
        }
        off += len;
      }
    }
  }
  if (::ftruncate(fd, static_cast<off_t>(size)) != 0) {
    FileFailed(file, ErrnoStatus(errno, target));
    return;
  }
  Status cs = owned.Close(target);
  if (!cs.ok()) {
    FileFailed(file, cs);
    return;
  }
  int64_t missing = 0;
  offset = 0;
  for (size_t i = 0; i < chunks.size(); ++i) {
    if (!have[i]) {
      auto& need = needs_[{chunks[i].first, 0}];
      need.id = chunks[i].first;
      need.loc = chunks[i].second;
      need.writes.push_back({file, offset});
      ++missing;
    } else if (progress_) {
      progress_->bytes_done += chunks[i].second.ulength;
    }
    offset += chunks[i].second.ulength;
  }
  file->remaining = missing + 1;  // +1: released below, once planning of this file is over
  if (missing == 0) result_.files_unchanged++;
  BlobDone(file);
}

void Restorer::PlanEntry(const Node& n, const std::string& snap_path, const std::string& target, int depth) {
  if (!Included(snap_path, n.type == NodeType::kDir)) return;
  switch (n.type) {
    case NodeType::kDir: {
      Status s = Clear(target, NodeType::kDir);
      if (s.ok()) s = io::MakeDirs(target, 0700);
      if (!s.ok()) {
        Error(s);
        return;
      }
      Status ps = Plan(n, snap_path, target, depth + 1);
      if (!ps.ok()) Error(ps);
      dirs_.push_back({target, n, depth});
      result_.dirs++;
      return;
    }
    case NodeType::kFile:
      PlanFile(n, target);
      return;
    case NodeType::kSymlink: {
      Status s = Clear(target, NodeType::kSymlink);
      if (s.ok() && ::symlink(n.link_target.c_str(), target.c_str()) != 0) s = ErrnoStatus(errno, target);
      if (s.ok()) s = SetMetadata(target, n, owner_);
      if (!s.ok()) Error(s); else result_.links++;
      return;
    }
    default: {
      mode_t type = n.type == NodeType::kFifo      ? S_IFIFO
                    : n.type == NodeType::kCharDev ? S_IFCHR
                    : n.type == NodeType::kBlockDev ? S_IFBLK
                                                    : S_IFSOCK;
      Status s = Clear(target, n.type);
      if (s.ok() && ::mknod(target.c_str(), type | 0600, static_cast<dev_t>(n.rdev)) != 0) {
        s = ErrnoStatus(errno, target);
      }
      if (s.ok()) s = SetMetadata(target, n, owner_);
      if (!s.ok()) Error(s); else result_.special++;
      return;
    }
  }
}

Status Restorer::Plan(const Node& dir_node, const std::string& snap_path, const std::string& target, int depth) {
  auto tree = repo_.LoadTree(dir_node.subtree);
  if (!tree.ok()) {
    return Status(tree.status().code(),
                  "could not restore the contents of " + (snap_path.empty() ? "/" : snap_path) + ": " +
                      tree.status().message());
  }
  for (const Node& n : tree->nodes) {
    PlanEntry(n, snap_path + "/" + n.name, target + "/" + n.name, depth);
  }
  return Status::OK();
}

void Restorer::RestorePack(const Id& pack, std::vector<BlobNeed*>& needs) {
  std::sort(needs.begin(), needs.end(),
            [](const BlobNeed* a, const BlobNeed* b) { return a->loc.offset < b->loc.offset; });
  size_t i = 0;
  while (i < needs.size()) {
    size_t j = i + 1;
    uint64_t start = needs[i]->loc.offset;
    uint64_t end = start + needs[i]->loc.length;
    while (j < needs.size() && needs[j]->loc.offset <= end + kMergeGap &&
           needs[j]->loc.offset + needs[j]->loc.length - start <= 32u << 20) {
      end = std::max<uint64_t>(end, needs[j]->loc.offset + needs[j]->loc.length);
      ++j;
    }
    auto range = repo_.LoadPackRange(pack, start, end - start);
    for (size_t k = i; k < j; ++k) {
      BlobNeed* need = needs[k];
      Status s;
      Bytes plain;
      if (!range.ok()) {
        s = range.status().code() == StatusCode::kNotFound || range.status().code() == StatusCode::kOutOfRange
                ? DataLossError("pack " + pack.Short() + " is missing or truncated")
                : range.status();
      } else {
        ByteView sealed = ByteView(*range).subspan(need->loc.offset - start, need->loc.length);
        s = repo::OpenBlob(repo_.enc_key(), repo_.mac(), need->id, need->loc, sealed, &plain);
      }
      for (const Write& w : need->writes) {
        FileTarget* f = w.file;
        if (!s.ok()) {
          FileFailed(f, s);
        } else if (f->single) {
          int fd = ::open(f->path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
          Status ws = fd < 0 ? ErrnoStatus(errno, f->path) : WriteBlob(fd, plain, 0, f->sparse_write, f->path);
          if (ws.ok() && f->sparse_write && ::ftruncate(fd, static_cast<off_t>(plain.size())) != 0) {
            ws = ErrnoStatus(errno, f->path);
          }
          if (ws.ok()) ws = SetMetadataFd(fd, f->path, f->node, owner_);
          if (fd >= 0 && ::close(fd) != 0 && ws.ok()) ws = ErrnoStatus(errno, f->path);
          if (!ws.ok()) {
            FileFailed(f, ws);
          } else {
            f->done = true;
            if (progress_) progress_->files_done++;
          }
          f->remaining = 0;
          {
            std::lock_guard lock(mu_);
            result_.bytes_written += plain.size();
          }
          if (progress_) progress_->bytes_done += need->loc.ulength;
          continue;
        } else if (!f->failed) {
          int fd = ::open(f->path.c_str(), O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
          Status ws = fd < 0 ? ErrnoStatus(errno, f->path)
                             : WriteBlob(fd, plain, w.offset, f->sparse_write, f->path);
          if (fd >= 0) ::close(fd);
          if (!ws.ok()) FileFailed(f, ws);
          std::lock_guard lock(mu_);
          result_.bytes_written += plain.size();
        }
        if (progress_) progress_->bytes_done += need->loc.ulength;
        BlobDone(f);
      }
    }
    i = j;
  }
}

Result<RestoreResult> Restorer::Run(const Node& start, const std::string& start_path) {
  WARD_ASSIGN_OR_RETURN(includes_, source::PathMatcher::Create(opts_.includes));
  WARD_ASSIGN_OR_RETURN(excludes_, source::PathMatcher::Create(opts_.excludes));
  std::string target = opts_.target;
  while (target.size() > 1 && target.back() == '/') target.pop_back();
  WARD_RETURN_IF_ERROR(io::MakeDirs(target, 0700));

  if (start.type == NodeType::kDir) {
    WARD_RETURN_IF_ERROR(Plan(start, start_path == "/" ? "" : start_path, target, 0));
  } else {
    PlanEntry(start, start_path, target + "/" + start.name, 0);
  }

  // Group by pack and restore packs in parallel.
  std::map<Id, std::vector<BlobNeed*>> by_pack;
  for (auto& [key, need] : needs_) by_pack[need.loc.pack].push_back(&need);
  std::vector<std::pair<const Id*, std::vector<BlobNeed*>*>> work;
  for (auto& [pack, needs] : by_pack) work.emplace_back(&pack, &needs);
  // Local disks: one more thread than cores, to cover I/O waits.
  int threads = opts_.workers > 0 ? opts_.workers
                                  : (repo_.backend()->IsLocal()
                                         ? std::max(2, static_cast<int>(std::thread::hardware_concurrency())) + 1
                                         : repo_.backend()->Concurrency());
  ParallelFor(work.size(), threads, [&](size_t i) { RestorePack(*work[i].first, *work[i].second); });

  for (auto& f : files_) {
    if (f->failed) {
      ::unlink(f->path.c_str());  // never leave a file with wrong content
    } else if (f->done) {
      result_.files_restored++;
    }
  }
  // Directories last, deepest first: writing into them changed their mtime.
  std::stable_sort(dirs_.begin(), dirs_.end(), [](const DirMeta& a, const DirMeta& b) { return a.depth > b.depth; });
  for (const auto& d : dirs_) {
    Status s = SetMetadata(d.path, d.node, owner_);
    if (!s.ok()) Error(s);
  }
  return std::move(result_);
}

}  // namespace

namespace {

class SnapshotFileReader : public source::Reader {
 public:
  SnapshotFileReader(repo::Repository& repo, const Node& node) : repo_(repo), content_(node.content) {}
  ~SnapshotFileReader() override {
    for (auto& f : ahead_) {
      if (f.valid()) f.wait();
    }
  }

  Result<size_t> Read(std::span<uint8_t> out) override {
    size_t done = 0;
    while (done < out.size()) {
      if (pos_ == current_.size()) {
        if (!Refill()) break;
        if (!error_.ok()) return error_;
        continue;
      }
      size_t n = std::min(out.size() - done, current_.size() - pos_);
      std::memcpy(out.data() + done, current_.data() + pos_, n);
      pos_ += n;
      done += n;
    }
    return done;
  }

 private:
  static constexpr size_t kAhead = 4;

  // Moves to the next blob; false at the end of the file.
  bool Refill() {
    while (ahead_.size() < kAhead && next_ < content_.size()) {
      Id id = content_[next_++];
      ahead_.push_back(std::async(std::launch::async, [this, id] { return repo_.LoadBlob(BlobType::kData, id); }));
    }
    if (ahead_.empty()) return false;
    auto r = ahead_.front().get();
    ahead_.pop_front();
    pos_ = 0;
    if (!r.ok()) {
      error_ = r.status();
      current_.clear();
      return true;
    }
    current_ = std::move(*r);
    return true;
  }

  repo::Repository& repo_;
  std::vector<Id> content_;
  size_t next_ = 0;
  std::deque<std::future<Result<Bytes>>> ahead_;
  Bytes current_;
  size_t pos_ = 0;
  Status error_;
};

Status StreamTree(repo::Repository& repo, const Node& dir, const std::string& path, source::RestoreTarget& target,
                  Progress* progress) {
  WARD_ASSIGN_OR_RETURN(repo::Tree tree, repo.LoadTree(dir.subtree));
  for (const Node& n : tree.nodes) {
    std::string p = path.empty() ? n.name : path + "/" + n.name;
    if (n.type == NodeType::kDir) {
      WARD_RETURN_IF_ERROR(StreamTree(repo, n, p, target, progress));
    } else if (n.type == NodeType::kFile) {
      if (progress) progress->SetCurrent(p);
      auto reader = OpenSnapshotFile(repo, n);
      WARD_RETURN_IF_ERROR(target.RestoreFile(p, n, *reader));
      if (progress) {
        progress->files_done++;
        progress->bytes_done += n.size;
      }
    }
  }
  return Status::OK();
}

}  // namespace

std::unique_ptr<source::Reader> OpenSnapshotFile(repo::Repository& repo, const repo::Node& node) {
  return std::make_unique<SnapshotFileReader>(repo, node);
}

Result<nlohmann::json> RunRestoreToTarget(repo::Repository& repo, const repo::Snapshot& snapshot,
                                          const std::string& subpath, source::RestoreTarget& target,
                                          Progress* progress) {
  std::string sub = subpath.empty() || subpath[0] != '/' ? "/" + subpath : subpath;
  WARD_ASSIGN_OR_RETURN(Node start, FindNode(repo, snapshot.tree, sub));
  if (start.type == NodeType::kDir) {
    WARD_RETURN_IF_ERROR(StreamTree(repo, start, "", target, progress));
  } else if (start.type == NodeType::kFile) {
    auto reader = OpenSnapshotFile(repo, start);
    WARD_RETURN_IF_ERROR(target.RestoreFile(start.name, start, *reader));
  }
  return target.Finish();
}

std::pair<std::string, nlohmann::json> SourceAt(const repo::Snapshot& s, const std::string& subpath) {
  std::string head = subpath;
  while (!head.empty() && head[0] == '/') head.erase(0, 1);
  head = head.substr(0, head.find('/'));
  if (s.source == "plan" && s.sources.is_object() && s.sources.contains(head)) {
    const auto& part = s.sources[head];
    return {part.value("kind", ""), part.value("position", nlohmann::json::object())};
  }
  return {s.source, s.sources};
}

Result<Node> FindNode(repo::Repository& repo, const Id& root, const std::string& path) {
  Node cur;
  cur.type = NodeType::kDir;
  cur.subtree = root;
  cur.mode = 0755;
  std::string walked;
  for (const auto& part : SplitPath(path)) {
    if (cur.type != NodeType::kDir) {
      return NotFoundError("'" + walked + "' in the snapshot is not a directory");
    }
    WARD_ASSIGN_OR_RETURN(repo::Tree t, repo.LoadTree(cur.subtree));
    const Node* n = t.Find(part);
    walked += "/" + part;
    if (!n) return NotFoundError("'" + walked + "' is not in the snapshot (see 'ward ls')");
    cur = *n;
  }
  return cur;
}

Result<RestoreResult> RunRestore(repo::Repository& repo, const repo::Snapshot& snapshot,
                                 const RestoreOptions& options, Progress* progress) {
  if (options.target.empty()) return InvalidArgumentError("no --target directory given");
  std::string sub = options.subpath.empty() ? "/" : options.subpath;
  if (sub[0] != '/') sub = "/" + sub;
  WARD_ASSIGN_OR_RETURN(Node start, FindNode(repo, snapshot.tree, sub));
  std::string start_path = sub == "/" ? "" : sub;
  while (!start_path.empty() && start_path.back() == '/') start_path.pop_back();
  Restorer r(repo, options, progress);
  return r.Run(start, start_path);
}

}  // namespace ward::engine
