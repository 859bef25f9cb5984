// Blob types and locations: the vocabulary shared by packs, the index and
// the repository.
//
// A blob is one chunk of file data or one encoded tree (directory listing),
// named by its ID: HMAC-SHA-256 of its plaintext under the repository's ID
// key. A blob is stored in exactly one pack per copy; its location says where.
#pragma once

#include <cstdint>

#include "base/bytes.h"

namespace ward::repo {

enum class BlobType : uint8_t { kData = 0, kTree = 1 };

inline const char* BlobTypeName(BlobType t) { return t == BlobType::kData ? "data" : "tree"; }

// Where a blob is stored and how to decode it.
struct BlobLocation {
  Id pack;
  uint64_t offset = 0;   // of the sealed blob within the pack
  uint32_t length = 0;   // sealed length: nonce + ciphertext + tag
  uint32_t ulength = 0;  // plaintext length after decompression
  BlobType type = BlobType::kData;
  bool compressed = false;
};

// A blob as listed in a pack header or an index file.
struct PackedBlob {
  Id id;
  BlobLocation loc;
};

}  // namespace ward::repo
