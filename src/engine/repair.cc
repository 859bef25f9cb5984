#include "engine/repair.h"

#include <map>
#include <set>
#include <unordered_map>

#include <fmt/format.h>

#include "base/sync.h"

namespace ward::engine {

namespace {

using repo::BlobType;
using repo::IndexFile;
using repo::Node;
using repo::NodeType;

}  // namespace

Result<RepairIndexResult> RunRepairIndex(repo::Repository& repo, const RepairIndexOptions& options) {
  std::unique_ptr<repo::ActiveSession> session;
  if (!options.dry_run) {
    WARD_ASSIGN_OR_RETURN(session, repo.BeginSession("repair"));
  }
  RepairIndexResult r;
  WARD_ASSIGN_OR_RETURN(auto files, repo.LoadAllIndexFiles());
  r.index_files_read = files.size();
  r.index_files_damaged = repo.damaged_index_files().size();
  std::vector<Id> supersede;
  std::set<Id> superseded;
  for (const auto& [id, f] : files) {
    supersede.push_back(id);
    superseded.insert(f.supersedes.begin(), f.supersedes.end());
  }
  for (const auto& d : repo.damaged_index_files()) supersede.push_back(d.id);

  // What the readable index files say (superseded files add nothing new).
  std::map<Id, std::vector<repo::PackedBlob>> indexed;
  if (!options.read_all_packs) {
    for (auto& [id, f] : files) {
      if (superseded.count(id)) continue;
      for (auto& p : f.packs) {
        auto& blobs = indexed[p.id];
        if (blobs.empty()) blobs = std::move(p.blobs);
      }
    }
  }
  WARD_ASSIGN_OR_RETURN(repo::PendingPlans plans, repo.LoadPlans());
  std::set<Id> condemned;
  for (const auto& plan : plans.condemn) {
    for (const auto& p : plan.packs) condemned.insert(p.id);
  }
  WARD_ASSIGN_OR_RETURN(auto stored, repo.ListPacks());

  std::vector<IndexFile::Pack> out;
  for (auto& [pack, blobs] : indexed) {
    if (!stored.count(pack)) {
      ++r.packs_dropped;
      continue;
    }
    out.push_back({pack, std::move(blobs)});
  }
  std::vector<std::pair<Id, uint64_t>> to_read;
  for (const auto& [pack, size] : stored) {
    if (!indexed.count(pack) && !condemned.count(pack)) to_read.emplace_back(pack, size);
  }
  std::vector<std::optional<std::vector<repo::PackedBlob>>> headers(to_read.size());
  std::vector<Status> errors(to_read.size());
  ParallelFor(to_read.size(), 4, [&](size_t i) {
    auto h = repo.ReadPackHeader(to_read[i].first, to_read[i].second);
    if (h.ok()) {
      headers[i] = std::move(*h);
    } else {
      errors[i] = h.status();
    }
  });
  for (size_t i = 0; i < to_read.size(); ++i) {
    if (headers[i]) {
      out.push_back({to_read[i].first, std::move(*headers[i])});
      if (!options.read_all_packs) ++r.packs_added;
    } else if (errors[i].code() == StatusCode::kDataLoss) {
      r.unreadable.push_back(errors[i].message());
    } else {
      return errors[i].WithContext("reading the header of pack " + to_read[i].first.Short());
    }
  }
  r.packs = out.size();
  if (options.read_all_packs) {
    // Every header was read: the index changes if any pack's listing does.
    std::map<Id, size_t> before;
    for (const auto& [id, f] : files) {
      if (superseded.count(id)) continue;
      for (const auto& p : f.packs) before[p.id] = p.blobs.size();
    }
    for (const auto& p : out) {
      auto it = before.find(p.id);
      if (it == before.end() || it->second != p.blobs.size()) ++r.packs_added;
    }
    for (const auto& [pack, n] : before) r.packs_dropped += stored.count(pack) ? 0 : 1;
  }
  if (options.dry_run || !r.changed()) {
    if (session) session->Close();
    return r;
  }
  WARD_ASSIGN_OR_RETURN(r.index_files_written, repo.WriteIndex(out, supersede));
  for (const Id& id : supersede) {
    Status s = repo.RemoveIndexFile(id);
    if (s.ok()) {
      ++r.index_files_deleted;
    } else if (s.code() == StatusCode::kFailedPrecondition) {
      r.retained.push_back(s.message());  // superseded, hence ignored by readers
    } else {
      return s.WithContext("deleting the old index file " + id.Short());
    }
  }
  session->Close();
  return r;
}

namespace {

class SnapshotRepairer {
 public:
  SnapshotRepairer(repo::Repository& repo, std::map<Id, uint64_t> stored, bool dry_run)
      : repo_(repo),
        stored_(std::move(stored)),
        dry_run_(dry_run),
        uploader_(&repo, 0),
        writer_(&repo, &uploader_, 4 << 20) {}

  struct Rewritten {
    Id id;
    std::vector<std::string> lost;  // relative to the tree's own path
  };

  // The tree without what is lost (the same ID when nothing is).
  Result<Rewritten> Rewrite(const Id& tree_id) {
    if (auto it = memo_.find(tree_id); it != memo_.end()) return it->second;
    Rewritten out;
    auto tree = Readable(BlobType::kTree, tree_id) ? repo_.LoadTree(tree_id) : Result<repo::Tree>(NotFoundError(""));
    if (!tree.ok()) {
      if (tree.status().code() != StatusCode::kNotFound && tree.status().code() != StatusCode::kDataLoss) {
        return tree.status();  // the storage, not the data
      }
      out.lost.push_back("/ (folder unreadable: emptied)");
      WARD_ASSIGN_OR_RETURN(out.id, Store(repo::Tree{}));
      memo_[tree_id] = out;
      return out;
    }
    repo::Tree fixed;
    bool changed = false;
    for (Node& n : tree->nodes) {
      if (n.type == NodeType::kDir) {
        WARD_ASSIGN_OR_RETURN(Rewritten sub, Rewrite(n.subtree));
        for (const auto& l : sub.lost) out.lost.push_back("/" + n.name + l);
        if (sub.id != n.subtree) {
          n.subtree = sub.id;
          changed = true;
        }
      } else if (n.type == NodeType::kFile) {
        size_t missing = 0;
        for (const Id& id : n.content) missing += Readable(BlobType::kData, id) ? 0 : 1;
        if (missing > 0) {
          out.lost.push_back(fmt::format("/{} (file: {} of {} blobs lost; left out)", n.name, missing,
                                         n.content.size()));
          changed = true;
          continue;
        }
      }
      fixed.nodes.push_back(std::move(n));
    }
    if (changed) {
      WARD_ASSIGN_OR_RETURN(out.id, Store(fixed));
    } else {
      out.id = tree_id;
    }
    memo_[tree_id] = out;
    return out;
  }

  Status Finish() {
    if (dry_run_) return Status::OK();
    WARD_RETURN_IF_ERROR(writer_.Flush());
    return uploader_.Finish();
  }

 private:
  bool Readable(BlobType type, const Id& id) {
    auto loc = repo_.LookupBlob(type, id);
    return loc && stored_.count(loc->pack) > 0;
  }

  Result<Id> Store(const repo::Tree& tree) {
    Bytes data = tree.Encode();
    Id id = repo_.HashBlob(data);
    if (!dry_run_ && repo_.ReserveBlob(BlobType::kTree, id)) {
      WARD_RETURN_IF_ERROR(writer_.Add(BlobType::kTree, id, data));
    }
    return id;
  }

  repo::Repository& repo_;
  std::map<Id, uint64_t> stored_;
  bool dry_run_;
  repo::PackUploader uploader_;
  repo::PackWriter writer_;
  std::unordered_map<Id, Rewritten, IdHash> memo_;
};

}  // namespace

Result<RepairSnapshotsResult> RunRepairSnapshots(repo::Repository& repo,
                                                 const std::vector<repo::Snapshot>& snapshots,
                                                 const RepairSnapshotsOptions& options) {
  std::unique_ptr<repo::ActiveSession> session;
  if (!options.dry_run) {
    WARD_ASSIGN_OR_RETURN(session, repo.BeginSession("repair"));
  }
  WARD_RETURN_IF_ERROR(repo.LoadIndex());
  WARD_ASSIGN_OR_RETURN(auto stored, repo.ListPacks());
  SnapshotRepairer fixer(repo, std::move(stored), options.dry_run);
  RepairSnapshotsResult r;
  std::vector<std::pair<RepairedSnapshot, repo::Snapshot>> todo;
  for (const auto& s : snapshots) {
    ++r.snapshots_checked;
    WARD_ASSIGN_OR_RETURN(auto fixed, fixer.Rewrite(s.tree));
    if (fixed.id == s.tree) continue;
    RepairedSnapshot rs;
    rs.original = s.id;
    rs.lost = fixed.lost;
    repo::Snapshot copy = s;
    copy.tree = fixed.id;
    if (!copy.HasTag("repaired")) copy.tags.push_back("repaired");
    copy.extra["original"] = s.id.Hex();
    todo.emplace_back(std::move(rs), std::move(copy));
  }
  // The trees first (and their index), then the snapshots: the usual order.
  WARD_RETURN_IF_ERROR(fixer.Finish());
  for (auto& [rs, copy] : todo) {
    if (!options.dry_run) {
      WARD_ASSIGN_OR_RETURN(rs.repaired, repo.SaveSnapshot(copy));
    }
    r.repaired.push_back(rs);
  }
  if (!options.dry_run) {
    auto plans = repo.LoadPlans();
    if (plans.ok() && plans->IsRevoked(session->writer())) {
      for (const auto& rs : r.repaired) repo.RemoveSnapshot(rs.repaired).IgnoreError();
      return AbortedError("a prune declared this repair dead (its session was not refreshed for too long); its "
                          "snapshots were withdrawn: run it again");
    }
    if (options.forget) {
      for (const auto& rs : r.repaired) {
        WARD_RETURN_IF_ERROR(repo.RemoveSnapshot(rs.original).WithContext("forgetting the original"));
        ++r.forgotten;
      }
    }
    session->Close();
  }
  return r;
}

}  // namespace ward::engine
