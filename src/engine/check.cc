#include "engine/check.h"

#include <algorithm>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>

#include "base/sync.h"

namespace ward::engine {

namespace {

using repo::BlobType;
using repo::Node;
using repo::NodeType;
using storage::FileType;
using storage::Handle;

class Checker {
 public:
  Checker(repo::Repository& repo, const CheckOptions& o, Progress* p) : repo_(repo), opts_(o), progress_(p) {}
  Result<CheckResult> Run();

 private:
  void Error(std::string e) {
    std::lock_guard lock(mu_);
    result_.errors.push_back(std::move(e));
  }
  void MarkDamaged(const Id& pack) {
    std::lock_guard lock(mu_);
    if (damaged_.insert(pack).second) result_.damaged_packs.push_back(pack);
  }
  void ReadPack(const Id& pack, uint64_t size);
  // Returns a path below `path` that cannot be restored, or "" if all is
  // well. Sets *unindexed if anything below is readable only through the
  // header of a pack that no index file lists.
  std::string WalkTree(const Id& tree, const std::string& path, bool* unindexed);
  // Notes a blob's location; true if the blob cannot be read.
  bool Use(BlobType type, const Id& id, bool* unindexed);

  repo::Repository& repo_;
  const CheckOptions& opts_;
  Progress* progress_;
  std::mutex mu_;
  CheckResult result_;
  std::set<Id> damaged_;
  std::map<Id, std::vector<repo::PackedBlob>> packs_;  // from the index
  struct Walked {
    std::string bad;
    bool unindexed = false;
  };
  std::unordered_map<Id, Walked, IdHash> tree_memo_;
  std::set<Id> needed_unindexed_;  // recovered packs that snapshots need
  std::unordered_set<Id, IdHash> reported_missing_;
};

bool Checker::Use(BlobType type, const Id& id, bool* unindexed) {
  auto loc = repo_.LookupBlob(type, id);
  if (loc && repo_.index().IsRecovered(loc->pack)) {
    *unindexed = true;
    needed_unindexed_.insert(loc->pack);
  }
  return !loc || damaged_.count(loc->pack) > 0;
}

std::string Checker::WalkTree(const Id& tree_id, const std::string& path, bool* unindexed) {
  auto memo = tree_memo_.find(tree_id);
  if (memo != tree_memo_.end()) {
    *unindexed |= memo->second.unindexed;
    return memo->second.bad.empty() ? "" : path + memo->second.bad;
  }
  std::string bad;
  bool below = false;
  auto relative = [&](const std::string& full) { return full.substr(path.size()); };
  if (Use(BlobType::kTree, tree_id, &below)) {
    if (!repo_.LookupBlob(BlobType::kTree, tree_id) && reported_missing_.insert(tree_id).second) {
      Error(fmt::format("tree blob {} ({}) is missing from the repository", tree_id.Short(),
                        path.empty() ? "/" : path));
    }
    bad = "/";
  } else {
    auto tree = repo_.LoadTree(tree_id);
    result_.trees++;
    if (!tree.ok()) {
      Error(fmt::format("tree {} ({}): {}", tree_id.Short(), path.empty() ? "/" : path, tree.status().message()));
      bad = "/";
    } else {
      for (const Node& n : tree->nodes) {
        std::string child = path + "/" + n.name;
        if (n.type == NodeType::kDir) {
          std::string b = WalkTree(n.subtree, child, &below);
          if (!b.empty() && bad.empty()) bad = relative(b);
        } else if (n.type == NodeType::kFile) {
          for (const Id& id : n.content) {
            if (!Use(BlobType::kData, id, &below)) continue;
            if (!repo_.LookupBlob(BlobType::kData, id) && reported_missing_.insert(id).second) {
              Error(fmt::format("data blob {} of {} is missing from the repository", id.Short(), child));
            }
            if (bad.empty()) bad = relative(child);
            break;
          }
        }
      }
    }
  }
  tree_memo_[tree_id] = {bad, below};
  *unindexed |= below;
  return bad.empty() ? "" : path + bad;
}

void Checker::ReadPack(const Id& pack, uint64_t size) {
  auto data = repo_.backend()->Load(Handle::Of(FileType::kPack, pack), 0, 0);
  if (!data.ok()) {
    Error(fmt::format("pack {}: {}", pack.Hex(), data.status().message()));
    MarkDamaged(pack);
    return;
  }
  {
    std::lock_guard lock(mu_);
    result_.packs_read++;
    result_.bytes_read += data->size();
  }
  if (progress_) {
    progress_->bytes_done += size;
    progress_->files_done++;
  }
  if (crypto::Sha256(*data) != pack) {
    Error(fmt::format("pack {} is damaged: its content does not match its name (size {})", pack.Hex(),
                      data->size()));
    MarkDamaged(pack);
    // Still look at the blobs: say how much of it is unreadable.
  }
  auto header = repo::ParsePackHeader(repo_.enc_key(), pack, data->size(), *data);
  if (!header.ok()) {
    Error(header.status().message());
    MarkDamaged(pack);
    return;
  }
  std::map<Id, repo::BlobLocation> in_header;
  for (const auto& b : *header) in_header[b.id] = b.loc;
  const auto& indexed = packs_[pack];
  for (const auto& b : indexed) {
    auto it = in_header.find(b.id);
    if (it == in_header.end() || it->second.offset != b.loc.offset || it->second.length != b.loc.length) {
      Error(fmt::format("pack {}: index entry for blob {} does not match the pack header", pack.Short(),
                        b.id.Short()));
      MarkDamaged(pack);
    }
  }
  size_t bad = 0;
  Bytes plain;
  for (const auto& b : *header) {
    ByteView sealed = ByteView(*data).subspan(b.loc.offset, b.loc.length);
    Status s = repo::OpenBlob(repo_.enc_key(), repo_.mac(), b.id, b.loc, sealed, &plain);
    if (!s.ok()) ++bad;
    std::lock_guard lock(mu_);
    result_.blobs_read++;
  }
  if (bad > 0) {
    Error(fmt::format("pack {} is damaged: {} of {} blobs fail verification", pack.Hex(), bad, header->size()));
    MarkDamaged(pack);
  }
}

Result<CheckResult> Checker::Run() {
  // The report names every finding; the repository need not say it too.
  repo_.set_warn_on_damage(false);
  WARD_RETURN_IF_ERROR(repo_.LoadIndex());
  for (const auto& d : repo_.damaged_index_files()) {
    Error(fmt::format("{}: run 'ward repair index' (its packs are still there and are read from their headers "
                      "meanwhile)",
                      d.error.message()));
  }
  WARD_ASSIGN_OR_RETURN(auto damaged_keys, repo_.CheckKeyFiles());
  for (const auto& d : damaged_keys) {
    Error(fmt::format("{}: it opens nothing; add a new key with 'ward key add', then 'ward key remove {}'",
                      d.error.message(), d.id.Short()));
  }
  std::vector<repo::DamagedObject> damaged_holds;
  WARD_RETURN_IF_ERROR(repo_.ListHolds(&damaged_holds).status());
  for (const auto& d : damaged_holds) {
    Error(fmt::format("{}: forget refuses until it is readable (it may keep any snapshot)", d.error.message()));
  }
  // Classify the packs no index lists: leftovers, or data a snapshot needs.
  WARD_RETURN_IF_ERROR(repo_.RecoverUnindexedPacks());
  repo_.index().ForEach([&](const Id& id, const repo::BlobLocation& loc) {
    packs_[loc.pack].push_back({id, loc});
  });
  // Existence and sizes of packs.
  WARD_ASSIGN_OR_RETURN(auto stored, repo_.ListPacks());
  result_.packs = packs_.size();
  for (const auto& [pack, blobs] : packs_) {
    auto it = stored.find(pack);
    if (it == stored.end()) {
      Error(fmt::format("pack {} is missing ({} blobs are lost with it)", pack.Hex(), blobs.size()));
      MarkDamaged(pack);
      continue;
    }
    uint64_t end = 0;
    for (const auto& b : blobs) end = std::max<uint64_t>(end, b.loc.offset + b.loc.length);
    if (it->second < end + 4 + crypto::kSealOverhead) {
      Error(fmt::format("pack {} is truncated: {} bytes, but its blobs reach byte {}", pack.Hex(), it->second, end));
      MarkDamaged(pack);
    }
  }
  auto sessions = repo_.ListSessions();
  if (sessions.ok() && !sessions->empty()) {
    size_t dead = std::count_if(sessions->begin(), sessions->end(), repo::IsDeadOnThisMachine);
    if (dead) {
      result_.warnings.push_back(fmt::format(
          "{} session(s) belong to processes of this machine that are gone (killed writers; 'ward prune' removes "
          "them)",
          dead));
    }
    if (sessions->size() > dead) {
      result_.warnings.push_back(fmt::format(
          "{} session(s) are registered: writers in progress, or ones killed on another machine ('ward prune' "
          "removes those once unchanged for its --stale-session-after)",
          sessions->size() - dead));
    }
  }
  uint64_t temporaries = 0, temporary_bytes = 0;
  WARD_RETURN_IF_ERROR(repo_.backend()->ListTemporaries([&](const storage::FileInfo& t) {
    ++temporaries;
    temporary_bytes += t.size;
    return Status::OK();
  }));
  if (temporaries) {
    result_.warnings.push_back(fmt::format(
        "{} temporary file(s) ({}) were left by interrupted writes, or are being written now ('ward prune' "
        "removes them once their writer is provably gone)",
        temporaries, FormatBytes(temporary_bytes)));
  }

  if (opts_.read_data) {
    std::vector<std::pair<Id, uint64_t>> to_read;
    for (const auto& [pack, size] : stored) {
      if (packs_.count(pack) || repo_.index().IsRecovered(pack)) to_read.emplace_back(pack, size);
    }
    if (opts_.read_fraction < 1.0) {
      std::mt19937_64 rng(std::random_device{}());
      std::shuffle(to_read.begin(), to_read.end(), rng);
      size_t n = static_cast<size_t>(std::ceil(opts_.read_fraction * to_read.size()));
      to_read.resize(std::min(to_read.size(), std::max<size_t>(n, to_read.empty() ? 0 : 1)));
    }
    if (progress_) {
      for (const auto& [p, s] : to_read) {
        progress_->bytes_total += s;
        progress_->files_total++;
      }
      progress_->totals_known = true;
    }
    int threads = opts_.workers > 0 ? opts_.workers
                                    : (repo_.backend()->IsLocal()
                                           ? std::max(2, static_cast<int>(std::thread::hardware_concurrency()))
                                           : repo_.backend()->Concurrency());
    ParallelFor(to_read.size(), threads, [&](size_t i) { ReadPack(to_read[i].first, to_read[i].second); });
  }

  std::vector<repo::DamagedObject> damaged_snapshots;
  WARD_ASSIGN_OR_RETURN(std::vector<repo::Snapshot> snaps, repo_.ListSnapshots(&damaged_snapshots));
  for (const auto& d : damaged_snapshots) {
    Error(fmt::format("{}: it cannot be restored; 'ward forget {}' removes it", d.error.message(),
                      d.id.Short()));
  }
  result_.snapshots = snaps.size();
  std::vector<std::string> needing_repair;
  for (const auto& s : snaps) {
    bool unindexed = false;
    std::string bad = WalkTree(s.tree, "", &unindexed);
    if (!bad.empty()) result_.affected_snapshots.push_back({s.id, bad});
    if (unindexed) needing_repair.push_back(s.id.Short());
  }
  if (!needed_unindexed_.empty()) {
    std::string which;
    for (const auto& n : needing_repair) which += (which.empty() ? "" : ", ") + n;
    Error(fmt::format("{} pack(s) that no index file lists hold data that snapshot(s) {} need: run 'ward repair "
                      "index' (do not delete these packs)",
                      needed_unindexed_.size(), which));
  }
  size_t leftovers = 0, unreadable = 0;
  for (const auto& [pack, size] : stored) {
    if (packs_.count(pack) || repo_.index().IsCondemned(pack) || needed_unindexed_.count(pack)) continue;
    ++(repo_.index().IsRecovered(pack) ? leftovers : unreadable);
  }
  if (leftovers && (!repo_.damaged_index_files().empty() || !damaged_snapshots.empty())) {
    result_.warnings.push_back(fmt::format(
        "{} pack(s) are in no index and hold nothing a readable snapshot needs (they may hold what the damaged "
        "objects above listed; 'ward repair index' indexes them again)",
        leftovers));
  } else if (leftovers) {
    result_.warnings.push_back(fmt::format(
        "{} pack(s) are in no index and hold nothing a snapshot needs (left by interrupted backups, or being "
        "written now; 'ward prune' removes them)",
        leftovers));
  }
  if (unreadable) {
    result_.warnings.push_back(fmt::format(
        "{} pack(s) are in no index and their headers cannot be read (damaged leftovers; 'ward prune' removes "
        "them)",
        unreadable));
  }
  return std::move(result_);
}

}  // namespace

Result<CheckResult> RunCheck(repo::Repository& repo, const CheckOptions& options, Progress* progress) {
  Checker c(repo, options, progress);
  return c.Run();
}

}  // namespace ward::engine
