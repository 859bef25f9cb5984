// Pack files: many sealed blobs in one storage object, so that S3 sees few,
// large requests.
//
//   pack          = blob_1 ... blob_n  sealed_header  header_length:u32le
//   blob_i        = Seal(K_enc, zstd(plaintext) or plaintext)
//   sealed_header = Seal(K_enc, header)
//   header        = "WPK" version:u8=1 count:varint entry*
//   entry         = type:u8 flags:u8 length:varint ulength:varint id[32]
//
// Offsets are implied: blob i starts where blob i-1 ends. The pack's name is
// the SHA-256 of all its bytes, so damage is visible without any key, and the
// header alone is enough to rebuild the index (docs/format/repository.md).
//
// Thread safety: a PackBuilder belongs to one thread at a time.
#pragma once

#include <vector>

#include "base/bytes.h"
#include "base/status.h"
#include "crypto/crypto.h"
#include "repo/blob.h"

namespace ward::repo {

constexpr size_t kPackHeaderEntryMax = 1 + 1 + 10 + 5 + 32;

class PackBuilder {
 public:
  // `reserve`: the capacity to allocate once for a pack's bytes (target size
  // plus the largest blob), so the buffer never grows by copying.
  explicit PackBuilder(const crypto::Key& key, size_t reserve = 0) : key_(key), reserve_(reserve) {}

  // Compresses (unless `compress` is false or it does not help), seals and
  // appends a blob whose ID the caller computed.
  void Add(BlobType type, const Id& id, ByteView plaintext, int level, bool compress = true);

  // Appends an already sealed blob (copied between packs as is).
  void AddSealed(const Id& id, const BlobLocation& loc, ByteView sealed);

  size_t size() const { return data_.size(); }
  size_t count() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  uint64_t plaintext_bytes() const { return plaintext_bytes_; }

  // Appends the header, returns the pack bytes and the blobs' locations
  // (pack IDs filled in), and resets the builder.
  struct Finished {
    Id id;
    Bytes data;
    std::vector<PackedBlob> blobs;
  };
  Finished Finish();

 private:
  crypto::Key key_;
  size_t reserve_;
  Bytes data_;
  std::vector<PackedBlob> entries_;
  uint64_t plaintext_bytes_ = 0;
};

// Parses the trailer and header of a pack of `pack_size` bytes. `tail` is the
// pack's last bytes (at least the header; ReadPackHeader fetches them).
// kDataLoss if the header is damaged or does not fit the pack.
Result<std::vector<PackedBlob>> ParsePackHeader(const crypto::Key& key, const Id& pack_id,
                                                uint64_t pack_size, ByteView tail);

// Opens one sealed blob: decrypts, decompresses and checks that its
// plaintext hashes to `id`. kDataLoss on any mismatch.
Status OpenBlob(const crypto::Key& key, const crypto::BlobMac& mac, const Id& id,
                const BlobLocation& loc, ByteView sealed, Bytes* out);

}  // namespace ward::repo
