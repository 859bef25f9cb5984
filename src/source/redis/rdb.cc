// The streaming RDB parser (see rdb.h). The layout follows Redis's rdb.c:
// rdbLoadRioWithLoadingCtx for the opcodes, rdbLoadObject for the values.
#include "source/redis/rdb.h"

#include <cmath>
#include <cstdlib>
#include <cstring>

namespace ward::source {

namespace {

// The input buffer starts small (many RDBs are small) and doubles while
// reads fill it, up to kMaxBuffer.
constexpr size_t kMinBuffer = 64 << 10;
constexpr size_t kMaxBuffer = 1 << 20;
// Keys longer than Redis accepts (proto-max-bulk-len's default) are damage.
constexpr uint64_t kMaxKeyLength = 512ull << 20;
// Listpacks, ziplists, intsets and zipmaps have 32-bit sizes.
constexpr uint64_t kMaxBlobLength = 0xFFFFFFFFull;

// Printable form of a key for messages: at most 60 bytes, escaped.
std::string Printable(std::string_view s) {
  std::string out;
  static const char* kHex = "0123456789abcdef";
  for (size_t i = 0; i < s.size() && i < 60; ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f && c != '\'' && c != '\\') {
      out += char(c);
    } else {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  if (s.size() > 60) out += "...";
  return out;
}

// Buffered input over a Reader that keeps the running CRC-64 of everything
// consumed and can copy consumed bytes into a capture buffer.
class Input {
 public:
  explicit Input(Reader& r) : r_(r), buf_(kMinBuffer) {}

  uint64_t offset() const { return base_ + pos_; }
  // Bytes received so far (where a truncated stream ends).
  uint64_t received() const { return base_ + end_; }
  bool truncated() const { return truncated_; }

  // Makes n bytes (n <= kMinBuffer) available at Peek().
  Status Need(size_t n) {
    if (end_ - pos_ >= n) return Status::OK();
    return Refill(n);
  }
  const uint8_t* Peek() const { return buf_.data() + pos_; }
  void Advance(size_t n) { pos_ += n; }

  Result<uint8_t> Byte() {
    if (pos_ == end_) WARD_RETURN_IF_ERROR(Refill(1));
    return buf_[pos_++];
  }

  // Consumes n bytes (n <= kMinBuffer) and returns where they are.
  Result<const uint8_t*> Take(size_t n) {
    WARD_RETURN_IF_ERROR(Need(n));
    const uint8_t* p = buf_.data() + pos_;
    pos_ += n;
    return p;
  }

  // Appends n bytes to *out, growing it as the bytes arrive (a damaged
  // length fails at the end of the stream, not with a huge allocation).
  Status ReadAppend(Bytes* out, uint64_t n) {
    while (n > 0) {
      if (pos_ == end_) WARD_RETURN_IF_ERROR(Refill(1));
      size_t take = size_t(std::min<uint64_t>(n, end_ - pos_));
      out->insert(out->end(), buf_.data() + pos_, buf_.data() + pos_ + take);
      pos_ += take;
      n -= take;
    }
    return Status::OK();
  }

  Status Skip(uint64_t n) {
    while (n > 0) {
      if (pos_ == end_) WARD_RETURN_IF_ERROR(Refill(1));
      size_t take = size_t(std::min<uint64_t>(n, end_ - pos_));
      pos_ += take;
      n -= take;
    }
    return Status::OK();
  }

  void BeginCapture(Bytes* out) {
    Flush();
    capture_ = out;
  }
  void EndCapture() {
    Flush();
    capture_ = nullptr;
  }

  // CRC-64 of every byte consumed so far.
  uint64_t Crc() {
    Flush();
    return crc_;
  }

  // True if the stream has no byte left.
  Result<bool> AtEnd() {
    if (pos_ < end_) return false;
    Status s = Refill(1);
    if (s.ok()) return false;
    if (truncated_) return true;
    return s;
  }

 private:
  void Flush() {
    if (pos_ > mark_) {
      ByteView v(buf_.data() + mark_, pos_ - mark_);
      crc_ = RdbCrc64(crc_, v);
      if (capture_) capture_->insert(capture_->end(), v.begin(), v.end());
      mark_ = pos_;
    }
  }

  Status Refill(size_t n) {
    Flush();
    const size_t have = end_ - pos_;
    if (pos_ > 0) {
      std::memmove(buf_.data(), buf_.data() + pos_, have);
      base_ += pos_;
      pos_ = mark_ = 0;
      end_ = have;
    }
    while (end_ < n) {
      if (filled_ && buf_.size() < kMaxBuffer) buf_.resize(buf_.size() * 2);
      const size_t room = buf_.size() - end_;
      WARD_ASSIGN_OR_RETURN(size_t got, r_.Read(std::span<uint8_t>(buf_.data() + end_, room)));
      if (got == 0) {
        truncated_ = true;
        return OutOfRangeError("end of stream");
      }
      filled_ = got == room;
      end_ += got;
    }
    return Status::OK();
  }

  Reader& r_;
  Bytes buf_;
  size_t pos_ = 0, end_ = 0, mark_ = 0;
  uint64_t base_ = 0;  // stream offset of buf_[0]
  uint64_t crc_ = 0;
  Bytes* capture_ = nullptr;
  bool truncated_ = false;
  bool filled_ = false;  // the last read filled the buffer: grow it
};

bool IsValueType(uint8_t t) { return t <= 7 || (t >= 9 && t <= 25); }

class Parser {
 public:
  Parser(Reader& r, RdbVisitor* visitor, const RdbParseOptions& options)
      : in_(r), visitor_(visitor), options_(options) {}

  Result<RdbInfo> Run() {
    Status s = Body();
    if (s.ok()) return std::move(info_);
    if (in_.truncated() && s.code() == StatusCode::kOutOfRange) {
      return DataLossError(
          "RDB truncated at byte " + std::to_string(in_.received()) + Context() +
          ": the data ends where more was expected (an interrupted transfer or a cut file)");
    }
    return s;
  }

 private:
  // " (db 0, key 'k', hash (listpack))" while in a key, else where we are.
  std::string Context() const {
    if (in_key_) {
      return " (db " + std::to_string(key_.db) + ", key '" + Printable(key_.key) + "', " +
             RdbTypeName(key_.type) + ")";
    }
    if (where_ == nullptr) return "";
    std::string w = where_;
    if (where_module_) w += " of module " + ModuleTypeName(module_id_);
    if (where_type_) w += " of type " + RdbTypeName(type_);
    return " (" + w + ")";
  }

  // A damage error at the current offset.
  Status Damaged(const std::string& what) const { return DamagedAt(in_.offset(), what); }
  Status DamagedAt(uint64_t offset, const std::string& what) const {
    return DataLossError("RDB damaged at byte " + std::to_string(offset) + Context() + ": " + what);
  }

  Result<uint64_t> LoadLe(size_t n) {
    WARD_ASSIGN_OR_RETURN(const uint8_t* p, in_.Take(n));
    uint64_t v = 0;
    for (size_t i = n; i-- > 0;) v = (v << 8) | p[i];
    return v;
  }

  // rdbLoadLen: a length, or (with *encoded) a special string encoding.
  Result<uint64_t> Len(bool* encoded) {
    const uint64_t at = in_.offset();
    WARD_ASSIGN_OR_RETURN(uint8_t b, in_.Byte());
    *encoded = false;
    switch (b >> 6) {
      case 0:
        return uint64_t(b & 0x3f);
      case 1: {
        WARD_ASSIGN_OR_RETURN(uint8_t b2, in_.Byte());
        return (uint64_t(b & 0x3f) << 8) | b2;
      }
      case 2:
        if (b == 0x80 || b == 0x81) {
          const size_t n = b == 0x80 ? 4 : 8;
          WARD_ASSIGN_OR_RETURN(const uint8_t* p, in_.Take(n));
          uint64_t v = 0;
          for (size_t i = 0; i < n; ++i) v = (v << 8) | p[i];
          return v;
        }
        return DamagedAt(at, "invalid length byte 0x" + HexEncode(ByteView(&b, 1)));
      default:
        *encoded = true;
        return uint64_t(b & 0x3f);
    }
  }

  // A plain length (no special encoding allowed).
  Result<uint64_t> Len(const char* what) {
    const uint64_t at = in_.offset();
    bool encoded = false;
    WARD_ASSIGN_OR_RETURN(uint64_t v, Len(&encoded));
    if (encoded)
      return DamagedAt(at,
                       std::string("expected a length for ") + what + ", found a string encoding");
    return v;
  }

  // Reads an RDB string into *out (integers as decimal text, LZF
  // decompressed). `max` bounds the length a valid RDB can have here.
  Status ReadString(Bytes* out, uint64_t max, const char* what) {
    out->clear();
    const uint64_t at = in_.offset();
    bool encoded = false;
    WARD_ASSIGN_OR_RETURN(uint64_t len, Len(&encoded));
    if (!encoded) {
      if (len > max) {
        return DamagedAt(at, std::string(what) + " claims " + std::to_string(len) + " bytes");
      }
      return in_.ReadAppend(out, len);
    }
    switch (len) {
      case 0:
      case 1:
      case 2: {
        const size_t n = size_t(1) << len;
        WARD_ASSIGN_OR_RETURN(uint64_t u, LoadLe(n));
        int64_t v = n == 1   ? int64_t(int8_t(u))
                    : n == 2 ? int64_t(int16_t(u))
                             : int64_t(int32_t(u));
        std::string text = std::to_string(v);
        out->assign(text.begin(), text.end());
        return Status::OK();
      }
      case 3:
        return ReadLzf(out, max, what, at);
      default:
        return DamagedAt(
            at, std::string(what) + " has the unknown string encoding " + std::to_string(len));
    }
  }

  // An LZF string: decompressed into *out, or only checked if out is null;
  // *length receives its decompressed length.
  Status ReadLzf(Bytes* out, uint64_t max, const char* what, uint64_t at,
                 uint64_t* length = nullptr) {
    WARD_ASSIGN_OR_RETURN(uint64_t clen, Len("a compressed string's length"));
    WARD_ASSIGN_OR_RETURN(uint64_t ulen, Len("a compressed string's length"));
    if (ulen > max || ulen / 88 > clen) {
      return DamagedAt(at, std::string(what) + " claims " + std::to_string(ulen) + " bytes from " +
                               std::to_string(clen) + " LZF-compressed bytes");
    }
    if (length) *length = ulen;
    lzf_.clear();
    WARD_RETURN_IF_ERROR(in_.ReadAppend(&lzf_, clen));
    if (out == nullptr) {
      Status s = LzfCheck(lzf_, size_t(ulen));
      if (!s.ok()) return DamagedAt(at, std::string(what) + ": " + s.message());
      return Status::OK();
    }
    auto d = LzfDecompress(lzf_, size_t(ulen));
    if (!d.ok()) return DamagedAt(at, std::string(what) + ": " + d.status().message());
    *out = std::move(*d);
    return Status::OK();
  }

  // Consumes an RDB string without keeping it (LZF data is still checked);
  // *length receives its length (1 for integers).
  Status SkipString(const char* what, uint64_t* length = nullptr) {
    const uint64_t at = in_.offset();
    bool encoded = false;
    WARD_ASSIGN_OR_RETURN(uint64_t len, Len(&encoded));
    if (length) *length = encoded ? 1 : len;
    if (!encoded) return in_.Skip(len);
    if (len <= 2) return in_.Skip(size_t(1) << len);
    if (len == 3) return ReadLzf(nullptr, UINT64_MAX, what, at, length);
    return DamagedAt(at,
                     std::string(what) + " has the unknown string encoding " + std::to_string(len));
  }

  // Reads a string holding an encoded container and validates it with `fn`.
  template <typename Fn>
  Result<uint64_t> Blob(const char* what, Fn fn) {
    const uint64_t at = in_.offset();
    WARD_RETURN_IF_ERROR(ReadString(&blob_, kMaxBlobLength, what));
    auto n = fn(ByteView(blob_));
    if (!n.ok()) return DamagedAt(at, n.status().message());
    return *n;
  }

  Status Body() {
    where_ = "in the header";
    WARD_ASSIGN_OR_RETURN(const uint8_t* h, in_.Take(9));
    if (std::memcmp(h, "REDIS", 5) != 0) {
      return DamagedAt(0, "this is not an RDB file: it starts with '" +
                              Printable(std::string_view(reinterpret_cast<const char*>(h), 5)) +
                              "', not 'REDIS'");
    }
    int version = 0;
    for (int i = 5; i < 9; ++i) {
      if (h[i] < '0' || h[i] > '9') return DamagedAt(5, "the RDB version is not a number");
      version = version * 10 + (h[i] - '0');
    }
    if (version < 1) return DamagedAt(5, "RDB version 0 does not exist");
    if (version > kMaxRdbVersion) {
      return UnimplementedError("RDB version " + std::to_string(version) +
                                " is newer than this ward reads (up to " +
                                std::to_string(kMaxRdbVersion) + ", Redis 7.4)");
    }
    info_.version = version;
    if (visitor_) WARD_RETURN_IF_ERROR(visitor_->OnHeader(version));

    std::optional<int64_t> expire;
    std::optional<uint64_t> idle;
    std::optional<uint8_t> freq;
    uint64_t db = 0;
    uint64_t record_start = 0;
    bool have_record_start = false;
    for (;;) {
      where_ = nullptr;
      where_module_ = where_type_ = false;
      const uint64_t at = in_.offset();
      if (!have_record_start) {
        record_start = at;
        have_record_start = true;
      }
      WARD_ASSIGN_OR_RETURN(uint8_t op, in_.Byte());
      switch (op) {
        case 0xFF:  // EOF
          return Trailer();
        case 0xFE: {  // SELECTDB
          where_ = "in a SELECTDB opcode";
          WARD_ASSIGN_OR_RETURN(db, Len("the database number"));
          have_record_start = false;
          continue;
        }
        case 0xFD: {  // EXPIRETIME (seconds, 4 bytes)
          WARD_ASSIGN_OR_RETURN(uint64_t s, LoadLe(4));
          expire = int64_t(int32_t(uint32_t(s))) * 1000;
          continue;
        }
        case 0xFC: {  // EXPIRETIME_MS
          WARD_ASSIGN_OR_RETURN(uint64_t ms, LoadLe(8));
          expire = int64_t(ms);
          continue;
        }
        case 0xFB: {  // RESIZEDB
          where_ = "in a RESIZEDB opcode";
          WARD_RETURN_IF_ERROR(Len("the database size").status());
          WARD_RETURN_IF_ERROR(Len("the expires size").status());
          have_record_start = false;
          continue;
        }
        case 0xFA: {  // AUX
          where_ = "in an AUX field";
          Bytes k, v;
          WARD_RETURN_IF_ERROR(ReadString(&k, kMaxKeyLength, "an AUX field name"));
          WARD_RETURN_IF_ERROR(ReadString(&v, kMaxKeyLength, "an AUX field value"));
          info_.aux.emplace_back(std::string(AsString(k)), std::string(AsString(v)));
          if (visitor_)
            WARD_RETURN_IF_ERROR(visitor_->OnAux(info_.aux.back().first, info_.aux.back().second));
          have_record_start = false;
          continue;
        }
        case 0xF9: {  // FREQ
          WARD_ASSIGN_OR_RETURN(freq, in_.Byte());
          continue;
        }
        case 0xF8: {  // IDLE
          WARD_ASSIGN_OR_RETURN(idle, Len("the idle time"));
          continue;
        }
        case 0xF7: {  // MODULE_AUX
          where_ = "in module auxiliary data";
          WARD_ASSIGN_OR_RETURN(module_id_, Len("a module ID"));
          where_module_ = true;
          WARD_ASSIGN_OR_RETURN(uint64_t when_op, Len("a module opcode"));
          if (when_op != 2)
            return Damaged("module auxiliary data does not start with its 'when' field");
          WARD_RETURN_IF_ERROR(Len("the module 'when' field").status());
          WARD_RETURN_IF_ERROR(ModuleValue());
          ++info_.module_aux;
          have_record_start = false;
          continue;
        }
        case 0xF6:  // FUNCTION_PRE_GA
          return UnimplementedError(
              "RDB byte " + std::to_string(at) +
              ": functions in the Redis 7.0 release-candidate format are not supported");
        case 0xF5: {  // FUNCTION2
          where_ = "in a function library";
          function_.assign(1, 0xF5);
          in_.BeginCapture(&function_);
          Status s = SkipString("a function library");
          in_.EndCapture();
          WARD_RETURN_IF_ERROR(s);
          ++info_.functions;
          if (visitor_) WARD_RETURN_IF_ERROR(visitor_->OnFunction(function_));
          have_record_start = false;
          continue;
        }
        case 0xF4: {  // SLOT_INFO
          where_ = "in a SLOT_INFO opcode";
          for (int i = 0; i < 3; ++i) WARD_RETURN_IF_ERROR(Len("slot information").status());
          have_record_start = false;
          continue;
        }
        default:
          break;
      }
      if (!IsValueType(op)) {
        return DamagedAt(at, "unknown opcode " + std::to_string(op) +
                                 " (neither a value type nor an RDB opcode)");
      }
      key_.db = db;
      key_.type = op;
      key_.expire_ms = expire;
      key_.lru_idle_s = idle;
      key_.lfu_freq = freq;
      key_.offset = record_start;
      key_.module.clear();
      key_.key.clear();
      key_.value.clear();
      where_ = "in the name of a key";
      type_ = op;
      where_type_ = true;
      WARD_RETURN_IF_ERROR(ReadString(&blob_, kMaxKeyLength, "a key name"));
      key_.key.assign(AsString(blob_));
      in_key_ = true;
      if (options_.capture_values) {
        key_.value.push_back(op);
        in_.BeginCapture(&key_.value);
      }
      auto n = Value(op);
      if (options_.capture_values) in_.EndCapture();
      if (!n.ok()) return n.status();
      key_.elements = *n;
      ++info_.keys;
      ++info_.keys_per_db[db];
      if (expire) ++info_.keys_with_expiry;
      if (visitor_) WARD_RETURN_IF_ERROR(visitor_->OnKey(key_));
      in_key_ = false;
      expire.reset();
      idle.reset();
      freq.reset();
      have_record_start = false;
    }
  }

  Status Trailer() {
    where_ = "in the checksum";
    if (info_.version >= 5) {
      const uint64_t computed = in_.Crc();
      WARD_ASSIGN_OR_RETURN(uint64_t stored, LoadLe(8));
      if (stored != 0 && stored != computed) {
        char buf[80];
        std::snprintf(
            buf, sizeof buf, "the checksum says %016llx but the content hashes to %016llx",
            static_cast<unsigned long long>(stored), static_cast<unsigned long long>(computed));
        return DamagedAt(in_.offset() - 8, buf);
      }
      info_.checksum_verified = stored != 0;
      info_.checksum = stored;
    }
    info_.bytes = in_.offset();
    WARD_ASSIGN_OR_RETURN(bool end, in_.AtEnd());
    if (!end) return DamagedAt(info_.bytes, "unexpected data after the end of the RDB");
    return Status::OK();
  }

  // Module values (type 7) and module AUX data: opcodes until EOF (0).
  Status ModuleValue() {
    for (;;) {
      const uint64_t at = in_.offset();
      WARD_ASSIGN_OR_RETURN(uint64_t op, Len("a module opcode"));
      switch (op) {
        case 0:
          return Status::OK();
        case 1:  // SINT
        case 2:  // UINT
          WARD_RETURN_IF_ERROR(Len("a module integer").status());
          break;
        case 3:  // FLOAT
          WARD_RETURN_IF_ERROR(in_.Skip(4));
          break;
        case 4:  // DOUBLE
          WARD_RETURN_IF_ERROR(in_.Skip(8));
          break;
        case 5:  // STRING
          WARD_RETURN_IF_ERROR(SkipString("a module string"));
          break;
        default:
          return DamagedAt(at, "unknown module value opcode " + std::to_string(op));
      }
    }
  }

  // rdbLoadDoubleValue: a double as length-prefixed text (ZSET version 1).
  Status TextDouble() {
    const uint64_t at = in_.offset();
    WARD_ASSIGN_OR_RETURN(uint8_t len, in_.Byte());
    if (len == 253) return DamagedAt(at, "a sorted set score is NaN");
    if (len > 253) return Status::OK();  // +inf, -inf
    WARD_ASSIGN_OR_RETURN(const uint8_t* p, in_.Take(len));
    char buf[256];
    std::memcpy(buf, p, len);
    buf[len] = '\0';
    char* end = nullptr;
    std::strtod(buf, &end);
    if (len == 0 || end != buf + len) return DamagedAt(at, "a sorted set score is not a number");
    return Status::OK();
  }

  Status BinaryDouble() {
    const uint64_t at = in_.offset();
    WARD_ASSIGN_OR_RETURN(uint64_t bits, LoadLe(8));
    double d;
    std::memcpy(&d, &bits, 8);
    if (std::isnan(d)) return DamagedAt(at, "a sorted set score is NaN");
    return Status::OK();
  }

  Result<uint64_t> Even(Result<uint64_t> n, uint64_t group, uint64_t at, const char* what) {
    if (!n.ok()) return n;
    if (*n % group != 0) {
      return DamagedAt(at, std::string(what) + " holds " + std::to_string(*n) +
                               " entries, not a multiple of " + std::to_string(group));
    }
    return *n / group;
  }

  Result<uint64_t> Value(uint8_t type) {
    switch (type) {
      case kRdbString:
        WARD_RETURN_IF_ERROR(SkipString("the string value"));
        return 1;
      case kRdbList:
      case kRdbSet: {
        WARD_ASSIGN_OR_RETURN(uint64_t n, Len("the number of elements"));
        for (uint64_t i = 0; i < n; ++i) WARD_RETURN_IF_ERROR(SkipString("an element"));
        return n;
      }
      case kRdbZset:
      case kRdbZset2: {
        WARD_ASSIGN_OR_RETURN(uint64_t n, Len("the number of members"));
        for (uint64_t i = 0; i < n; ++i) {
          WARD_RETURN_IF_ERROR(SkipString("a member"));
          WARD_RETURN_IF_ERROR(type == kRdbZset2 ? BinaryDouble() : TextDouble());
        }
        return n;
      }
      case kRdbHash: {
        WARD_ASSIGN_OR_RETURN(uint64_t n, Len("the number of fields"));
        for (uint64_t i = 0; i < n; ++i) {
          WARD_RETURN_IF_ERROR(SkipString("a field"));
          WARD_RETURN_IF_ERROR(SkipString("a value"));
        }
        return n;
      }
      case kRdbHashMetadata:
      case kRdbHashMetadataPreGa: {
        if (type == kRdbHashMetadata) WARD_RETURN_IF_ERROR(in_.Skip(8));  // min expire
        WARD_ASSIGN_OR_RETURN(uint64_t n, Len("the number of fields"));
        for (uint64_t i = 0; i < n; ++i) {
          WARD_RETURN_IF_ERROR(Len("a field's TTL").status());
          WARD_RETURN_IF_ERROR(SkipString("a field"));
          WARD_RETURN_IF_ERROR(SkipString("a value"));
        }
        return n;
      }
      case kRdbModulePreGa:
        return UnimplementedError(
            "RDB byte " + std::to_string(in_.offset()) + Context() +
            ": module values in the Redis 4.0 release-candidate format are not supported");
      case kRdbModule2: {
        WARD_ASSIGN_OR_RETURN(uint64_t id, Len("a module type ID"));
        key_.module = ModuleTypeName(id);
        WARD_RETURN_IF_ERROR(ModuleValue());
        return 1;
      }
      case kRdbHashZipmap:
        return Blob("a zipmap", ValidateZipmap);
      case kRdbListZiplist:
        return Blob("a ziplist", ValidateZiplist);
      case kRdbSetIntset:
        return Blob("an intset", ValidateIntset);
      case kRdbSetListpack:
        return Blob("a listpack", ValidateListpack);
      case kRdbZsetZiplist:
      case kRdbHashZiplist: {
        const uint64_t at = in_.offset();
        return Even(Blob("a ziplist", ValidateZiplist), 2, at, "the ziplist");
      }
      case kRdbZsetListpack:
      case kRdbHashListpack: {
        const uint64_t at = in_.offset();
        return Even(Blob("a listpack", ValidateListpack), 2, at, "the listpack");
      }
      case kRdbHashListpackEx:
      case kRdbHashListpackExPreGa: {
        if (type == kRdbHashListpackEx) WARD_RETURN_IF_ERROR(in_.Skip(8));  // min expire
        const uint64_t at = in_.offset();
        return Even(Blob("a listpack", ValidateListpack), 3, at, "the listpack");
      }
      case kRdbListQuicklist:
      case kRdbListQuicklist2:
        return Quicklist(type);
      case kRdbStreamListpacks:
      case kRdbStreamListpacks2:
      case kRdbStreamListpacks3:
        return Stream(type);
      default:
        return Damaged("unknown value type " + std::to_string(type));
    }
  }

  Result<uint64_t> Quicklist(uint8_t type) {
    WARD_ASSIGN_OR_RETURN(uint64_t nodes, Len("the number of quicklist nodes"));
    uint64_t total = 0;
    for (uint64_t i = 0; i < nodes; ++i) {
      uint64_t container = 2;  // packed
      const uint64_t at = in_.offset();
      if (type == kRdbListQuicklist2) {
        WARD_ASSIGN_OR_RETURN(container, Len("a quicklist node's container"));
        if (container != 1 && container != 2) {
          return DamagedAt(at, "quicklist node " + std::to_string(i) +
                                   " has the unknown container type " + std::to_string(container));
        }
      }
      const uint64_t data_at = in_.offset();
      if (container == 1) {  // plain: one large element
        uint64_t len = 0;
        WARD_RETURN_IF_ERROR(SkipString("a quicklist node", &len));
        if (len == 0) {
          return DamagedAt(data_at, "quicklist node " + std::to_string(i) + " is empty");
        }
        total += 1;
        continue;
      }
      auto n = type == kRdbListQuicklist2 ? Blob("a quicklist node", ValidateListpack)
                                          : Blob("a quicklist node", ValidateZiplist);
      if (!n.ok()) return n.status();
      if (blob_.empty())
        return DamagedAt(data_at, "quicklist node " + std::to_string(i) + " is empty");
      total += *n;
    }
    return total;
  }

  Result<uint64_t> Stream(uint8_t type) {
    WARD_ASSIGN_OR_RETURN(uint64_t nodes, Len("the number of stream listpacks"));
    for (uint64_t i = 0; i < nodes; ++i) {
      const uint64_t at = in_.offset();
      WARD_RETURN_IF_ERROR(ReadString(&blob_, 1024, "a stream node key"));
      if (blob_.size() != 16) {
        return DamagedAt(at,
                         "stream node key has " + std::to_string(blob_.size()) + " bytes, not 16");
      }
      WARD_RETURN_IF_ERROR(Blob("a stream listpack", ValidateStreamListpack).status());
    }
    WARD_ASSIGN_OR_RETURN(uint64_t length, Len("the stream length"));
    if (length > 0 && nodes == 0)
      return Damaged("stream says it has " + std::to_string(length) +
                     " entries but has no listpacks");
    const int ids =
        type >= kRdbStreamListpacks2 ? 7 : 2;  // last ID; first ID, max deleted ID, entries added
    for (int i = 0; i < ids; ++i) WARD_RETURN_IF_ERROR(Len("a stream ID").status());
    WARD_ASSIGN_OR_RETURN(uint64_t groups, Len("the number of consumer groups"));
    for (uint64_t g = 0; g < groups; ++g) {
      WARD_RETURN_IF_ERROR(SkipString("a consumer group name"));
      WARD_RETURN_IF_ERROR(Len("a consumer group ID").status());
      WARD_RETURN_IF_ERROR(Len("a consumer group ID").status());
      if (type >= kRdbStreamListpacks2)
        WARD_RETURN_IF_ERROR(Len("a consumer group offset").status());
      WARD_ASSIGN_OR_RETURN(uint64_t pel, Len("the size of a pending entries list"));
      for (uint64_t p = 0; p < pel; ++p) {
        WARD_RETURN_IF_ERROR(in_.Skip(16 + 8));  // raw ID, delivery time
        WARD_RETURN_IF_ERROR(Len("a delivery count").status());
      }
      WARD_ASSIGN_OR_RETURN(uint64_t consumers, Len("the number of consumers"));
      for (uint64_t c = 0; c < consumers; ++c) {
        WARD_RETURN_IF_ERROR(SkipString("a consumer name"));
        WARD_RETURN_IF_ERROR(
            in_.Skip(type >= kRdbStreamListpacks3 ? 16 : 8));  // seen (and active) time
        WARD_ASSIGN_OR_RETURN(uint64_t owned, Len("the size of a consumer's pending list"));
        for (uint64_t p = 0; p < owned; ++p) WARD_RETURN_IF_ERROR(in_.Skip(16));
      }
    }
    return length;
  }

  Input in_;
  RdbVisitor* visitor_;
  RdbParseOptions options_;
  RdbInfo info_;
  RdbKey key_;
  bool in_key_ = false;
  // Where the parser is, for messages (built only when one is needed).
  const char* where_ = nullptr;
  bool where_module_ = false, where_type_ = false;
  uint64_t module_id_ = 0;
  uint8_t type_ = 0;
  Bytes blob_, lzf_, function_;
};

}  // namespace

std::string RdbInfo::Aux(std::string_view name) const {
  for (const auto& [k, v] : aux) {
    if (k == name) return v;
  }
  return "";
}

std::string_view RdbTypeKind(uint8_t type) {
  switch (type) {
    case kRdbString:
      return "string";
    case kRdbList:
    case kRdbListZiplist:
    case kRdbListQuicklist:
    case kRdbListQuicklist2:
      return "list";
    case kRdbSet:
    case kRdbSetIntset:
    case kRdbSetListpack:
      return "set";
    case kRdbZset:
    case kRdbZset2:
    case kRdbZsetZiplist:
    case kRdbZsetListpack:
      return "zset";
    case kRdbHash:
    case kRdbHashZipmap:
    case kRdbHashZiplist:
    case kRdbHashListpack:
    case kRdbHashMetadataPreGa:
    case kRdbHashListpackExPreGa:
    case kRdbHashMetadata:
    case kRdbHashListpackEx:
      return "hash";
    case kRdbStreamListpacks:
    case kRdbStreamListpacks2:
    case kRdbStreamListpacks3:
      return "stream";
    case kRdbModulePreGa:
    case kRdbModule2:
      return "module";
    default:
      return "";
  }
}

std::string RdbTypeName(uint8_t type) {
  const char* enc = nullptr;
  switch (type) {
    case kRdbString:
      return "string";
    case kRdbList:
    case kRdbSet:
    case kRdbHash:
      enc = "plain";
      break;
    case kRdbZset:
      enc = "skiplist, text scores";
      break;
    case kRdbZset2:
      enc = "skiplist";
      break;
    case kRdbModulePreGa:
    case kRdbModule2:
      return "module value";
    case kRdbHashZipmap:
      enc = "zipmap";
      break;
    case kRdbListZiplist:
    case kRdbZsetZiplist:
    case kRdbHashZiplist:
      enc = "ziplist";
      break;
    case kRdbSetIntset:
      enc = "intset";
      break;
    case kRdbListQuicklist:
      enc = "quicklist";
      break;
    case kRdbListQuicklist2:
      enc = "quicklist 2";
      break;
    case kRdbStreamListpacks:
    case kRdbStreamListpacks2:
    case kRdbStreamListpacks3:
      enc = "listpacks";
      break;
    case kRdbHashListpack:
    case kRdbZsetListpack:
    case kRdbSetListpack:
      enc = "listpack";
      break;
    case kRdbHashMetadata:
    case kRdbHashMetadataPreGa:
      enc = "with field TTLs";
      break;
    case kRdbHashListpackEx:
    case kRdbHashListpackExPreGa:
      enc = "listpack with field TTLs";
      break;
    default:
      return "type " + std::to_string(type);
  }
  return std::string(RdbTypeKind(type)) + " (" + enc + ")";
}

Result<RdbInfo> ParseRdb(Reader& in, RdbVisitor* visitor, const RdbParseOptions& options) {
  Parser p(in, visitor, options);
  return p.Run();
}

}  // namespace ward::source
