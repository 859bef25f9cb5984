#include "engine/prune.h"

#include <algorithm>
#include <map>
#include <set>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "io/process.h"

namespace ward::engine {

namespace {

using repo::BlobType;
using repo::IndexFile;
using repo::PackedBlob;
using storage::FileType;
using storage::Handle;

struct BlobKey {
  Id id;
  BlobType type;
  bool operator<(const BlobKey& o) const { return type != o.type ? type < o.type : id < o.id; }
};

bool IsUsed(const UsedBlobs& u, BlobType t, const Id& id) {
  return t == BlobType::kData ? u.data.count(id) > 0 : u.tree.count(id) > 0;
}

std::string Describe(const repo::SessionInfo& s) {
  return fmt::format("{} on {} (pid {}, since {})", s.kind.empty() ? "writer" : s.kind, s.hostname, s.pid,
                     s.started);
}

class Pruner {
 public:
  Pruner(repo::Repository& repo, const PruneOptions& o, Progress* p) : repo_(repo), opts_(o), progress_(p) {}
  Result<PruneResult> Run();

 private:
  Status RefuseDamage();
  Status PhaseOne();
  Status FinishPlan(const repo::CondemnPlan& plan, const repo::WaitList* waitlist);
  Status ExtendRetention();
  bool IsLive(const std::string& writer) const { return live_writers_.count(writer) > 0; }
  // Sets others_, live_writers_ and live_temporaries_ from a fresh listing
  // of sessions (and the temporary files listed at the start).
  void ObserveSessions(const std::vector<repo::SessionInfo>& sessions);
  // Removes the session objects and temporary files of dead writers.
  Status ClearDeadWriters();

  repo::Repository& repo_;
  const PruneOptions& opts_;
  Progress* progress_;
  PruneResult r_;
  std::unique_ptr<repo::ActiveSession> session_;
  std::vector<repo::SessionInfo> others_;  // every other session in the repository
  std::map<std::string, repo::SessionInfo> live_writers_;  // live, by writer ID
  std::vector<storage::FileInfo> temporaries_;             // listed once, at the start
  std::set<std::string> live_temporaries_;                 // their names, while their writer may live
};

// A temporary file as the session rule sees it: its owner from its name, its
// size as the generation (a file still being written grows).
repo::SessionInfo TemporaryAsSession(const storage::FileInfo& t) {
  repo::SessionInfo s;
  s.writer = "tmp:" + t.name;
  s.generation = t.size;
  if (auto owner = io::ParseTempOwner(t.name)) {
    s.boot_id = owner->boot_id;
    s.pid = owner->pid;
    s.pid_start = owner->pid_start;
  }
  return s;
}

// Prune decides what is garbage from every snapshot and every index file:
// with one of them unreadable it cannot tell, so it deletes nothing.
Status Pruner::RefuseDamage() {
  if (!repo_.damaged_index_files().empty()) {
    return FailedPreconditionError(fmt::format(
        "index file {} is damaged: run 'ward repair index' first (prune deletes nothing while an index file is "
        "unreadable)",
        repo_.damaged_index_files().front().id.Short()));
  }
  std::vector<repo::DamagedObject> damaged;
  WARD_RETURN_IF_ERROR(repo_.ListSnapshots(&damaged).status());
  if (!damaged.empty()) {
    return FailedPreconditionError(fmt::format(
        "snapshot {} is damaged: 'ward forget {}' removes it, or 'ward repair snapshots' (prune deletes nothing "
        "while a snapshot is unreadable, since it cannot tell what that snapshot needs)",
        damaged.front().id.Short(), damaged.front().id.Short()));
  }
  return Status::OK();
}

Status Pruner::PhaseOne() {
  WARD_ASSIGN_OR_RETURN(std::vector<repo::Snapshot> snapshots, repo_.ListSnapshots());
  r_.snapshots = snapshots.size();
  WARD_ASSIGN_OR_RETURN(UsedBlobs used, CollectUsedBlobs(repo_, snapshots));
  WARD_ASSIGN_OR_RETURN(auto index_files, repo_.LoadIndexFiles());

  // Every indexed pack with its full blob list (a blob may sit in several).
  std::map<Id, std::vector<PackedBlob>> packs;
  std::vector<Id> read_files;
  for (auto& [fid, f] : index_files) {
    read_files.push_back(fid);
    for (auto& p : f.packs) {
      auto& blobs = packs[p.id];
      if (blobs.empty()) blobs = std::move(p.blobs);  // the same pack listed twice: same content
    }
  }
  // Packs already condemned by a pending plan are phase two's business.
  std::set<Id> pending;
  for (const auto& plan : repo_.pending_plans().condemn) {
    for (const auto& p : plan.packs) pending.insert(p.id);
  }
  // The canonical copy of each used blob: its first pack in ID order.
  std::map<BlobKey, Id> canonical;
  for (const auto& [pack, blobs] : packs) {
    if (pending.count(pack)) continue;
    for (const auto& b : blobs) {
      if (IsUsed(used, b.loc.type, b.id)) canonical.try_emplace({b.id, b.loc.type}, pack);
    }
  }
  WARD_ASSIGN_OR_RETURN(auto stored, repo_.ListPacks());

  std::vector<IndexFile::Pack> keep, condemn, repack;
  for (auto& [pack, blobs] : packs) {
    if (pending.count(pack)) continue;
    if (!stored.count(pack)) {
      // Indexed but gone (deleted by hand, or a bug): check reports it; an
      // index entry pointing nowhere must not survive into the new index.
      spdlog::warn("pack {} is in the index but not in the repository; 'ward check' shows what it affects",
                   pack.Short());
      continue;
    }
    ++r_.packs;
    uint64_t used_bytes = 0, unused_bytes = 0, used_count = 0;
    for (const auto& b : blobs) {
      auto it = canonical.find({b.id, b.loc.type});
      if (it != canonical.end() && it->second == pack) {
        used_bytes += b.loc.length;
        ++used_count;
        ++r_.blobs_used;
      } else {
        unused_bytes += b.loc.length;
        ++r_.blobs_unused;
      }
    }
    r_.bytes_used += used_bytes;
    r_.bytes_unused += unused_bytes;
    IndexFile::Pack entry{pack, blobs};
    if (used_count == 0) {
      condemn.push_back(std::move(entry));
    } else if (double(unused_bytes) > opts_.max_unused * double(used_bytes + unused_bytes)) {
      repack.push_back(std::move(entry));
    } else {
      keep.push_back(std::move(entry));
    }
  }
  // Packs no index lists: interrupted backups, or backups writing right now
  // (their index comes later). Condemned like the rest; the wait list and
  // phase two's re-check keep what an in-flight backup goes on to use.
  for (const auto& [pack, size] : stored) {
    if (packs.count(pack) || pending.count(pack)) continue;
    auto tail = repo_.backend()->Load(Handle::Of(FileType::kPack, pack), size > (1 << 20) ? size - (1 << 20) : 0, 0);
    std::vector<PackedBlob> blobs;
    if (tail.ok()) {
      auto parsed = repo::ParsePackHeader(repo_.enc_key(), pack, size, *tail);
      if (parsed.ok()) blobs = std::move(*parsed);  // a damaged leftover is simply deleted
    }
    condemn.push_back({pack, std::move(blobs)});
    ++r_.packs_unindexed;
  }
  for (const auto& p : condemn) r_.bytes_to_free += stored[p.id];
  for (const auto& p : repack) r_.bytes_to_free += stored[p.id];
  r_.packs_condemned = condemn.size() + repack.size();
  r_.packs_repacked = repack.size();
  if (opts_.dry_run || (condemn.empty() && repack.empty())) return Status::OK();

  // Repack: copy the canonical used blobs, still sealed, after checking them.
  {
    repo::PackUploader uploader(&repo_, repo_.backend()->IsLocal() ? 0 : repo_.backend()->Concurrency());
    repo::PackBuilder builder(repo_.enc_key());
    for (const auto& p : repack) {
      WARD_ASSIGN_OR_RETURN(Bytes data, repo_.backend()->Load(Handle::Of(FileType::kPack, p.id), 0, 0));
      for (const auto& b : p.blobs) {
        auto it = canonical.find({b.id, b.loc.type});
        if (it == canonical.end() || it->second != p.id) continue;
        if (b.loc.offset + b.loc.length > data.size()) {
          return DataLossError("pack " + p.id.Short() + " is truncated; run 'ward check --read-data'");
        }
        ByteView sealed = ByteView(data).subspan(b.loc.offset, b.loc.length);
        Bytes plain;
        WARD_RETURN_IF_ERROR(repo::OpenBlob(repo_.enc_key(), repo_.mac(), b.id, b.loc, sealed, &plain)
                                 .WithContext("repacking (run 'ward check --read-data')"));
        builder.AddSealed(b.id, b.loc, sealed);
        r_.bytes_repacked += b.loc.length;
        if (builder.size() >= repo::kPackTargetSize) WARD_RETURN_IF_ERROR(uploader.Submit(builder.Finish()));
      }
      if (progress_) progress_->files_done++;
    }
    if (!builder.empty()) WARD_RETURN_IF_ERROR(uploader.Submit(builder.Finish()));
    WARD_RETURN_IF_ERROR(uploader.Finish());
  }
  // The consolidated index: every kept pack; supersedes all files read.
  WARD_ASSIGN_OR_RETURN(r_.index_files_written, repo_.WriteIndex(keep, read_files));
  r_.index_files_superseded = read_files.size();

  repo::CondemnPlan plan;
  plan.created = NowNanos();
  plan.packs = std::move(condemn);
  plan.packs.insert(plan.packs.end(), repack.begin(), repack.end());
  plan.superseded_indexes = read_files;
  WARD_ASSIGN_OR_RETURN(plan.id, repo_.SaveObject(FileType::kPlan, AsBytes(repo::EncodeCondemnPlan(plan))));
  // Only now list the writers: one that registers later has read the index
  // after the plan existed, and never depends on a condemned pack.
  WARD_ASSIGN_OR_RETURN(std::vector<repo::SessionInfo> sessions, repo_.ListSessions());
  repo::WaitList wl;
  wl.plan = plan.id;
  for (const auto& s : sessions) {
    if (s.writer != session_->writer() && s.kind != "prune") wl.writers.push_back(s.writer);
  }
  ObserveSessions(sessions);
  std::sort(wl.writers.begin(), wl.writers.end());
  wl.writers.erase(std::unique(wl.writers.begin(), wl.writers.end()), wl.writers.end());
  WARD_ASSIGN_OR_RETURN(wl.id, repo_.SaveObject(FileType::kPlan, AsBytes(repo::EncodeWaitList(wl))));
  return Status::OK();
}

Status Pruner::FinishPlan(const repo::CondemnPlan& plan, const repo::WaitList* waitlist) {
  // Writers judged dead by heartbeat: revoke them before reading snapshots,
  // so that one that is alive after all withdraws its snapshot (backup.cc).
  std::vector<std::string> revoke;
  if (waitlist) {
    for (const auto& w : waitlist->writers) {
      bool has_session = std::any_of(others_.begin(), others_.end(), [&](const auto& s) { return s.writer == w; });
      if (has_session && !IsLive(w)) revoke.push_back(w);
    }
  }
  if (!revoke.empty()) {
    repo::Revocation rv;
    rv.writers = revoke;
    WARD_RETURN_IF_ERROR(repo_.SaveObject(FileType::kPlan, AsBytes(repo::EncodeRevocation(rv))).status());
  }
  WARD_RETURN_IF_ERROR(repo_.LoadIndex());
  WARD_RETURN_IF_ERROR(RefuseDamage());
  WARD_ASSIGN_OR_RETURN(std::vector<repo::Snapshot> snapshots, repo_.ListSnapshots());
  WARD_ASSIGN_OR_RETURN(UsedBlobs used, CollectUsedBlobs(repo_, snapshots));

  std::vector<IndexFile::Pack> resurrect;
  std::vector<Id> doomed;
  for (const auto& p : plan.packs) {
    if (repo_.index().HasPack(p.id)) {  // indexed again by a writer that finished
      ++r_.packs_kept;
      continue;
    }
    bool needed = false;
    for (const auto& b : p.blobs) {
      if (IsUsed(used, b.loc.type, b.id) && !repo_.index().Has(b.loc.type, b.id)) needed = true;
    }
    if (needed) {
      resurrect.push_back(p);
      ++r_.packs_kept;
    } else {
      doomed.push_back(p.id);
    }
  }
  if (!resurrect.empty()) WARD_RETURN_IF_ERROR(repo_.WriteIndex(resurrect, {}).status());

  repo::CondemnPlan remaining;
  remaining.created = plan.created;
  for (const Id& pack : doomed) {
    Handle h = Handle::Of(FileType::kPack, pack);
    auto info = repo_.backend()->Stat(h);
    Status s = repo_.backend()->Remove(h);
    if (s.ok()) {
      ++r_.packs_deleted;
      if (info.ok()) r_.bytes_freed += info->size;
    } else if (s.code() == StatusCode::kFailedPrecondition) {
      r_.retained.push_back(s.message());
      for (const auto& p : plan.packs) {
        if (p.id == pack) remaining.packs.push_back(p);
      }
    } else if (s.code() != StatusCode::kNotFound) {
      return s.WithContext("deleting pack " + pack.Short());
    }
  }
  for (const Id& idx : plan.superseded_indexes) {
    Status s = repo_.backend()->Remove(Handle::Of(FileType::kIndex, idx));
    if (s.ok()) {
      ++r_.index_files_deleted;
    } else if (s.code() == StatusCode::kFailedPrecondition) {
      r_.retained.push_back(s.message());
      remaining.superseded_indexes.push_back(idx);
    } else if (s.code() != StatusCode::kNotFound) {
      return s.WithContext("deleting index " + idx.Short());
    }
  }
  if (!remaining.packs.empty() || !remaining.superseded_indexes.empty()) {
    // Under Object Lock: try again in a later prune, nobody to wait for.
    WARD_ASSIGN_OR_RETURN(remaining.id, repo_.SaveObject(FileType::kPlan, AsBytes(repo::EncodeCondemnPlan(remaining))));
    repo::WaitList empty;
    empty.plan = remaining.id;
    WARD_RETURN_IF_ERROR(repo_.SaveObject(FileType::kPlan, AsBytes(repo::EncodeWaitList(empty))).status());
  }
  if (waitlist) repo_.backend()->Remove(Handle::Of(FileType::kPlan, waitlist->id)).IgnoreError();
  repo_.backend()->Remove(Handle::Of(FileType::kPlan, plan.id)).IgnoreError();
  ++r_.plans_finished;
  return Status::OK();
}

Status Pruner::ExtendRetention() {
  const auto& st = repo_.config().storage;
  if (st.lock_mode.empty() || st.lock_days <= 0) return Status::OK();
  // Everything still needed must outlive its retention: extend to a full
  // period from now (never shortens; objects already retained longer are
  // left alone by the backend).
  UnixNanos until = NowNanos() + int64_t(st.lock_days) * 86400 * 1000000000;
  for (FileType t : {FileType::kConfig, FileType::kKey, FileType::kIndex, FileType::kSnapshot, FileType::kPack,
                     FileType::kHold}) {
    std::vector<std::string> names;
    WARD_RETURN_IF_ERROR(repo_.backend()->List(t, [&](const storage::FileInfo& fi) {
      names.push_back(fi.name);
      return Status::OK();
    }));
    for (const auto& n : names) {
      Handle h{t, t == FileType::kConfig ? "" : n};
      if (t == FileType::kPack) {
        auto id = Id::FromHex(n);
        if (id.ok() && repo_.index().IsCondemned(*id)) continue;
      }
      Status s = repo_.backend()->ExtendRetention(h, until);
      if (s.ok()) {
        ++r_.objects_retention_extended;
      } else if (s.code() != StatusCode::kNotFound) {
        return s.WithContext("extending Object Lock retention");
      }
    }
  }
  return Status::OK();
}

void Pruner::ObserveSessions(const std::vector<repo::SessionInfo>& sessions) {
  others_.clear();
  live_writers_.clear();
  for (const auto& s : sessions) {
    if (!session_ || s.writer != session_->writer()) others_.push_back(s);
  }
  std::vector<repo::SessionInfo> observed = others_;
  live_temporaries_.clear();
  for (const auto& t : temporaries_) {
    // A file whose writer runs here is being written, however long it takes.
    auto owner = io::ParseTempOwner(t.name);
    if (owner && io::IsAliveOnThisMachine(*owner)) {
      live_temporaries_.insert(t.name);
    } else {
      observed.push_back(TemporaryAsSession(t));
    }
  }
  repo::SessionObserver observer(opts_.state_file, opts_.stale_after_ns);
  for (const auto& s : observer.Live(observed, NowNanos())) {
    if (s.writer.rfind("tmp:", 0) == 0) {
      live_temporaries_.insert(s.writer.substr(4));
    } else {
      live_writers_.try_emplace(s.writer, s);
    }
  }
}

Status Pruner::ClearDeadWriters() {
  std::vector<std::string> dead;
  for (const auto& s : others_) {
    if (!IsLive(s.writer)) dead.push_back(s.writer);
  }
  if (!dead.empty()) {
    std::sort(dead.begin(), dead.end());
    dead.erase(std::unique(dead.begin(), dead.end()), dead.end());
    repo::Revocation rv;
    rv.writers = dead;
    WARD_RETURN_IF_ERROR(repo_.SaveObject(FileType::kPlan, AsBytes(repo::EncodeRevocation(rv))).status());
    for (const auto& s : others_) {
      if (IsLive(s.writer)) continue;
      Status rm = repo_.backend()->Remove(storage::Handle::Of(FileType::kSession, s.object));
      if (rm.ok()) {
        ++r_.sessions_removed;
      } else if (rm.code() != StatusCode::kNotFound) {
        return rm.WithContext("removing the session of a dead " + Describe(s));
      }
    }
  }
  for (const auto& t : temporaries_) {
    if (live_temporaries_.count(t.name)) continue;
    WARD_RETURN_IF_ERROR(repo_.backend()->RemoveTemporary(t.name));
    ++r_.temporaries_removed;
    r_.temporary_bytes_removed += t.size;
  }
  return Status::OK();
}

Result<PruneResult> Pruner::Run() {
  if (!opts_.dry_run) {
    WARD_ASSIGN_OR_RETURN(session_, repo_.BeginSession("prune"));
  }
  WARD_RETURN_IF_ERROR(repo_.backend()->ListTemporaries([&](const storage::FileInfo& t) {
    temporaries_.push_back(t);
    return Status::OK();
  }));
  WARD_ASSIGN_OR_RETURN(std::vector<repo::SessionInfo> sessions, repo_.ListSessions());
  ObserveSessions(sessions);
  for (const auto& [w, s] : live_writers_) {
    if (s.kind == "prune") {
      return AbortedError("repository is locked: another prune is running (" + Describe(s) +
                          "); wait for it to finish");
    }
  }

  WARD_RETURN_IF_ERROR(repo_.LoadIndex());
  WARD_RETURN_IF_ERROR(RefuseDamage());
  WARD_RETURN_IF_ERROR(PhaseOne());
  if (opts_.dry_run) return r_;

  WARD_ASSIGN_OR_RETURN(repo::PendingPlans plans, repo_.LoadPlans());
  WARD_ASSIGN_OR_RETURN(sessions, repo_.ListSessions());
  ObserveSessions(sessions);
  for (const auto& plan : plans.condemn) {
    const repo::WaitList* wl = plans.WaitListFor(plan.id);
    if (!wl) {
      // A prune was killed between its plan and its wait list: list writers now.
      repo::WaitList fresh;
      fresh.plan = plan.id;
      for (const auto& [w, s] : live_writers_) {
        if (s.kind != "prune") fresh.writers.push_back(w);
      }
      WARD_ASSIGN_OR_RETURN(fresh.id, repo_.SaveObject(FileType::kPlan, AsBytes(repo::EncodeWaitList(fresh))));
      plans.waitlists.push_back(fresh);
      wl = &plans.waitlists.back();
    }
    std::vector<std::string> waiting;
    for (const auto& w : wl->writers) {
      auto it = live_writers_.find(w);
      if (it != live_writers_.end()) waiting.push_back(Describe(it->second));
    }
    if (!waiting.empty()) {
      ++r_.plans_waiting;
      r_.waiting_for.insert(r_.waiting_for.end(), waiting.begin(), waiting.end());
      continue;
    }
    WARD_RETURN_IF_ERROR(FinishPlan(plan, wl));
  }
  std::sort(r_.waiting_for.begin(), r_.waiting_for.end());
  r_.waiting_for.erase(std::unique(r_.waiting_for.begin(), r_.waiting_for.end()), r_.waiting_for.end());
  WARD_RETURN_IF_ERROR(ExtendRetention());
  WARD_RETURN_IF_ERROR(ClearDeadWriters());
  if (session_) session_->Close();
  return r_;
}

}  // namespace

Result<UsedBlobs> CollectUsedBlobs(repo::Repository& repo, const std::vector<repo::Snapshot>& snapshots) {
  UsedBlobs used;
  std::vector<Id> stack;
  for (const auto& s : snapshots) stack.push_back(s.tree);
  while (!stack.empty()) {
    Id t = stack.back();
    stack.pop_back();
    if (!used.tree.insert(t).second) continue;
    auto tree = repo.LoadTree(t);
    if (!tree.ok()) {
      return Status(tree.status().code(), "cannot read every snapshot (" + tree.status().message() +
                                              "); prune stops so that nothing needed is deleted: run 'ward check'");
    }
    for (const auto& n : tree->nodes) {
      if (n.type == repo::NodeType::kDir) {
        stack.push_back(n.subtree);
      } else {
        used.data.insert(n.content.begin(), n.content.end());
      }
    }
  }
  return used;
}

Result<PruneResult> RunPrune(repo::Repository& repo, const PruneOptions& options, Progress* progress) {
  Pruner p(repo, options, progress);
  return p.Run();
}

}  // namespace ward::engine
