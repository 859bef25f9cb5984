// The prune job: delete what no snapshot needs, safely while other hosts
// back up (docs/format/repository.md §6, "Concurrent prune").
//
// Phase one (condemn): walk every snapshot to find the blobs in use; packs
// with no used blob are condemned, packs with more than `max_unused` of their
// bytes unused are repacked (their used blobs copied, still sealed, into new
// packs) and condemned; packs that no index lists (left by interrupted
// backups, or being written right now) are condemned too. A consolidated index
// that leaves the condemned packs out supersedes every index file read. Then
// a condemn plan is written, then the registered writers are listed into a
// wait list. Nothing is deleted in phase one.
//
// Phase two (delete), for every plan whose wait list has no live writer:
// writers judged dead by heartbeat are revoked first; then the snapshots are
// read again, condemned packs holding a blob that a snapshot now needs (and
// that has no live copy) are kept and re-indexed, and the rest are deleted,
// with the superseded index files, and the plan.
//
// Last, what dead writers left is cleared: their session objects (after a
// revocation, so one alive after all withdraws its snapshot) and their
// temporary files (Backend::ListTemporaries), judged by the same rule.
//
// When no other writer is registered, both phases run in one `ward prune`.
// Safety never depends on clocks agreeing between hosts. Killed at any
// instant, a prune leaves a valid repository; the next one finishes its work.
// Thread safety: RunPrune from one thread; other processes may back up
// concurrently.
#pragma once

#include <string>
#include <unordered_set>
#include <vector>

#include "base/status.h"
#include "engine/progress.h"
#include "repo/repository.h"

namespace ward::engine {

struct PruneOptions {
  bool dry_run = false;
  double max_unused = 0.05;  // repack packs with more unused bytes than this share
  // A writer on another machine whose session has not been refreshed for
  // this long (by this host's clock, across runs) is considered dead.
  int64_t stale_after_ns = 3600ll * 1000000000;
  std::string state_file;  // where session observations are kept ("" = none)
};

struct PruneResult {
  // What was found.
  uint64_t snapshots = 0, packs = 0, blobs_used = 0, blobs_unused = 0;
  uint64_t bytes_used = 0, bytes_unused = 0;
  // Phase one.
  uint64_t packs_condemned = 0, packs_repacked = 0, packs_unindexed = 0;
  uint64_t bytes_repacked = 0;   // live bytes copied into new packs
  uint64_t bytes_to_free = 0;    // stored bytes of the condemned packs
  uint64_t index_files_written = 0, index_files_superseded = 0;
  // Phase two.
  uint64_t packs_deleted = 0, packs_kept = 0, bytes_freed = 0, index_files_deleted = 0;
  uint64_t plans_finished = 0, plans_waiting = 0;
  std::vector<std::string> waiting_for;  // "backup on host (pid N)"
  std::vector<std::string> retained;     // objects under Object Lock, skipped
  uint64_t objects_retention_extended = 0;
  // Leftovers of writers that are provably gone (same rule as for packs).
  uint64_t temporaries_removed = 0, temporary_bytes_removed = 0, sessions_removed = 0;
};

// kAborted ("repository is locked") if another prune is running.
Result<PruneResult> RunPrune(repo::Repository& repo, const PruneOptions& options, Progress* progress);

// The blobs every snapshot needs (data and tree), walking each tree once.
struct UsedBlobs {
  std::unordered_set<Id, IdHash> data, tree;
};
Result<UsedBlobs> CollectUsedBlobs(repo::Repository& repo, const std::vector<repo::Snapshot>& snapshots);

}  // namespace ward::engine
