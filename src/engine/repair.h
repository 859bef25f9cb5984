// The repair jobs: put a damaged repository back in order without losing
// anything that can still be read (as restic's `repair index` and `repair
// snapshots`).
//
// RunRepairIndex rebuilds the index from the packs themselves: every pack's
// header (authenticated, written into the pack) lists its blobs, so a lost or
// damaged index file costs nothing while its packs are intact. It writes a
// complete index that supersedes every index file it read (damaged ones
// too), then deletes those files. Entries of packs that no longer exist are
// dropped; packs a pending prune plan condemned are left to prune.
//
// RunRepairSnapshots writes, for each snapshot that references data the
// repository no longer has, a new snapshot without what is lost: a folder
// whose tree cannot be read becomes empty, a file with a missing blob is
// left out (never stored truncated). Each such path is reported. The new
// snapshot keeps the old one's time, host, paths and tags, adds the tag
// "repaired" and names the original; the original stays until `forget` is
// asked for, so nothing is dropped without being told.
//
// Both register a session like any writer, so a concurrent prune waits for
// them. Thread safety: call from one thread.
#pragma once

#include <string>
#include <vector>

#include "base/status.h"
#include "repo/repository.h"

namespace ward::engine {

struct RepairIndexOptions {
  bool dry_run = false;
  bool read_all_packs = false;  // trust no index file: read every pack's header
};

struct RepairIndexResult {
  uint64_t index_files_read = 0, index_files_damaged = 0;
  uint64_t packs = 0;                // packs in the new index
  uint64_t packs_added = 0;          // found only through their headers
  uint64_t packs_dropped = 0;        // indexed, but gone from the repository
  std::vector<std::string> unreadable;  // packs whose header cannot be read
  uint64_t index_files_written = 0, index_files_deleted = 0;
  std::vector<std::string> retained;    // old index files that could not be deleted (Object Lock)
  bool changed() const { return index_files_damaged || packs_added || packs_dropped; }
};

Result<RepairIndexResult> RunRepairIndex(repo::Repository& repo, const RepairIndexOptions& options);

struct RepairSnapshotsOptions {
  bool dry_run = false;
  bool forget = false;  // remove each original once its repaired copy is saved
};

struct RepairedSnapshot {
  Id original;
  Id repaired;                      // unset in a dry run
  std::vector<std::string> lost;    // paths left out or emptied, with why
};

struct RepairSnapshotsResult {
  uint64_t snapshots_checked = 0;
  std::vector<RepairedSnapshot> repaired;
  uint64_t forgotten = 0;
};

Result<RepairSnapshotsResult> RunRepairSnapshots(repo::Repository& repo,
                                                 const std::vector<repo::Snapshot>& snapshots,
                                                 const RepairSnapshotsOptions& options);

}  // namespace ward::engine
