// The index: which pack holds each blob.
//
// On storage, index files are immutable metadata objects; each lists packs
// and their blobs:
//   index   = "WIX" version:u8=1 supersedes:varint id[32]*
//             packs:varint pack*
//   pack    = pack_id[32] blobs:varint entry*
//   entry   = type:u8 flags:u8 offset:varint length:varint ulength:varint id[32]
// `supersedes` names index files whose content this one fully contains (a
// later prune writes consolidated indexes this way; readers ignore superseded
// files, so deleting them is never urgent).
//
// In memory, MasterIndex merges every index file. It is sharded and safe for
// concurrent lookups and inserts from any number of threads.
#pragma once

#include <array>
#include <functional>
#include <optional>
#include <shared_mutex>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "base/bytes.h"
#include "base/status.h"
#include "repo/blob.h"

namespace ward::repo {

struct IndexFile {
  std::vector<Id> supersedes;
  struct Pack {
    Id id;
    std::vector<PackedBlob> blobs;
  };
  std::vector<Pack> packs;

  Bytes Encode() const;
  static Result<IndexFile> Decode(ByteView data);
};

class MasterIndex {
 public:
  MasterIndex() = default;
  MasterIndex(const MasterIndex&) = delete;
  MasterIndex& operator=(const MasterIndex&) = delete;

  // Adds every blob of a pack. A blob already known keeps its first location.
  void AddPack(const Id& pack, const std::vector<PackedBlob>& blobs);

  // Live blobs only: what a new backup may deduplicate against.
  bool Has(BlobType type, const Id& id) const;
  // Live blobs, then condemned ones (in packs a pending prune plan will
  // delete), then recovered ones (in packs no readable index file lists,
  // found through their headers): what readers (restore, check) may read.
  std::optional<BlobLocation> Lookup(BlobType type, const Id& id) const;
  // Forgets everything (before a reload).
  void Clear();
  // Blobs of a condemned pack: readable, but never deduplicated against.
  void AddCondemnedPack(const Id& pack, const std::vector<PackedBlob>& blobs);
  bool IsCondemned(const Id& pack) const;
  // Blobs of a pack that no readable index file lists, taken from its
  // (authenticated) header: readable, but never deduplicated against, since
  // prune would take such a pack for a leftover until an index lists it.
  void AddRecoveredPack(const Id& pack, const std::vector<PackedBlob>& blobs);
  bool IsRecovered(const Id& pack) const;
  size_t RecoveredPackCount() const;

  // Blob counts per type and total packs known.
  size_t BlobCount(BlobType type) const;
  size_t PackCount() const;
  bool HasPack(const Id& pack) const;

  // Calls fn(blob id, location) for every blob (no lock is held during fn
  // for a shard other than the one being walked; do not call back in).
  void ForEach(const std::function<void(const Id&, const BlobLocation&)>& fn) const;

  // The set of packs that hold at least one tree blob (cached locally).
  bool IsTreePack(const Id& pack) const;

 private:
  static constexpr size_t kShards = 32;
  struct Shard {
    mutable std::shared_mutex mu;
    std::unordered_map<Id, BlobLocation, IdHash> blobs[2];  // by BlobType
  };
  Shard& ShardFor(const Id& id) { return shards_[id.bytes[1] % kShards]; }
  const Shard& ShardFor(const Id& id) const { return shards_[id.bytes[1] % kShards]; }

  std::array<Shard, kShards> shards_;
  mutable std::shared_mutex packs_mu_;
  std::unordered_set<Id, IdHash> packs_;
  std::unordered_set<Id, IdHash> tree_packs_;
  std::unordered_set<Id, IdHash> condemned_packs_;
  std::unordered_map<Id, BlobLocation, IdHash> condemned_[2];  // guarded by packs_mu_
  std::unordered_set<Id, IdHash> recovered_packs_;
  std::unordered_map<Id, BlobLocation, IdHash> recovered_[2];  // guarded by packs_mu_
};

}  // namespace ward::repo
