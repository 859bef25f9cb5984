// Byte strings, 256-bit object IDs, hex, and the little binary codec (varints,
// length-prefixed fields) that ward's on-disk formats are written with.
//
// Thread safety: plain values. A Decoder reads a buffer it does not own; the
// buffer must outlive it.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <new>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace ward {

// An allocator that leaves new elements uninitialised on resize(): byte
// buffers are always overwritten right after they grow (reads, ciphertext,
// decompression), and zero-filling them first cost ~3% of a backup.
template <typename T>
struct DefaultInitAllocator : std::allocator<T> {
  template <typename U>
  struct rebind {
    using other = DefaultInitAllocator<U>;
  };
  using std::allocator<T>::allocator;
  template <typename U>
  void construct(U* p) noexcept {
    ::new (static_cast<void*>(p)) U;
  }
  template <typename U, typename... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
};

using Bytes = std::vector<uint8_t, DefaultInitAllocator<uint8_t>>;
using ByteView = std::span<const uint8_t>;

inline ByteView AsBytes(std::string_view s) {
  return ByteView(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}
inline std::string_view AsString(ByteView b) {
  return std::string_view(reinterpret_cast<const char*>(b.data()), b.size());
}
inline Bytes ToBytes(std::string_view s) { return Bytes(s.begin(), s.end()); }

std::string HexEncode(ByteView data);
// Fails on odd length or a non-hex character.
Result<Bytes> HexDecode(std::string_view hex);

std::string Base64Encode(ByteView data);
Result<Bytes> Base64Decode(std::string_view text);

// A 256-bit identifier: a blob ID (keyed hash of plaintext) or a storage
// object name (SHA-256 of the stored bytes).
struct Id {
  std::array<uint8_t, 32> bytes{};

  static constexpr size_t kSize = 32;
  static Result<Id> FromHex(std::string_view hex);
  static Id FromBytes(ByteView b);  // b.size() must be kSize

  std::string Hex() const { return HexEncode(bytes); }
  std::string Short() const { return Hex().substr(0, 8); }
  bool IsZero() const;

  auto operator<=>(const Id&) const = default;
};

struct IdHash {
  size_t operator()(const Id& id) const {
    size_t h;
    std::memcpy(&h, id.bytes.data(), sizeof h);  // IDs are uniformly random
    return h;
  }
};

// Appends little-endian / varint-encoded values to a byte buffer.
class Encoder {
 public:
  explicit Encoder(Bytes* out) : out_(out) {}
  void U8(uint8_t v) { out_->push_back(v); }
  void U32(uint32_t v);
  void U64(uint64_t v);
  void Varint(uint64_t v);
  void SignedVarint(int64_t v);  // zigzag
  void Raw(ByteView b) { out_->insert(out_->end(), b.begin(), b.end()); }
  void Str(std::string_view s);  // varint length + bytes
  void IdRaw(const Id& id) { Raw(id.bytes); }

 private:
  Bytes* out_;
};

// Reads what Encoder wrote; every read fails with kDataLoss past the end.
class Decoder {
 public:
  explicit Decoder(ByteView in) : in_(in) {}
  bool done() const { return pos_ >= in_.size(); }
  size_t remaining() const { return in_.size() - pos_; }
  size_t position() const { return pos_; }

  Result<uint8_t> U8();
  Result<uint32_t> U32();
  Result<uint64_t> U64();
  Result<uint64_t> Varint();
  Result<int64_t> SignedVarint();
  Result<ByteView> Raw(size_t n);
  Result<std::string> Str();
  Result<Id> IdRaw();

 private:
  ByteView in_;
  size_t pos_ = 0;
};

inline void StoreLE32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
}
inline uint32_t LoadLE32(const uint8_t* p) {
  return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}

// Human-readable sizes ("1.50 MiB") and durations ("1h2m3s").
std::string FormatBytes(uint64_t n);
std::string FormatDuration(double seconds);

}  // namespace ward
