#include "repo/pack.h"

#include <fmt/format.h>

#include "io/compress.h"

namespace ward::repo {

namespace {
constexpr char kMagic[3] = {'W', 'P', 'K'};
constexpr uint8_t kVersion = 1;
constexpr uint8_t kFlagCompressed = 1;
}  // namespace

void PackBuilder::Add(BlobType type, const Id& id, ByteView plaintext, int level, bool compress) {
  if (data_.capacity() == 0) data_.reserve(reserve_);  // no regrowth copies (and no 2x peak)
  // Compress straight into the pack after a nonce slot, then encrypt in place:
  // no intermediate buffer, one pass over the bytes.
  size_t offset = data_.size();
  data_.resize(offset + crypto::kNonceSize);
  bool compressed = compress && io::CompressMaybe(plaintext, level, &data_);
  if (!compressed) data_.insert(data_.end(), plaintext.begin(), plaintext.end());
  crypto::SealInPlace(key_, &data_, offset);
  BlobLocation loc;
  loc.offset = offset;
  loc.length = static_cast<uint32_t>(data_.size() - offset);
  loc.ulength = static_cast<uint32_t>(plaintext.size());
  loc.type = type;
  loc.compressed = compressed;
  entries_.push_back({id, loc});
  plaintext_bytes_ += plaintext.size();
}

void PackBuilder::AddSealed(const Id& id, const BlobLocation& loc, ByteView sealed) {
  BlobLocation l = loc;
  l.offset = data_.size();
  data_.insert(data_.end(), sealed.begin(), sealed.end());
  entries_.push_back({id, l});
  plaintext_bytes_ += loc.ulength;
}

PackBuilder::Finished PackBuilder::Finish() {
  Bytes header;
  Encoder e(&header);
  e.Raw(AsBytes(std::string_view(kMagic, 3)));
  e.U8(kVersion);
  e.Varint(entries_.size());
  for (const auto& b : entries_) {
    e.U8(static_cast<uint8_t>(b.loc.type));
    e.U8(b.loc.compressed ? kFlagCompressed : 0);
    e.Varint(b.loc.length);
    e.Varint(b.loc.ulength);
    e.IdRaw(b.id);
  }
  size_t before = data_.size();
  crypto::Seal(key_, header, &data_);
  uint8_t len[4];
  StoreLE32(len, static_cast<uint32_t>(data_.size() - before));
  data_.insert(data_.end(), len, len + 4);

  Finished f;
  f.id = crypto::Sha256(data_);
  f.data = std::move(data_);
  f.blobs = std::move(entries_);
  for (auto& b : f.blobs) b.loc.pack = f.id;
  data_ = Bytes();
  entries_.clear();
  plaintext_bytes_ = 0;
  return f;
}

Result<std::vector<PackedBlob>> ParsePackHeader(const crypto::Key& key, const Id& pack_id,
                                                uint64_t pack_size, ByteView tail) {
  auto damaged = [&](const std::string& why) {
    return DataLossError(fmt::format("pack {} is damaged: {}", pack_id.Hex(), why));
  };
  if (tail.size() < 4 || pack_size < 4 + crypto::kSealOverhead) return damaged("too short");
  uint32_t hlen = LoadLE32(tail.data() + tail.size() - 4);
  if (hlen < crypto::kSealOverhead || hlen + 4 > pack_size) return damaged("bad header length");
  if (hlen + 4 > tail.size()) return damaged("header not loaded");
  ByteView sealed = tail.subspan(tail.size() - 4 - hlen, hlen);
  Bytes header;
  if (!crypto::Open(key, sealed, &header).ok()) return damaged("header fails authentication");
  Decoder d(header);
  auto magic = d.Raw(3);
  if (!magic.ok() || AsString(*magic) != std::string_view(kMagic, 3)) return damaged("bad magic");
  auto version = d.U8();
  if (!version.ok() || *version != kVersion) {
    return damaged("unsupported pack version (a newer ward wrote it?)");
  }
  auto count = d.Varint();
  if (!count.ok() || *count > header.size()) return damaged("bad entry count");
  std::vector<PackedBlob> blobs;
  blobs.reserve(*count);
  uint64_t offset = 0;
  uint64_t data_end = pack_size - 4 - hlen;
  for (uint64_t i = 0; i < *count; ++i) {
    auto type = d.U8();
    auto flags = d.U8();
    auto length = d.Varint();
    auto ulength = d.Varint();
    auto id = d.IdRaw();
    if (!type.ok() || !flags.ok() || !length.ok() || !ulength.ok() || !id.ok()) {
      return damaged("truncated header");
    }
    if (*type > 1 || *length < crypto::kSealOverhead || *length > UINT32_MAX ||
        *ulength > UINT32_MAX || offset + *length > data_end) {
      return damaged("bad entry");
    }
    PackedBlob b;
    b.id = *id;
    b.loc.pack = pack_id;
    b.loc.offset = offset;
    b.loc.length = static_cast<uint32_t>(*length);
    b.loc.ulength = static_cast<uint32_t>(*ulength);
    b.loc.type = static_cast<BlobType>(*type);
    b.loc.compressed = (*flags & kFlagCompressed) != 0;
    offset += *length;
    blobs.push_back(b);
  }
  if (offset != data_end) return damaged("entries do not cover the pack");
  return blobs;
}

Status OpenBlob(const crypto::Key& key, const crypto::BlobMac& mac, const Id& id,
                const BlobLocation& loc, ByteView sealed, Bytes* out) {
  auto damaged = [&](const std::string& why) {
    return DataLossError(fmt::format("{} blob {} in pack {} is damaged: {}", BlobTypeName(loc.type),
                                     id.Short(), loc.pack.Short(), why));
  };
  out->clear();
  if (sealed.size() != loc.length) return damaged("wrong length");
  if (!loc.compressed) {
    if (!crypto::Open(key, sealed, out).ok()) return damaged("fails authentication");
  } else {
    Bytes compressed;
    if (!crypto::Open(key, sealed, &compressed).ok()) return damaged("fails authentication");
    if (!io::Decompress(compressed, loc.ulength, out).ok()) return damaged("does not decompress");
  }
  if (out->size() != loc.ulength) return damaged("wrong plaintext length");
  if (mac.Sum(*out) != id) return damaged("content does not match its ID");
  return Status::OK();
}

}  // namespace ward::repo
