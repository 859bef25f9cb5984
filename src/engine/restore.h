// The restore job: Repository -> files in a target directory.
//
// Planning walks the snapshot's trees and creates directories, symlinks,
// special files and hard links, and empty (sparse) target files of the right
// size. Then worker threads take one pack at a time, load the byte ranges
// holding the needed blobs (adjacent blobs in one request), decrypt,
// decompress and check every blob against its keyed hash, and write it to
// every file that needs it. A file's metadata (owner, mode, times) is set when
// its last blob is written; directories' metadata last, deepest first.
//
// With `delta`, a file already present at the target is hashed chunk by
// chunk against the snapshot; chunks that match are kept, so an interrupted
// or repeated restore only writes what differs.
//
// A damaged or missing blob fails only the files that need it: they are
// removed (never left with wrong content) and named in the result, and the
// rest is restored.
// Thread safety: RunRestore may be called from any thread.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "base/status.h"
#include "engine/progress.h"
#include "repo/repository.h"
#include "source/source.h"

namespace ward::engine {

struct RestoreOptions {
  std::string target;
  std::string subpath;  // within the snapshot, e.g. "/home/alice"; "" or "/" for all
  std::vector<std::string> includes, excludes;  // patterns on snapshot paths
  bool delta = false;
  int workers = 0;  // 0: chosen from the backend
};

struct RestoreResult {
  uint64_t files_restored = 0;
  uint64_t files_unchanged = 0;  // delta: already correct, not written
  uint64_t dirs = 0, links = 0, special = 0;
  uint64_t bytes_written = 0;
  uint64_t bytes_reused = 0;  // delta: matched existing content
  std::vector<Status> errors;  // what could not be restored, one per item
};

Result<RestoreResult> RunRestore(repo::Repository& repo, const repo::Snapshot& snapshot,
                                 const RestoreOptions& options, Progress* progress);

// Streams every file below `subpath` of the snapshot into `target` (a
// database, a running Redis, a bucket), then returns target.Finish()'s report.
// Every blob is checked against its hash before the target sees it.
Result<nlohmann::json> RunRestoreToTarget(repo::Repository& repo, const repo::Snapshot& snapshot,
                                          const std::string& subpath, source::RestoreTarget& target,
                                          Progress* progress);

// The kind and recorded position of the source a restore path starts in:
// plan snapshots name their parts ({"postgres": {"kind": ..., "position":
// ...}}), other snapshots are one source.
std::pair<std::string, nlohmann::json> SourceAt(const repo::Snapshot& snapshot, const std::string& subpath);

// A Reader over one file of a snapshot: its blobs in order, each verified,
// read a few blobs ahead.
std::unique_ptr<source::Reader> OpenSnapshotFile(repo::Repository& repo, const repo::Node& node);

// Finds the node at `path` (absolute, '/'-separated) in a snapshot tree.
// For "" or "/", returns a directory node whose subtree is `root`.
Result<repo::Node> FindNode(repo::Repository& repo, const Id& root, const std::string& path);

}  // namespace ward::engine
