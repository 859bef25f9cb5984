#include "base/bytes.h"

#include <fmt/format.h>

namespace ward {

namespace {
constexpr char kHex[] = "0123456789abcdef";
int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
}  // namespace

std::string HexEncode(ByteView data) {
  std::string out(data.size() * 2, '\0');
  for (size_t i = 0; i < data.size(); ++i) {
    out[2 * i] = kHex[data[i] >> 4];
    out[2 * i + 1] = kHex[data[i] & 15];
  }
  return out;
}

Result<Bytes> HexDecode(std::string_view hex) {
  if (hex.size() % 2 != 0) return InvalidArgumentError("odd-length hex string");
  Bytes out(hex.size() / 2);
  for (size_t i = 0; i < out.size(); ++i) {
    int hi = HexValue(hex[2 * i]), lo = HexValue(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return InvalidArgumentError("invalid hex digit in '" + std::string(hex) + "'");
    out[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return out;
}

std::string Base64Encode(ByteView data) {
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= data.size(); i += 3) {
    uint32_t v = uint32_t(data[i]) << 16 | uint32_t(data[i + 1]) << 8 | data[i + 2];
    out += kB64[v >> 18];
    out += kB64[(v >> 12) & 63];
    out += kB64[(v >> 6) & 63];
    out += kB64[v & 63];
  }
  if (size_t rest = data.size() - i; rest > 0) {
    uint32_t v = uint32_t(data[i]) << 16 | (rest == 2 ? uint32_t(data[i + 1]) << 8 : 0);
    out += kB64[v >> 18];
    out += kB64[(v >> 12) & 63];
    out += rest == 2 ? kB64[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

Result<Bytes> Base64Decode(std::string_view text) {
  Bytes out;
  uint32_t acc = 0;
  int bits = 0;
  size_t pad = 0;
  for (char c : text) {
    if (c == '=') {
      ++pad;
      continue;
    }
    if (pad > 0) return InvalidArgumentError("invalid base64: data after padding");
    const char* p = std::strchr(kB64, c);
    if (c == '\0' || p == nullptr) return InvalidArgumentError("invalid base64 character");
    acc = acc << 6 | uint32_t(p - kB64);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<uint8_t>(acc >> bits));
    }
  }
  if (pad > 2) return InvalidArgumentError("invalid base64 padding");
  return out;
}

Result<Id> Id::FromHex(std::string_view hex) {
  if (hex.size() != 2 * kSize) {
    return InvalidArgumentError("'" + std::string(hex) + "' is not a 64-digit hex ID");
  }
  WARD_ASSIGN_OR_RETURN(Bytes b, HexDecode(hex));
  return FromBytes(b);
}

Id Id::FromBytes(ByteView b) {
  Id id;
  assert(b.size() == kSize);
  std::memcpy(id.bytes.data(), b.data(), kSize);
  return id;
}

bool Id::IsZero() const {
  for (uint8_t c : bytes) {
    if (c) return false;
  }
  return true;
}

void Encoder::U32(uint32_t v) {
  for (int i = 0; i < 4; ++i) out_->push_back(static_cast<uint8_t>(v >> (8 * i)));
}
void Encoder::U64(uint64_t v) {
  for (int i = 0; i < 8; ++i) out_->push_back(static_cast<uint8_t>(v >> (8 * i)));
}
void Encoder::Varint(uint64_t v) {
  while (v >= 0x80) {
    out_->push_back(static_cast<uint8_t>(v | 0x80));
    v >>= 7;
  }
  out_->push_back(static_cast<uint8_t>(v));
}
void Encoder::SignedVarint(int64_t v) {
  Varint((static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63));
}
void Encoder::Str(std::string_view s) {
  Varint(s.size());
  Raw(AsBytes(s));
}

namespace {
Status Truncated() { return DataLossError("truncated record"); }
}  // namespace

Result<uint8_t> Decoder::U8() {
  if (remaining() < 1) return Truncated();
  return in_[pos_++];
}
Result<uint32_t> Decoder::U32() {
  if (remaining() < 4) return Truncated();
  uint32_t v = LoadLE32(in_.data() + pos_);
  pos_ += 4;
  return v;
}
Result<uint64_t> Decoder::U64() {
  if (remaining() < 8) return Truncated();
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = v << 8 | in_[pos_ + i];
  pos_ += 8;
  return v;
}
Result<uint64_t> Decoder::Varint() {
  uint64_t v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (remaining() < 1) return Truncated();
    uint8_t b = in_[pos_++];
    v |= uint64_t(b & 0x7f) << shift;
    if (!(b & 0x80)) return v;
  }
  return DataLossError("varint longer than 64 bits");
}
Result<int64_t> Decoder::SignedVarint() {
  WARD_ASSIGN_OR_RETURN(uint64_t u, Varint());
  return static_cast<int64_t>(u >> 1) ^ -static_cast<int64_t>(u & 1);
}
Result<ByteView> Decoder::Raw(size_t n) {
  if (remaining() < n) return Truncated();
  ByteView v = in_.subspan(pos_, n);
  pos_ += n;
  return v;
}
Result<std::string> Decoder::Str() {
  WARD_ASSIGN_OR_RETURN(uint64_t n, Varint());
  WARD_ASSIGN_OR_RETURN(ByteView b, Raw(n));
  return std::string(AsString(b));
}
Result<Id> Decoder::IdRaw() {
  WARD_ASSIGN_OR_RETURN(ByteView b, Raw(Id::kSize));
  return Id::FromBytes(b);
}

std::string FormatBytes(uint64_t n) {
  static const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  double v = static_cast<double>(n);
  int u = 0;
  while (v >= 1024 && u < 5) {
    v /= 1024;
    ++u;
  }
  if (u == 0) return fmt::format("{} B", n);
  return fmt::format("{:.2f} {}", v, kUnits[u]);
}

std::string FormatDuration(double seconds) {
  if (seconds < 0) seconds = 0;
  if (seconds < 60) return fmt::format("{:.1f}s", seconds);
  auto s = static_cast<uint64_t>(seconds);
  if (s < 3600) return fmt::format("{}m{:02}s", s / 60, s % 60);
  return fmt::format("{}h{:02}m{:02}s", s / 3600, (s / 60) % 60, s % 60);
}

}  // namespace ward
