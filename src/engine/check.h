// The check job: is every snapshot fully restorable?
//
// Structure (always): every index file opens; every pack the index names
// exists with a plausible size; every snapshot opens and its whole tree can be
// walked, with every tree and data blob it references present in the index.
// Data (--read-data, or a random subset of packs): every selected pack is
// downloaded, its SHA-256 checked against its name, its header decrypted and
// compared with the index, and every blob decrypted, decompressed and checked
// against its keyed hash.
// Also: key files match their names and parse, hold files open, damaged
// index files and snapshots are named.
// Damage is reported per pack, with the snapshots (and a path in each) that
// depend on it. Packs no index lists are damage when a snapshot needs them
// ('ward repair index' indexes them again) and warnings otherwise (an
// interrupted backup leaves them, and prune reclaims them); temporary files
// and sessions of killed writers are warnings too.
// Thread safety: RunCheck may be called from any thread.
#pragma once

#include <string>
#include <vector>

#include "base/status.h"
#include "engine/progress.h"
#include "repo/repository.h"

namespace ward::engine {

struct CheckOptions {
  bool read_data = false;
  double read_fraction = 1.0;  // with read_data: share of packs to read, (0, 1]
  int workers = 0;
};

struct CheckResult {
  std::vector<std::string> errors;    // damage: non-empty means exit status 20
  std::vector<std::string> warnings;  // harmless findings
  std::vector<Id> damaged_packs;
  struct Affected {
    Id snapshot;
    std::string path;  // a path in it that cannot be restored
  };
  std::vector<Affected> affected_snapshots;
  uint64_t snapshots = 0, trees = 0, packs = 0, packs_read = 0, bytes_read = 0, blobs_read = 0;
};

Result<CheckResult> RunCheck(repo::Repository& repo, const CheckOptions& options, Progress* progress);

}  // namespace ward::engine
