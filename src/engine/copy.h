// The copy job: snapshots from one repository into another (3-2-1: a local
// repository, an S3 one, another S3 one), without reading any source again.
//
// Blobs are read from the source repository, checked, and stored in the
// target under the target's keys. A blob the target already has is not
// stored again. When the target shares the source's ID key (made with
// `ward init --copy-ids-from`), blob and tree IDs are identical, so a blob or a
// whole directory the target already holds is skipped without even reading
// it; otherwise IDs are recomputed (and remembered in the local cache, so a
// second copy reads nothing already copied).
// A snapshot already copied (the target has a snapshot whose "original" is
// it) is skipped: copying twice adds nothing.
// Thread safety: RunCopy from one thread.
#pragma once

#include <string>
#include <vector>

#include "base/status.h"
#include "engine/progress.h"
#include "repo/repository.h"

namespace ward::engine {

struct CopyResult {
  uint64_t snapshots_copied = 0, snapshots_skipped = 0;
  uint64_t blobs_copied = 0, blobs_present = 0, trees_skipped = 0;
  uint64_t bytes_read = 0, bytes_stored = 0;
  std::vector<std::pair<Id, Id>> copied;  // source snapshot -> target snapshot
};

// `id_map_file`: where to remember source->target blob IDs between runs ("" = nowhere).
Result<CopyResult> RunCopy(repo::Repository& src, repo::Repository& dst, const std::vector<repo::Snapshot>& snapshots,
                           const std::string& id_map_file, Progress* progress);

}  // namespace ward::engine
