#include "chunker/chunker.h"

#include <bit>
#include <cstring>

#include "crypto/crypto.h"

namespace ward {

Status ChunkerParams::Validate() const {
  if (!std::has_single_bit(avg_size) || avg_size < 256 || min_size >= avg_size ||
      avg_size >= max_size || max_size > (64u << 20)) {
    return InvalidArgumentError(
        "invalid chunker parameters: need min < avg < max, avg a power of two, max <= 64 MiB");
  }
  return Status::OK();
}

namespace {

// A mask with `bits` one-bits spread evenly over the top 48 bits of a word:
// with a left-shifting gear hash, bit k depends on the last k+1 bytes, so the
// high bits see a window of 16..64 bytes.
uint64_t SpreadMask(int bits) {
  uint64_t mask = 0;
  for (int i = 0; i < bits; ++i) mask |= uint64_t{1} << (63 - (i * 48) / bits);
  return mask;
}

}  // namespace

Chunker::Chunker(const ChunkerParams& p) : min_(p.min_size), avg_(p.avg_size), max_(p.max_size) {
  // gear[i] = first 8 bytes of SHA-256(secret || "ward-gear" || i)
  for (int i = 0; i < 256; ++i) {
    Bytes in = p.secret;
    Bytes tag = ToBytes("ward-gear");
    in.insert(in.end(), tag.begin(), tag.end());
    in.push_back(static_cast<uint8_t>(i));
    Id h = crypto::Sha256(in);
    std::memcpy(&gear_[i], h.bytes.data(), 8);
  }
  int bits = std::countr_zero(avg_);
  mask_small_ = SpreadMask(bits + 2);
  mask_large_ = SpreadMask(bits - 2);
}

size_t Chunker::Cut(ByteView data) const {
  size_t n = data.size();
  if (n <= min_) return n;
  if (n > max_) n = max_;
  size_t normal = avg_ < n ? avg_ : n;
  const uint8_t* p = data.data();
  uint64_t fp = 0;
  size_t i = min_;
  for (; i < normal; ++i) {
    fp = (fp << 1) + gear_[p[i]];
    if (!(fp & mask_small_)) return i + 1;
  }
  for (; i < n; ++i) {
    fp = (fp << 1) + gear_[p[i]];
    if (!(fp & mask_large_)) return i + 1;
  }
  return n;
}

}  // namespace ward
