// The byte-level pieces of the RDB format: CRC-64, LZF, and validators of the
// compact encodings Redis stores inside values (listpack, ziplist, intset,
// zipmap, stream listpacks). Each validator follows the checks of Redis's
// deep sanitization (listpack.c, ziplist.c, intset.c, zipmap.c, t_stream.c).
#include <algorithm>
#include <charconv>
#include <cstring>

#include "source/redis/rdb.h"

namespace ward::source {

namespace {

uint64_t Load64Le(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}
uint32_t Load32Le(const uint8_t* p) {
  return uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
}
uint16_t Load16Le(const uint8_t* p) { return uint16_t(p[0] | p[1] << 8); }
uint32_t Load32Be(const uint8_t* p) {
  return uint32_t(p[3]) | uint32_t(p[2]) << 8 | uint32_t(p[1]) << 16 | uint32_t(p[0]) << 24;
}

uint64_t Reflect64(uint64_t v) {
  uint64_t r = 0;
  for (int i = 0; i < 64; ++i) {
    r = (r << 1) | (v & 1);
    v >>= 1;
  }
  return r;
}

// Slice-by-8 tables for the reflected Jones polynomial.
struct Crc64Tables {
  uint64_t t[8][256];
  Crc64Tables() {
    const uint64_t poly = Reflect64(0xad93d23594c935a9ULL);
    for (int i = 0; i < 256; ++i) {
      uint64_t c = uint64_t(i);
      for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ poly : c >> 1;
      t[0][i] = c;
    }
    for (int i = 0; i < 256; ++i) {
      for (int k = 1; k < 8; ++k) t[k][i] = (t[k - 1][i] >> 8) ^ t[0][t[k - 1][i] & 0xff];
    }
  }
};

const Crc64Tables& Tables() {
  static const Crc64Tables tables;
  return tables;
}

std::string Hex8(uint8_t b) {
  static const char* d = "0123456789abcdef";
  return std::string("0x") + d[b >> 4] + d[b & 15];
}

Status Bad(const std::string& what) { return DataLossError(what); }

// Redis's lpEncodeBacklen size for an entry of `l` bytes.
size_t BacklenSize(uint64_t l) {
  if (l <= 127) return 1;
  if (l < 16383) return 2;
  if (l < 2097151) return 3;
  if (l < 268435455) return 4;
  return 5;
}

// lpDecodeBacklen: reads right to left from `last`, never below `floor`.
uint64_t DecodeBacklen(const uint8_t* last, const uint8_t* floor) {
  uint64_t val = 0;
  unsigned shift = 0;
  const uint8_t* p = last;
  for (;;) {
    val |= uint64_t(p[0] & 127) << shift;
    if (!(p[0] & 128)) break;
    shift += 7;
    if (p == floor || shift > 28) return UINT64_MAX;
    --p;
  }
  return val;
}

struct LpEntry {
  bool is_int = false;
  int64_t value = 0;
  ByteView str;
};

// Walks a listpack entry by entry, checking each against the blob's bounds.
class LpCursor {
 public:
  explicit LpCursor(ByteView lp) : lp_(lp) {}

  Status Open() {
    if (lp_.size() < 7) {
      return Bad("listpack of " + std::to_string(lp_.size()) +
                 " bytes is shorter than its header and terminator (7 bytes)");
    }
    uint32_t total = Load32Le(lp_.data());
    if (total != lp_.size()) {
      return Bad("listpack header says " + std::to_string(total) + " bytes but it holds " +
                 std::to_string(lp_.size()));
    }
    if (lp_.back() != 0xFF) return Bad("listpack does not end with its terminator byte 0xff");
    declared_ = Load16Le(lp_.data() + 4);
    pos_ = 6;
    return Status::OK();
  }

  // Fills *e and returns true, or returns false at the terminator (after
  // checking the declared count).
  Result<bool> Next(LpEntry* e) {
    const size_t size = lp_.size();
    const uint8_t* p = lp_.data() + pos_;
    const uint8_t b = p[0];
    if (b == 0xFF) {
      if (pos_ != size - 1) {
        return Bad("listpack terminator at offset " + std::to_string(pos_) + " of " +
                   std::to_string(size) + " bytes");
      }
      if (declared_ != 0xFFFF && declared_ != count_) {
        return Bad("listpack header says " + std::to_string(declared_) + " entries but it holds " +
                   std::to_string(count_));
      }
      return false;
    }
    const size_t room = size - 1 - pos_;  // bytes before the terminator
    auto need = [&](size_t n) -> Status {
      if (n > room) {
        return Bad("listpack entry " + std::to_string(count_) + " at offset " +
                   std::to_string(pos_) + " runs past the end of the " + std::to_string(size) +
                   "-byte listpack");
      }
      return Status::OK();
    };
    uint64_t entry = 0;
    e->is_int = true;
    if ((b & 0x80) == 0) {
      e->value = b & 0x7f;
      entry = 1;
    } else if ((b & 0xC0) == 0x80) {
      e->is_int = false;
      entry = 1 + (b & 0x3f);
      WARD_RETURN_IF_ERROR(need(entry));
      e->str = ByteView(p + 1, entry - 1);
    } else if ((b & 0xE0) == 0xC0) {
      WARD_RETURN_IF_ERROR(need(2));
      uint64_t u = (uint64_t(b & 0x1f) << 8) | p[1];
      e->value = u >= (1u << 12) ? int64_t(u) - (1 << 13) : int64_t(u);
      entry = 2;
    } else if ((b & 0xF0) == 0xE0) {
      WARD_RETURN_IF_ERROR(need(2));
      e->is_int = false;
      uint64_t len = (uint64_t(b & 0xF) << 8) | p[1];
      entry = 2 + len;
      WARD_RETURN_IF_ERROR(need(entry));
      e->str = ByteView(p + 2, len);
    } else if (b == 0xF0) {
      WARD_RETURN_IF_ERROR(need(5));
      e->is_int = false;
      uint64_t len = Load32Le(p + 1);
      entry = 5 + len;
      WARD_RETURN_IF_ERROR(need(entry));
      e->str = ByteView(p + 5, len);
    } else if (b == 0xF1) {
      WARD_RETURN_IF_ERROR(need(3));
      e->value = int16_t(Load16Le(p + 1));
      entry = 3;
    } else if (b == 0xF2) {
      WARD_RETURN_IF_ERROR(need(4));
      uint32_t u = uint32_t(p[1]) | uint32_t(p[2]) << 8 | uint32_t(p[3]) << 16;
      e->value = u >= (1u << 23) ? int64_t(u) - (1 << 24) : int64_t(u);
      entry = 4;
    } else if (b == 0xF3) {
      WARD_RETURN_IF_ERROR(need(5));
      e->value = int32_t(Load32Le(p + 1));
      entry = 5;
    } else if (b == 0xF4) {
      WARD_RETURN_IF_ERROR(need(9));
      e->value = int64_t(Load64Le(p + 1));
      entry = 9;
    } else {
      return Bad("listpack entry " + std::to_string(count_) + " at offset " + std::to_string(pos_) +
                 " has the unknown encoding " + Hex8(b));
    }
    const size_t back = BacklenSize(entry);
    WARD_RETURN_IF_ERROR(need(entry + back));
    if (DecodeBacklen(p + entry + back - 1, p + entry) != entry) {
      return Bad("listpack entry " + std::to_string(count_) + " at offset " + std::to_string(pos_) +
                 ": its back-length does not match its length " + std::to_string(entry));
    }
    pos_ += entry + back;
    ++count_;
    return true;
  }

  // The next entry as an integer (integer encodings, or a string holding
  // one), as stream listpacks require.
  Result<int64_t> NextInt(const char* what) {
    LpEntry e;
    WARD_ASSIGN_OR_RETURN(bool more, Next(&e));
    if (!more) return Bad(std::string("stream listpack ends where ") + what + " should be");
    if (e.is_int) return e.value;
    int64_t v = 0;
    const char* b = reinterpret_cast<const char*>(e.str.data());
    auto r = std::from_chars(b, b + e.str.size(), v);
    if (r.ec != std::errc() || r.ptr != b + e.str.size()) {
      return Bad(std::string("stream listpack: ") + what + " at offset " + std::to_string(pos_) +
                 " is not an integer");
    }
    return v;
  }

  Status Skip(int64_t n, const char* what) {
    LpEntry e;
    for (int64_t i = 0; i < n; ++i) {
      WARD_ASSIGN_OR_RETURN(bool more, Next(&e));
      if (!more) return Bad(std::string("stream listpack ends inside ") + what);
    }
    return Status::OK();
  }

  uint64_t count() const { return count_; }

 private:
  ByteView lp_;
  size_t pos_ = 0;
  uint64_t count_ = 0;
  uint32_t declared_ = 0;
};

}  // namespace

uint64_t RdbCrc64(uint64_t crc, ByteView data) {
  const auto& t = Tables().t;
  const uint8_t* p = data.data();
  size_t n = data.size();
  while (n >= 8) {
    crc ^= Load64Le(p);
    crc = t[7][crc & 0xff] ^ t[6][(crc >> 8) & 0xff] ^ t[5][(crc >> 16) & 0xff] ^
          t[4][(crc >> 24) & 0xff] ^ t[3][(crc >> 32) & 0xff] ^ t[2][(crc >> 40) & 0xff] ^
          t[1][(crc >> 48) & 0xff] ^ t[0][crc >> 56];
    p += 8;
    n -= 8;
  }
  while (n--) crc = t[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
  return crc;
}

namespace {

// The LZF walk: decodes `in` into `out` (out_len bytes), or with `out` null
// only follows the output position, checking every bound either way.
Status LzfWalk(ByteView in, size_t out_len, uint8_t* out) {
  // A back reference of at most 264 bytes costs 3 input bytes: nothing
  // decompresses more than 88-fold. Refusing more keeps a damaged length from
  // allocating gigabytes.
  if (out_len / 88 > in.size()) {
    return Bad("LZF string claims " + std::to_string(out_len) + " bytes from " +
               std::to_string(in.size()) + " compressed bytes, which LZF cannot encode");
  }
  const uint8_t* ip = in.data();
  const uint8_t* const in_end = ip + in.size();
  size_t op = 0;
  while (ip < in_end) {
    const unsigned ctrl = *ip++;
    if (ctrl < 32) {
      const size_t len = ctrl + 1;
      if (len > size_t(in_end - ip)) return Bad("LZF literal run goes past the compressed data");
      if (len > out_len - op) return Bad("LZF data decodes to more than the declared length");
      if (out != nullptr) std::memcpy(out + op, ip, len);
      op += len;
      ip += len;
      continue;
    }
    size_t len = ctrl >> 5;
    if (len == 7) {
      if (ip >= in_end) return Bad("LZF back reference cut short");
      len += *ip++;
    }
    if (ip >= in_end) return Bad("LZF back reference cut short");
    const size_t back = ((ctrl & 0x1f) << 8) + *ip++ + 1;
    len += 2;
    if (back > op) return Bad("LZF back reference points before the start of the string");
    if (len > out_len - op) return Bad("LZF data decodes to more than the declared length");
    if (out != nullptr) {
      uint8_t* dst = out + op;
      const uint8_t* src = dst - back;
      if (back >= len) {
        std::memcpy(dst, src, len);
      } else if (back == 1) {
        std::memset(dst, src[0], len);  // a run of one byte
      } else {
        // Overlapping: the `back` bytes before dst repeat; copy period by period.
        for (size_t done = 0; done < len;) {
          const size_t k = std::min(back, len - done);
          std::memcpy(dst + done, src + done, k);
          done += k;
        }
      }
    }
    op += len;
  }
  if (op != out_len) {
    return Bad("LZF data decodes to " + std::to_string(op) + " bytes, not the declared " +
               std::to_string(out_len));
  }
  return Status::OK();
}

}  // namespace

Result<Bytes> LzfDecompress(ByteView in, size_t out_len) {
  // Checked before allocating: a damaged length must not allocate gigabytes.
  if (out_len / 88 > in.size()) return LzfWalk(in, out_len, nullptr);
  Bytes out(out_len);
  WARD_RETURN_IF_ERROR(LzfWalk(in, out_len, out.data()));
  return out;
}

Status LzfCheck(ByteView in, size_t out_len) { return LzfWalk(in, out_len, nullptr); }

Result<uint64_t> ValidateListpack(ByteView lp) {
  LpCursor c(lp);
  WARD_RETURN_IF_ERROR(c.Open());
  LpEntry e;
  for (;;) {
    WARD_ASSIGN_OR_RETURN(bool more, c.Next(&e));
    if (!more) return c.count();
  }
}

Result<uint64_t> ValidateStreamListpack(ByteView lp) {
  LpCursor c(lp);
  WARD_RETURN_IF_ERROR(c.Open());
  WARD_ASSIGN_OR_RETURN(int64_t live, c.NextInt("the master entry's count"));
  WARD_ASSIGN_OR_RETURN(int64_t deleted, c.NextInt("the master entry's deleted count"));
  WARD_ASSIGN_OR_RETURN(int64_t master_fields, c.NextInt("the master entry's field count"));
  if (live < 0 || deleted < 0 || master_fields < 0) {
    return Bad("stream listpack master entry has a negative count");
  }
  WARD_RETURN_IF_ERROR(c.Skip(master_fields, "the master entry's fields"));
  WARD_ASSIGN_OR_RETURN(int64_t zero, c.NextInt("the master entry terminator"));
  if (zero != 0) return Bad("stream listpack master entry is not terminated by 0");
  for (int64_t i = 0; i < live + deleted; ++i) {
    WARD_ASSIGN_OR_RETURN(int64_t flags, c.NextInt("an entry's flags"));
    WARD_RETURN_IF_ERROR(c.NextInt("an entry's ID").status());
    WARD_RETURN_IF_ERROR(c.NextInt("an entry's ID").status());
    int64_t fields = master_fields, extra = 3;
    if (!(flags & 2)) {  // STREAM_ITEM_FLAG_SAMEFIELDS unset: own field names
      WARD_ASSIGN_OR_RETURN(fields, c.NextInt("an entry's field count"));
      if (fields < 0) return Bad("stream listpack entry has a negative field count");
      WARD_RETURN_IF_ERROR(c.Skip(fields, "an entry's field names"));
      extra += fields + 1;
    }
    WARD_RETURN_IF_ERROR(c.Skip(fields, "an entry's values"));
    WARD_ASSIGN_OR_RETURN(int64_t lp_count, c.NextInt("an entry's element count"));
    if (lp_count != fields + extra) {
      return Bad("stream listpack entry " + std::to_string(i) + " says it has " +
                 std::to_string(lp_count) + " elements, not " + std::to_string(fields + extra));
    }
  }
  LpEntry e;
  WARD_ASSIGN_OR_RETURN(bool more, c.Next(&e));
  if (more) return Bad("stream listpack holds more entries than its master entry counts");
  return uint64_t(live);
}

Result<uint64_t> ValidateZiplist(ByteView zl) {
  const size_t size = zl.size();
  if (size < 11) {
    return Bad("ziplist of " + std::to_string(size) +
               " bytes is shorter than its header and end byte (11 bytes)");
  }
  const uint32_t total = Load32Le(zl.data());
  const uint32_t tail = Load32Le(zl.data() + 4);
  const uint16_t declared = Load16Le(zl.data() + 8);
  if (total != size) {
    return Bad("ziplist header says " + std::to_string(total) + " bytes but it holds " +
               std::to_string(size));
  }
  if (zl[size - 1] != 0xFF) return Bad("ziplist does not end with its end byte 0xff");
  if (tail > size - 1) return Bad("ziplist tail offset " + std::to_string(tail) + " is outside it");
  size_t pos = 10, last = 10;
  uint64_t count = 0, prev_len = 0;
  while (zl[pos] != 0xFF) {
    const size_t room = size - 1 - pos;
    auto past = [&] {
      return Bad("ziplist entry " + std::to_string(count) + " at offset " + std::to_string(pos) +
                 " runs past the end of the " + std::to_string(size) + "-byte ziplist");
    };
    const uint8_t* p = zl.data() + pos;
    size_t prevlen_size = 1;
    uint64_t prevlen = p[0];
    if (p[0] == 254) {
      if (room < 5) return past();
      prevlen_size = 5;
      prevlen = Load32Le(p + 1);
    }
    if (prevlen != prev_len) {
      return Bad("ziplist entry " + std::to_string(count) + " at offset " + std::to_string(pos) +
                 " says the previous entry has " + std::to_string(prevlen) + " bytes, not " +
                 std::to_string(prev_len));
    }
    if (room < prevlen_size + 1) return past();
    const uint8_t* q = p + prevlen_size;
    const uint8_t enc = q[0];
    size_t header = 1;
    uint64_t len = 0;
    switch (enc & 0xC0) {
      case 0x00:
        len = enc & 0x3f;
        break;
      case 0x40:
        if (room < prevlen_size + 2) return past();
        header = 2;
        len = (uint64_t(enc & 0x3f) << 8) | q[1];
        break;
      case 0x80:
        if (room < prevlen_size + 5) return past();
        header = 5;
        len = Load32Be(q + 1);
        break;
      default:
        if (enc == 0xC0) {
          len = 2;
        } else if (enc == 0xD0) {
          len = 4;
        } else if (enc == 0xE0) {
          len = 8;
        } else if (enc == 0xF0) {
          len = 3;
        } else if (enc == 0xFE) {
          len = 1;
        } else if (enc >= 0xF1 && enc <= 0xFD) {
          len = 0;
        } else {
          return Bad("ziplist entry " + std::to_string(count) + " at offset " +
                     std::to_string(pos) + " has the unknown encoding " + Hex8(enc));
        }
    }
    const uint64_t entry = prevlen_size + header + len;
    if (entry > room) return past();
    last = pos;
    prev_len = entry;
    pos += entry;
    ++count;
  }
  if (pos != size - 1) {
    return Bad("ziplist end byte at offset " + std::to_string(pos) + " of " + std::to_string(size) +
               " bytes");
  }
  if (tail != last) {
    return Bad("ziplist tail offset " + std::to_string(tail) +
               " does not point at its last entry (" + std::to_string(last) + ")");
  }
  if (declared != 0xFFFF && declared != count) {
    return Bad("ziplist header says " + std::to_string(declared) + " entries but it holds " +
               std::to_string(count));
  }
  return count;
}

Result<uint64_t> ValidateIntset(ByteView is) {
  if (is.size() < 8) return Bad("intset of " + std::to_string(is.size()) + " bytes has no header");
  const uint32_t enc = Load32Le(is.data());
  const uint32_t len = Load32Le(is.data() + 4);
  if (enc != 2 && enc != 4 && enc != 8) {
    return Bad("intset has the unknown integer width " + std::to_string(enc));
  }
  if (uint64_t(8) + uint64_t(enc) * len != is.size()) {
    return Bad("intset says " + std::to_string(len) + " integers of " + std::to_string(enc) +
               " bytes but holds " + std::to_string(is.size() - 8) + " bytes of them");
  }
  if (len == 0) return Bad("intset is empty");
  int64_t prev = 0;
  for (uint32_t i = 0; i < len; ++i) {
    const uint8_t* p = is.data() + 8 + size_t(i) * enc;
    int64_t v = enc == 2   ? int64_t(int16_t(Load16Le(p)))
                : enc == 4 ? int64_t(int32_t(Load32Le(p)))
                           : int64_t(Load64Le(p));
    if (i > 0 && v <= prev) {
      return Bad("intset is not strictly ascending at integer " + std::to_string(i));
    }
    prev = v;
  }
  return uint64_t(len);
}

Result<uint64_t> ValidateZipmap(ByteView zm) {
  const size_t size = zm.size();
  if (size < 2) return Bad("zipmap of " + std::to_string(size) + " bytes is too short");
  const uint8_t declared = zm[0];
  size_t pos = 1;
  uint64_t pairs = 0;
  auto past = [&] {
    return Bad("zipmap pair " + std::to_string(pairs) + " runs past the end of the " +
               std::to_string(size) + "-byte zipmap");
  };
  // A length: one byte below 254, or 254 and four bytes.
  auto length = [&](uint64_t* len) -> Status {
    if (pos >= size) return past();
    uint8_t b = zm[pos];
    if (b < 254) {
      *len = b;
      pos += 1;
    } else if (b == 254) {
      if (size - pos < 5) return past();
      *len = Load32Le(zm.data() + pos + 1);
      pos += 5;
    } else {
      return Bad("zipmap pair " + std::to_string(pairs) + " has the length byte 0xff");
    }
    return Status::OK();
  };
  while (pos < size && zm[pos] != 0xFF) {
    uint64_t klen = 0, vlen = 0;
    WARD_RETURN_IF_ERROR(length(&klen));
    if (klen > size - pos) return past();
    pos += klen;
    WARD_RETURN_IF_ERROR(length(&vlen));
    if (pos >= size) return past();
    const uint64_t free = zm[pos++];
    if (vlen + free > size - pos) return past();
    pos += vlen + free;
    ++pairs;
  }
  if (pos != size - 1) return Bad("zipmap does not end with its end byte 0xff");
  if (declared < 254 && declared != pairs) {
    return Bad("zipmap header says " + std::to_string(declared) + " pairs but it holds " +
               std::to_string(pairs));
  }
  return pairs;
}

Bytes MakeDumpPayload(ByteView body, int rdb_version) {
  Bytes out;
  out.reserve(body.size() + 10);
  out.insert(out.end(), body.begin(), body.end());
  out.push_back(uint8_t(rdb_version & 0xff));
  out.push_back(uint8_t((rdb_version >> 8) & 0xff));
  uint64_t crc = RdbCrc64(0, out);
  for (int i = 0; i < 8; ++i) out.push_back(uint8_t(crc >> (8 * i)));
  return out;
}

std::string ModuleTypeName(uint64_t module_id) {
  static const char* kCharset = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string name(9, ' ');
  module_id >>= 10;
  for (int j = 8; j >= 0; --j) {
    name[j] = kCharset[module_id & 63];
    module_id >>= 6;
  }
  return name;
}

}  // namespace ward::source
