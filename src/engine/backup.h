// The backup job: Source -> Chunker -> Repository.
//
//   walker (caller's thread)  lists the source depth-first, skips files the
//                             previous snapshot already has unchanged (the
//                             files cache), reads and chunks the rest
//   workers (one per core)    hash each chunk (keyed), drop duplicates,
//                             compress, encrypt and pack the new ones
//   uploader threads          save full packs, index them, write index files
//   finisher thread           assembles each directory's tree once its files
//                             are done (post-order) and stores it
// Queues between the stages are bounded in bytes, so memory stays flat
// however large the source is. The snapshot is written last, after every
// pack and index file it needs.
//
// Thread safety: RunBackup may be called from any thread; the repository may
// be shared with other jobs.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "base/time.h"
#include "engine/progress.h"
#include "repo/repository.h"
#include "source/source.h"

namespace ward::engine {

struct BackupOptions {
  std::string hostname;
  std::vector<std::string> tags;
  std::optional<UnixNanos> time;      // snapshot time (default: now)
  std::optional<Id> parent;           // previous snapshot for the files cache (default: latest match)
  bool force = false;                 // read every file, ignore the files cache
  int workers = 0;                    // 0: one per core
  std::vector<std::string> excludes;  // recorded in the snapshot
  std::string source_kind;            // default: source.Kind()
  std::string service;                // plan backups: the plan's service name
  source::Source* scanner = nullptr;  // optional second instance, walked to count totals
};

struct BackupResult {
  repo::Snapshot snapshot;          // as saved; snapshot.id is its ID
  std::optional<Id> parent;         // the snapshot used as files cache
  std::vector<Status> read_errors;  // inputs that could not be read (exit 3)
};

// Runs one backup. Fails (and writes no snapshot) on a repository error, or
// on any read error of a source that does not allow partial results.
Result<BackupResult> RunBackup(repo::Repository& repo, source::Source& source,
                               const BackupOptions& options, Progress* progress);

}  // namespace ward::engine
