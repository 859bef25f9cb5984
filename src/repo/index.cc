#include "repo/index.h"

#include <mutex>

namespace ward::repo {

namespace {
constexpr char kMagic[3] = {'W', 'I', 'X'};
constexpr uint8_t kVersion = 1;
}  // namespace

Bytes IndexFile::Encode() const {
  Bytes out;
  Encoder e(&out);
  e.Raw(AsBytes(std::string_view(kMagic, 3)));
  e.U8(kVersion);
  e.Varint(supersedes.size());
  for (const auto& id : supersedes) e.IdRaw(id);
  e.Varint(packs.size());
  for (const auto& p : packs) {
    e.IdRaw(p.id);
    e.Varint(p.blobs.size());
    for (const auto& b : p.blobs) {
      e.U8(static_cast<uint8_t>(b.loc.type));
      e.U8(b.loc.compressed ? 1 : 0);
      e.Varint(b.loc.offset);
      e.Varint(b.loc.length);
      e.Varint(b.loc.ulength);
      e.IdRaw(b.id);
    }
  }
  return out;
}

Result<IndexFile> IndexFile::Decode(ByteView data) {
  Decoder d(data);
  IndexFile f;
  WARD_ASSIGN_OR_RETURN(ByteView magic, d.Raw(3));
  if (AsString(magic) != std::string_view(kMagic, 3)) return DataLossError("not an index file");
  WARD_ASSIGN_OR_RETURN(uint8_t version, d.U8());
  if (version != kVersion) {
    return FailedPreconditionError("index format version " + std::to_string(version) +
                                   " is newer than this ward understands; upgrade ward");
  }
  WARD_ASSIGN_OR_RETURN(uint64_t nsup, d.Varint());
  if (nsup > d.remaining() / Id::kSize) return DataLossError("index: bad supersedes count");
  for (uint64_t i = 0; i < nsup; ++i) {
    WARD_ASSIGN_OR_RETURN(Id id, d.IdRaw());
    f.supersedes.push_back(id);
  }
  WARD_ASSIGN_OR_RETURN(uint64_t npacks, d.Varint());
  if (npacks > d.remaining() / Id::kSize) return DataLossError("index: bad pack count");
  f.packs.resize(npacks);
  for (auto& p : f.packs) {
    WARD_ASSIGN_OR_RETURN(p.id, d.IdRaw());
    WARD_ASSIGN_OR_RETURN(uint64_t nblobs, d.Varint());
    if (nblobs > d.remaining() / Id::kSize) return DataLossError("index: bad blob count");
    p.blobs.resize(nblobs);
    for (auto& b : p.blobs) {
      WARD_ASSIGN_OR_RETURN(uint8_t type, d.U8());
      WARD_ASSIGN_OR_RETURN(uint8_t flags, d.U8());
      WARD_ASSIGN_OR_RETURN(uint64_t offset, d.Varint());
      WARD_ASSIGN_OR_RETURN(uint64_t length, d.Varint());
      WARD_ASSIGN_OR_RETURN(uint64_t ulength, d.Varint());
      WARD_ASSIGN_OR_RETURN(b.id, d.IdRaw());
      if (type > 1 || length > UINT32_MAX || ulength > UINT32_MAX) {
        return DataLossError("index: bad entry");
      }
      b.loc.pack = p.id;
      b.loc.type = static_cast<BlobType>(type);
      b.loc.compressed = flags & 1;
      b.loc.offset = offset;
      b.loc.length = static_cast<uint32_t>(length);
      b.loc.ulength = static_cast<uint32_t>(ulength);
    }
  }
  if (!d.done()) return DataLossError("index: trailing bytes");
  return f;
}

void MasterIndex::AddPack(const Id& pack, const std::vector<PackedBlob>& blobs) {
  bool has_tree = false;
  for (const auto& b : blobs) {
    Shard& s = ShardFor(b.id);
    std::unique_lock lock(s.mu);
    s.blobs[static_cast<int>(b.loc.type)].try_emplace(b.id, b.loc);
    has_tree |= b.loc.type == BlobType::kTree;
  }
  std::unique_lock lock(packs_mu_);
  packs_.insert(pack);
  if (has_tree) tree_packs_.insert(pack);
}

bool MasterIndex::Has(BlobType type, const Id& id) const {
  const Shard& s = ShardFor(id);
  std::shared_lock lock(s.mu);
  return s.blobs[static_cast<int>(type)].count(id) > 0;
}

std::optional<BlobLocation> MasterIndex::Lookup(BlobType type, const Id& id) const {
  {
    const Shard& s = ShardFor(id);
    std::shared_lock lock(s.mu);
    const auto& m = s.blobs[static_cast<int>(type)];
    auto it = m.find(id);
    if (it != m.end()) return it->second;
  }
  std::shared_lock lock(packs_mu_);
  for (const auto* extra : {&condemned_[static_cast<int>(type)], &recovered_[static_cast<int>(type)]}) {
    auto it = extra->find(id);
    if (it != extra->end()) return it->second;
  }
  return std::nullopt;
}

void MasterIndex::Clear() {
  for (auto& s : shards_) {
    std::unique_lock lock(s.mu);
    s.blobs[0].clear();
    s.blobs[1].clear();
  }
  std::unique_lock lock(packs_mu_);
  packs_.clear();
  tree_packs_.clear();
  condemned_packs_.clear();
  condemned_[0].clear();
  condemned_[1].clear();
  recovered_packs_.clear();
  recovered_[0].clear();
  recovered_[1].clear();
}

void MasterIndex::AddCondemnedPack(const Id& pack, const std::vector<PackedBlob>& blobs) {
  std::unique_lock lock(packs_mu_);
  condemned_packs_.insert(pack);
  for (const auto& b : blobs) condemned_[static_cast<int>(b.loc.type)].try_emplace(b.id, b.loc);
}

bool MasterIndex::IsCondemned(const Id& pack) const {
  std::shared_lock lock(packs_mu_);
  return condemned_packs_.count(pack) > 0;
}

void MasterIndex::AddRecoveredPack(const Id& pack, const std::vector<PackedBlob>& blobs) {
  std::unique_lock lock(packs_mu_);
  recovered_packs_.insert(pack);
  for (const auto& b : blobs) {
    recovered_[static_cast<int>(b.loc.type)].try_emplace(b.id, b.loc);
    if (b.loc.type == BlobType::kTree) tree_packs_.insert(pack);
  }
}

bool MasterIndex::IsRecovered(const Id& pack) const {
  std::shared_lock lock(packs_mu_);
  return recovered_packs_.count(pack) > 0;
}

size_t MasterIndex::RecoveredPackCount() const {
  std::shared_lock lock(packs_mu_);
  return recovered_packs_.size();
}

size_t MasterIndex::BlobCount(BlobType type) const {
  size_t n = 0;
  for (const auto& s : shards_) {
    std::shared_lock lock(s.mu);
    n += s.blobs[static_cast<int>(type)].size();
  }
  return n;
}

size_t MasterIndex::PackCount() const {
  std::shared_lock lock(packs_mu_);
  return packs_.size();
}

bool MasterIndex::HasPack(const Id& pack) const {
  std::shared_lock lock(packs_mu_);
  return packs_.count(pack) > 0;
}

bool MasterIndex::IsTreePack(const Id& pack) const {
  std::shared_lock lock(packs_mu_);
  return tree_packs_.count(pack) > 0;
}

void MasterIndex::ForEach(const std::function<void(const Id&, const BlobLocation&)>& fn) const {
  for (const auto& s : shards_) {
    std::shared_lock lock(s.mu);
    for (const auto& m : s.blobs) {
      for (const auto& [id, loc] : m) fn(id, loc);
    }
  }
}

}  // namespace ward::repo
