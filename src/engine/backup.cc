#include "engine/backup.h"

#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <variant>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "base/sync.h"

namespace ward::engine {

namespace {

using repo::BlobType;
using repo::Node;
using repo::NodeType;

constexpr size_t kChunkQueueBytes = 8 << 20;

struct FileJob {
  Node node;
  std::deque<Id> content;          // slots filled in by workers
  std::atomic<int64_t> pending{0};  // chunks in flight + 1 while the walker reads
  std::atomic<bool> failed{false};
};

struct DirJob;
using Child = std::variant<std::unique_ptr<FileJob>, std::unique_ptr<DirJob>, Node>;

struct DirJob {
  Node node;  // metadata of the directory itself (unused for the root)
  std::vector<Child> children;
  std::optional<Id> previous;  // subtree ID in the parent snapshot
  Id subtree;
};

struct ChunkJob {
  FileJob* file;
  Id* slot;
  Bytes data;
};

class Pipeline {
 public:
  Pipeline(repo::Repository& repo, source::Source& source, const BackupOptions& options,
           Progress* progress)
      : repo_(repo),
        source_(source),
        options_(options),
        progress_(progress),
        chunks_(kChunkQueueBytes),
        dirs_(SIZE_MAX),
        // Local disks: each worker saves its own packs (no extra buffers).
        // Remote stores: parallel uploads hide the latency.
        uploader_(&repo, repo.backend()->IsLocal() ? 0 : std::max(2, repo.backend()->Concurrency())) {}

  Result<BackupResult> Run(const std::optional<repo::Snapshot>& parent);

 private:
  std::unique_ptr<DirJob> WalkDir(const std::string& path, const Node& node,
                                  const std::optional<repo::Tree>& previous);
  void AddFile(const std::string& path, source::Entry entry, const Node* previous, DirJob* dir);
  void ReadFile(const std::string& path, const source::Entry& entry, FileJob* job);
  void Worker();
  void Finisher();
  void Fail(const Status& s);
  bool failed() {
    std::lock_guard lock(mu_);
    return !fatal_.ok();
  }
  void ReadError(const std::string& path, const Status& s);
  std::optional<repo::Tree> LoadPrevious(const Node* prev);

  repo::Repository& repo_;
  source::Source& source_;
  const BackupOptions& options_;
  Progress* progress_;

  BoundedQueue<ChunkJob> chunks_;
  BoundedQueue<DirJob*> dirs_;
  repo::PackUploader uploader_;

  std::mutex mu_;
  std::condition_variable file_done_;
  Status fatal_;
  std::vector<Status> read_errors_;
  repo::SnapshotSummary summary_;
  std::atomic<uint64_t> stored_{0}, stored_plain_{0}, data_blobs_{0}, tree_blobs_{0};
  Bytes buffer_;
};

void Pipeline::Fail(const Status& s) {
  {
    std::lock_guard lock(mu_);
    if (fatal_.ok()) fatal_ = s;
  }
  file_done_.notify_all();
  chunks_.Close();
  dirs_.Close();
}

void Pipeline::ReadError(const std::string& path, const Status& s) {
  if (!source_.PartialOkFor(path)) {
    Fail(s);
    return;
  }
  // Returned in read_errors for the caller to report once; a warning here
  // would name each input twice.
  spdlog::debug("could not read {}", s.message());
  if (progress_) progress_->errors++;
  std::lock_guard lock(mu_);
  read_errors_.push_back(s);
}

std::optional<repo::Tree> Pipeline::LoadPrevious(const Node* prev) {
  if (!prev || prev->type != NodeType::kDir) return std::nullopt;
  auto t = repo_.LoadTree(prev->subtree);
  if (!t.ok()) {
    // The parent snapshot is only an accelerator: read everything instead.
    spdlog::debug("previous tree {} unavailable: {}", prev->subtree.Short(), t.status().message());
    return std::nullopt;
  }
  return std::move(*t);
}

void Pipeline::ReadFile(const std::string& path, const source::Entry& entry, FileJob* job) {
  auto reader = source_.Open(path, entry);
  if (!reader.ok()) {
    job->failed = true;
    ReadError(path, reader.status());
    return;
  }
  const Chunker& chunker = repo_.chunker();
  const size_t max = chunker.max_size();
  const size_t cap = 2 * max;
  if (buffer_.size() < cap) buffer_.resize(cap);
  size_t start = 0, end = 0;
  bool eof = false;
  uint64_t total = 0;
  if (progress_) progress_->SetCurrent(path);
  for (;;) {
    if (!eof && end - start < max) {
      if (start > 0) {
        std::memmove(buffer_.data(), buffer_.data() + start, end - start);
        end -= start;
        start = 0;
      }
      size_t want = cap - end;
      auto n = (*reader)->Read(std::span<uint8_t>(buffer_.data() + end, want));
      if (!n.ok()) {
        job->failed = true;
        ReadError(path, n.status());
        return;
      }
      end += *n;
      total += *n;
      if (*n < want) eof = true;  // Reader contract: short only at the end
    }
    if (end == start) break;
    size_t n = chunker.Cut(ByteView(buffer_.data() + start, end - start));
    ChunkJob c;
    c.file = job;
    c.slot = &job->content.emplace_back();
    c.data.assign(buffer_.begin() + start, buffer_.begin() + start + n);
    start += n;
    job->pending.fetch_add(1, std::memory_order_relaxed);
    if (!chunks_.Push(std::move(c), n)) {
      job->pending.fetch_sub(1);
      job->failed = true;
      return;  // pipeline failed
    }
  }
  Status fin = (*reader)->Finish();
  if (!fin.ok()) {
    job->failed = true;
    ReadError(path, fin);
    return;
  }
  job->node.size = total;
}

void Pipeline::AddFile(const std::string& path, source::Entry entry, const Node* prev, DirJob* dir) {
  auto job = std::make_unique<FileJob>();
  job->node = std::move(entry.node);
  Node& n = job->node;
  bool unchanged = !options_.force && entry.cacheable && prev && prev->type == NodeType::kFile &&
                   prev->size == n.size && prev->mtime_ns == n.mtime_ns &&
                   prev->ctime_ns == n.ctime_ns && prev->inode == n.inode;
  if (unchanged) {
    for (const Id& id : prev->content) {
      if (!repo_.index().Has(BlobType::kData, id)) {
        unchanged = false;  // pruned meanwhile: read the file again
        break;
      }
    }
  }
  if (unchanged) {
    job->content.assign(prev->content.begin(), prev->content.end());
    summary_.files_unmodified++;
    if (progress_) {
      progress_->files_done++;
      progress_->bytes_done += n.size;
    }
  } else {
    (prev ? summary_.files_changed : summary_.files_new)++;
    job->pending = 1;  // the walker's hold
    ReadFile(path, entry, job.get());
    if (progress_) progress_->files_done++;
    if (job->pending.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      std::lock_guard lock(mu_);
      file_done_.notify_all();
    }
  }
  summary_.total_files_processed++;
  summary_.total_bytes_processed += n.size;
  dir->children.emplace_back(std::move(job));
}

std::unique_ptr<DirJob> Pipeline::WalkDir(const std::string& path, const Node& node,
                                          const std::optional<repo::Tree>& previous) {
  auto dir = std::make_unique<DirJob>();
  dir->node = node;
  std::vector<Status> skipped;
  auto entries = source_.List(path, &skipped);
  for (const auto& s : skipped) ReadError(path, s);
  if (!entries.ok()) {
    ReadError(path, entries.status());
    entries = std::vector<source::Entry>{};
  }
  for (auto& e : *entries) {
    if (failed()) break;
    std::string child_path = source::Source::Join(path, e.node.name);
    const Node* prev = previous ? previous->Find(e.node.name) : nullptr;
    switch (e.node.type) {
      case NodeType::kDir: {
        auto sub = WalkDir(child_path, e.node, LoadPrevious(prev));
        if (prev && prev->type == NodeType::kDir) sub->previous = prev->subtree;
        dirs_.Push(sub.get());
        dir->children.emplace_back(std::move(sub));
        break;
      }
      case NodeType::kFile:
        AddFile(child_path, std::move(e), prev, dir.get());
        break;
      default:
        dir->children.emplace_back(std::move(e.node));
        break;
    }
  }
  return dir;
}

void Pipeline::Worker() {
  repo::PackWriter writer(&repo_, &uploader_);
  while (auto job = chunks_.Pop()) {
    if (failed()) {
      job->file->failed = true;
    } else {
      Id id = repo_.HashBlob(job->data);
      if (repo_.ReserveBlob(BlobType::kData, id)) {
        Status s = writer.Add(BlobType::kData, id, job->data);
        if (!s.ok()) Fail(s);
        data_blobs_++;
      }
      *job->slot = id;
      if (progress_) progress_->bytes_done += job->data.size();
    }
    if (job->file->pending.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      std::lock_guard lock(mu_);
      file_done_.notify_all();
    }
  }
  if (!failed()) {
    Status s = writer.Flush();
    if (!s.ok()) Fail(s);
  }
  stored_ += writer.stored_bytes();
  stored_plain_ += writer.plain_bytes();
}

void Pipeline::Finisher() {
  repo::PackWriter writer(&repo_, &uploader_, 4 << 20);
  while (auto popped = dirs_.Pop()) {
    DirJob* dir = *popped;
    repo::Tree tree;
    for (auto& child : dir->children) {
      if (auto* f = std::get_if<std::unique_ptr<FileJob>>(&child)) {
        FileJob* job = f->get();
        {
          std::unique_lock lock(mu_);
          file_done_.wait(lock, [&] {
            return job->pending.load(std::memory_order_acquire) == 0 || !fatal_.ok();
          });
          if (!fatal_.ok()) return;
        }
        if (job->failed) continue;
        job->node.content.assign(job->content.begin(), job->content.end());
        tree.nodes.push_back(std::move(job->node));
      } else if (auto* d = std::get_if<std::unique_ptr<DirJob>>(&child)) {
        (*d)->node.subtree = (*d)->subtree;
        tree.nodes.push_back(std::move((*d)->node));
      } else {
        tree.nodes.push_back(std::move(std::get<Node>(child)));
      }
    }
    dir->children.clear();  // free finished jobs as we go
    Bytes data = tree.Encode();
    dir->subtree = repo_.HashBlob(data);
    if (repo_.ReserveBlob(BlobType::kTree, dir->subtree)) {
      Status s = writer.Add(BlobType::kTree, dir->subtree, data);
      if (!s.ok()) {
        Fail(s);
        return;
      }
      tree_blobs_++;
    }
    if (!dir->previous) {
      summary_.dirs_new++;
    } else if (*dir->previous == dir->subtree) {
      summary_.dirs_unmodified++;
    } else {
      summary_.dirs_changed++;
    }
  }
  if (!failed()) {
    Status s = writer.Flush();
    if (!s.ok()) Fail(s);
  }
  stored_ += writer.stored_bytes();
  stored_plain_ += writer.plain_bytes();
}

Result<BackupResult> Pipeline::Run(const std::optional<repo::Snapshot>& parent) {
  UnixNanos start = NowNanos();
  int nworkers = options_.workers > 0 ? options_.workers
                                      : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  std::vector<std::thread> workers;
  for (int i = 0; i < nworkers; ++i) workers.emplace_back([this] { Worker(); });
  std::thread finisher([this] { Finisher(); });

  std::optional<repo::Tree> previous_root;
  if (parent) {
    auto t = repo_.LoadTree(parent->tree);
    if (t.ok()) previous_root = std::move(*t);
  }
  Node root_node;
  root_node.type = NodeType::kDir;
  auto root = WalkDir("", root_node, previous_root);
  if (parent) root->previous = parent->tree;
  size_t root_children = root->children.size();
  dirs_.Push(root.get());
  chunks_.Close();
  dirs_.Close();
  for (auto& w : workers) w.join();
  finisher.join();
  Status up = uploader_.Finish();
  {
    std::lock_guard lock(mu_);
    if (!fatal_.ok()) return fatal_;
  }
  WARD_RETURN_IF_ERROR(up);
  if (root_children == 0 && !read_errors_.empty()) {
    return FailedPreconditionError("nothing could be backed up: " + read_errors_.front().message());
  }

  repo::Snapshot snap;
  snap.time = options_.time ? *options_.time : start;
  snap.tree = root->subtree;
  snap.paths = source_.Paths();
  snap.hostname = options_.hostname.empty() ? repo::LocalHostname() : options_.hostname;
  snap.username = repo::LocalUsername();
  snap.uid = ::getuid();
  snap.gid = ::getgid();
  snap.tags = options_.tags;
  snap.source = options_.source_kind.empty() ? source_.Kind() : options_.source_kind;
  if (parent) snap.parent = parent->id;
  snap.program_version = "ward " WARD_VERSION;
  snap.excludes = options_.excludes;
  snap.service = options_.service;
  snap.sources = source_.Position();
  summary_.data_blobs = data_blobs_;
  summary_.tree_blobs = tree_blobs_;
  summary_.data_added = stored_;
  summary_.data_added_plain = stored_plain_;
  summary_.backup_start = start;
  summary_.backup_end = NowNanos();
  summary_.duration_seconds = double(summary_.backup_end - start) / 1e9;
  snap.summary = summary_;
  WARD_ASSIGN_OR_RETURN(snap.id, repo_.SaveSnapshot(snap));

  BackupResult result;
  result.snapshot = std::move(snap);
  if (parent) result.parent = parent->id;
  result.read_errors = std::move(read_errors_);
  return result;
}

void Scan(source::Source& src, const std::string& path, Progress* progress, std::atomic<bool>* stop) {
  std::vector<Status> skipped;
  auto entries = src.List(path, &skipped);
  if (!entries.ok()) return;
  for (const auto& e : *entries) {
    if (*stop) return;
    if (e.node.type == NodeType::kDir) {
      Scan(src, source::Source::Join(path, e.node.name), progress, stop);
    } else if (e.node.type == NodeType::kFile) {
      progress->files_total++;
      progress->bytes_total += e.node.size;
    }
  }
}

}  // namespace

Result<BackupResult> RunBackup(repo::Repository& repo, source::Source& source,
                               const BackupOptions& options, Progress* progress) {
  // The session is announced before the index is read: a prune that does not
  // see this session is guaranteed to have finished its index rewrite before
  // we read the index (docs/format/repository.md, "Concurrent prune").
  WARD_ASSIGN_OR_RETURN(std::unique_ptr<repo::ActiveSession> session, repo.BeginSession("backup"));
  WARD_RETURN_IF_ERROR(repo.LoadIndex());
  std::optional<repo::Snapshot> parent;
  WARD_ASSIGN_OR_RETURN(std::vector<repo::Snapshot> snapshots, repo.ListSnapshots());
  if (options.parent) {
    for (const auto& s : snapshots) {
      if (s.id == *options.parent) parent = s;
    }
    if (!parent) return NotFoundError("parent snapshot " + options.parent->Short() + " not found");
  } else if (!options.force) {
    std::string host = options.hostname.empty() ? repo::LocalHostname() : options.hostname;
    std::string kind = options.source_kind.empty() ? source.Kind() : options.source_kind;
    for (const auto& s : snapshots) {  // oldest first: keep the last match
      if (s.hostname == host && s.paths == source.Paths() && s.source == kind) parent = s;
    }
  }

  std::atomic<bool> stop_scan{false};
  std::thread scanner;
  if (options.scanner && progress) {
    scanner = std::thread([&] {
      Scan(*options.scanner, "", progress, &stop_scan);
      progress->totals_known = !stop_scan;
    });
  }
  Result<BackupResult> result = [&]() -> Result<BackupResult> {
    Pipeline p(repo, source, options, progress);
    return p.Run(parent);
  }();
  if (result.ok()) {
    // A prune that took this backup for dead (no heartbeat) may have deleted
    // blobs it uses; it revokes the writer before it reads the snapshots, so
    // checking after saving ours is enough (docs/format/repository.md §6).
    auto plans = repo.LoadPlans();
    if (plans.ok() && plans->IsRevoked(session->writer())) {
      repo.backend()->Remove(storage::Handle::Of(storage::FileType::kSnapshot, result->snapshot.id)).IgnoreError();
      result = AbortedError("a prune declared this backup dead (its session was not refreshed for too long) "
                            "and may have deleted data it needs; the snapshot was withdrawn: run the backup again");
    }
  }
  stop_scan = true;
  if (scanner.joinable()) scanner.join();
  return result;
}

}  // namespace ward::engine
