// Content-defined chunking (FastCDC with normalised chunking), push-based: the
// chunker never reads anything itself. The caller holds the bytes and asks
// where the next chunk ends.
//
// A gear hash rolls over the data; a cut is made where the hash has zeros in
// every bit of a mask. Below the target size a stricter mask (2 more bits)
// applies and above it a looser one (2 fewer), which pulls chunk sizes close
// to the average (FastCDC "normalisation level 2"). The gear table is derived
// from a per-repository secret, so chunk lengths do not reveal which known
// files a repository holds.
//
// Thread safety: a Chunker is immutable after construction; Cut() may be
// called from any number of threads.
#pragma once

#include <array>
#include <cstdint>

#include "base/bytes.h"

namespace ward {

struct ChunkerParams {
  uint32_t min_size = 512 * 1024;
  uint32_t avg_size = 1024 * 1024;  // a power of two
  uint32_t max_size = 8 * 1024 * 1024;
  Bytes secret;  // seeds the gear table; 32 bytes in a repository

  // kInvalidArgument unless min < avg < max, avg is a power of two >= 256 and
  // max <= 64 MiB.
  Status Validate() const;
};

class Chunker {
 public:
  explicit Chunker(const ChunkerParams& params);

  // Returns the length of the chunk that starts at data[0]. The caller passes
  // at least max_size() bytes unless these are the last bytes of the stream
  // (then a final, shorter chunk may be cut). Returns 0 only for empty data.
  size_t Cut(ByteView data) const;

  uint32_t min_size() const { return min_; }
  uint32_t avg_size() const { return avg_; }
  uint32_t max_size() const { return max_; }

 private:
  std::array<uint64_t, 256> gear_;
  uint64_t mask_small_;  // used below avg_: harder to match
  uint64_t mask_large_;  // used from avg_ on: easier to match
  uint32_t min_, avg_, max_;
};

}  // namespace ward
