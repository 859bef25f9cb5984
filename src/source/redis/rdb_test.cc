// Unit tests of the RDB parser: CRC-64, LZF, the compact encodings, a real
// Redis 7.0 dump (testdata/sample.rdb, see make-sample-rdb.sh), synthetic
// RDBs for the formats of older and newer Redis versions, and damage: every
// truncation and random byte changes must fail cleanly, never crash (run
// under ASan/UBSan too).
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <random>

#include "source/redis/redis.h"

namespace ward::source {
namespace {

// A Reader over a buffer that hands out at most `step` bytes per call.
class BufferReader : public Reader {
 public:
  explicit BufferReader(ByteView data, size_t step = 1 << 20) : data_(data), step_(step) {}
  Result<size_t> Read(std::span<uint8_t> out) override {
    size_t n = std::min({out.size(), data_.size() - pos_, step_});
    std::memcpy(out.data(), data_.data() + pos_, n);
    pos_ += n;
    return n;
  }

 private:
  ByteView data_;
  size_t step_;
  size_t pos_ = 0;
};

struct Collected : RdbVisitor {
  std::vector<RdbKey> keys;
  std::vector<Bytes> functions;
  int version = 0;
  Status OnHeader(int v) override {
    version = v;
    return Status::OK();
  }
  Status OnKey(RdbKey& k) override {
    keys.push_back(k);
    return Status::OK();
  }
  Status OnFunction(ByteView r) override {
    functions.emplace_back(r.begin(), r.end());
    return Status::OK();
  }
  const RdbKey* Find(const std::string& name) const {
    for (const auto& k : keys) {
      if (k.key == name) return &k;
    }
    return nullptr;
  }
};

Result<RdbInfo> Parse(ByteView data, Collected* c = nullptr, bool capture = true,
                      size_t step = 1 << 20) {
  BufferReader r(data, step);
  RdbParseOptions o;
  o.capture_values = capture;
  return ParseRdb(r, c, o);
}

Bytes LoadSample() {
  std::ifstream f(std::string(WARD_REDIS_TESTDATA) + "/sample.rdb", std::ios::binary);
  std::string s((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  return ToBytes(s);
}

// Bit-by-bit CRC-64/Jones, the definition the table-driven one must match.
uint64_t ReferenceCrc64(ByteView data) {
  uint64_t crc = 0;
  for (uint8_t b : data) {
    for (int i = 0; i < 8; ++i) {
      bool bit = ((crc >> 63) & 1) ^ ((b >> i) & 1);  // reflected input
      crc <<= 1;
      if (bit) crc ^= 0xad93d23594c935a9ULL;
    }
  }
  // Reflected output.
  uint64_t r = 0;
  for (int i = 0; i < 64; ++i) r |= ((crc >> i) & 1) << (63 - i);
  return r;
}

// Builds listpacks entry by entry (strings and small integers).
class LpBuilder {
 public:
  LpBuilder& Str(std::string_view s) {
    Bytes e;
    if (s.size() < 64) {
      e.push_back(uint8_t(0x80 | s.size()));
    } else {
      e.push_back(uint8_t(0xE0 | (s.size() >> 8)));
      e.push_back(uint8_t(s.size() & 0xff));
    }
    e.insert(e.end(), s.begin(), s.end());
    return Entry(e);
  }
  LpBuilder& Int(int64_t v) {
    Bytes e;
    if (v >= 0 && v < 128) {
      e.push_back(uint8_t(v));
    } else {
      e.push_back(0xF4);
      for (int i = 0; i < 8; ++i) e.push_back(uint8_t(uint64_t(v) >> (8 * i)));
    }
    return Entry(e);
  }
  Bytes Build(int declared = -1) const {
    Bytes out(6);
    out.insert(out.end(), body_.begin(), body_.end());
    out.push_back(0xFF);
    uint32_t total = uint32_t(out.size());
    for (int i = 0; i < 4; ++i) out[i] = uint8_t(total >> (8 * i));
    uint16_t n = declared < 0 ? uint16_t(count_) : uint16_t(declared);
    out[4] = uint8_t(n);
    out[5] = uint8_t(n >> 8);
    return out;
  }

 private:
  LpBuilder& Entry(const Bytes& e) {
    body_.insert(body_.end(), e.begin(), e.end());
    size_t l = e.size();  // entries here stay below 16383 bytes
    if (l <= 127) {
      body_.push_back(uint8_t(l));
    } else {
      body_.push_back(uint8_t(l >> 7));
      body_.push_back(uint8_t((l & 127) | 128));
    }
    ++count_;
    return *this;
  }
  Bytes body_;
  int count_ = 0;
};

// Builds ziplists of short strings and small integers.
class ZlBuilder {
 public:
  ZlBuilder& Str(std::string_view s) {
    Bytes e;
    e.push_back(uint8_t(prev_));
    e.push_back(uint8_t(s.size()));  // 00pppppp: < 64 bytes
    e.insert(e.end(), s.begin(), s.end());
    return Entry(e);
  }
  ZlBuilder& Int(int16_t v) {
    Bytes e = {uint8_t(prev_), 0xC0, uint8_t(v & 0xff), uint8_t((v >> 8) & 0xff)};
    return Entry(e);
  }
  Bytes Build() const {
    Bytes out(10);
    out.insert(out.end(), body_.begin(), body_.end());
    out.push_back(0xFF);
    auto put32 = [&](size_t at, uint32_t v) {
      for (int i = 0; i < 4; ++i) out[at + i] = uint8_t(v >> (8 * i));
    };
    put32(0, uint32_t(out.size()));
    put32(4, uint32_t(count_ ? last_ : 10));
    out[8] = uint8_t(count_);
    out[9] = 0;
    return out;
  }

 private:
  ZlBuilder& Entry(const Bytes& e) {
    last_ = 10 + body_.size();
    body_.insert(body_.end(), e.begin(), e.end());
    prev_ = e.size();
    ++count_;
    return *this;
  }
  Bytes body_;
  size_t prev_ = 0, last_ = 10;
  int count_ = 0;
};

// Writes synthetic RDB files.
class RdbWriter {
 public:
  explicit RdbWriter(int version) {
    char h[10];
    std::snprintf(h, sizeof h, "REDIS%04d", version);
    Raw(std::string_view(h, 9));
  }
  RdbWriter& Byte(uint8_t b) {
    out_.push_back(b);
    return *this;
  }
  RdbWriter& Raw(std::string_view s) {
    out_.insert(out_.end(), s.begin(), s.end());
    return *this;
  }
  RdbWriter& Raw(ByteView s) {
    out_.insert(out_.end(), s.begin(), s.end());
    return *this;
  }
  RdbWriter& Le(uint64_t v, int n) {
    for (int i = 0; i < n; ++i) out_.push_back(uint8_t(v >> (8 * i)));
    return *this;
  }
  RdbWriter& Len(uint64_t n) {
    if (n < 64) return Byte(uint8_t(n));
    if (n < 16384) return Byte(uint8_t(0x40 | (n >> 8))).Byte(uint8_t(n & 0xff));
    Byte(0x80);
    for (int i = 3; i >= 0; --i) out_.push_back(uint8_t(n >> (8 * i)));
    return *this;
  }
  RdbWriter& Str(std::string_view s) { return Len(s.size()).Raw(s); }
  RdbWriter& Str(ByteView s) { return Len(s.size()).Raw(s); }
  size_t size() const { return out_.size(); }
  Bytes Finish(bool checksum = true) {
    Byte(0xFF);
    uint64_t crc = checksum ? RdbCrc64(0, out_) : 0;
    Le(crc, 8);
    return out_;
  }

 private:
  Bytes out_;
};

TEST(RdbCrc64, KnownCheckValueAndIncremental) {
  EXPECT_EQ(RdbCrc64(0, AsBytes("123456789")), 0xe9c6d914c4b8d9caULL);
  EXPECT_EQ(ReferenceCrc64(AsBytes("123456789")), 0xe9c6d914c4b8d9caULL);
  std::mt19937_64 rng(7);
  Bytes data(10007);
  for (auto& b : data) b = uint8_t(rng());
  for (size_t len : {0, 1, 7, 8, 9, 63, 64, 1000, 10007}) {
    ByteView v(data.data(), len);
    EXPECT_EQ(RdbCrc64(0, v), ReferenceCrc64(v)) << len;
    size_t cut = len / 3;
    EXPECT_EQ(RdbCrc64(RdbCrc64(0, v.first(cut)), v.subspan(cut)), RdbCrc64(0, v)) << len;
  }
}

TEST(Lzf, DecodesLiteralsAndOverlappingBackReferences) {
  // "abc" literally, then 9 bytes copied from 3 back: a repeating pattern.
  const Bytes in = {2, 'a', 'b', 'c', 0xE0, 0x00, 0x02};
  auto out = LzfDecompress(in, 12);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(AsString(*out), "abcabcabcabc");
  // Short back reference (length 3, distance 1) after a literal.
  auto rle = LzfDecompress(Bytes{0, 'z', 0x20, 0x00}, 4);
  ASSERT_TRUE(rle.ok());
  EXPECT_EQ(AsString(*rle), "zzzz");
}

TEST(Lzf, RejectsEveryKindOfDamage) {
  const Bytes good = {2, 'a', 'b', 'c', 0xE0, 0x00, 0x02};
  EXPECT_FALSE(LzfDecompress(good, 11).ok());                 // declared length too short
  EXPECT_FALSE(LzfDecompress(good, 13).ok());                 // too long
  EXPECT_FALSE(LzfDecompress(Bytes{0x20, 0x05}, 3).ok());     // reference before the start
  EXPECT_FALSE(LzfDecompress(Bytes{5, 'a', 'b'}, 6).ok());    // literal past the input
  EXPECT_FALSE(LzfDecompress(Bytes{0, 'a', 0xE0}, 20).ok());  // reference cut short
  auto huge = LzfDecompress(Bytes{0, 'a'}, size_t(1) << 40);  // impossible ratio: no allocation
  ASSERT_FALSE(huge.ok());
  EXPECT_EQ(huge.status().code(), StatusCode::kDataLoss);
}

// A random valid LZF stream; *out_len receives what it decodes to.
Bytes RandomLzf(std::mt19937& rng, size_t* out_len) {
  Bytes in;
  size_t op = 0;
  const int tokens = 1 + int(rng() % 12);
  for (int t = 0; t < tokens; ++t) {
    if (op == 0 || rng() % 2 == 0) {
      const size_t len = 1 + rng() % 32;
      in.push_back(uint8_t(len - 1));
      for (size_t i = 0; i < len; ++i) in.push_back(uint8_t(rng()));
      op += len;
    } else {
      const size_t back = 1 + rng() % std::min<size_t>(op, 8192);
      const size_t len = 3 + rng() % 262;
      const size_t l = len - 2;
      if (l < 7) {
        in.push_back(uint8_t((l << 5) | ((back - 1) >> 8)));
      } else {
        in.push_back(uint8_t((7 << 5) | ((back - 1) >> 8)));
        in.push_back(uint8_t(l - 7));
      }
      in.push_back(uint8_t((back - 1) & 0xff));
      op += len;
    }
  }
  *out_len = op;
  return in;
}

// LzfCheck (validation without output) agrees with LzfDecompress on valid
// streams and on every kind of damage to them.
TEST(Lzf, CheckAgreesWithDecompress) {
  std::mt19937 rng(5);
  int rejected = 0;
  for (int i = 0; i < 5000; ++i) {
    size_t out_len = 0;
    Bytes in = RandomLzf(rng, &out_len);
    ASSERT_TRUE(LzfDecompress(in, out_len).ok()) << i;
    ASSERT_TRUE(LzfCheck(in, out_len).ok()) << i;
    // Damage: a changed byte, a cut, or a wrong length.
    Bytes bad = in;
    size_t bad_len = out_len;
    switch (rng() % 3) {
      case 0:
        bad[rng() % bad.size()] = uint8_t(rng());
        break;
      case 1:
        bad.resize(rng() % bad.size());
        break;
      default:
        bad_len = rng() % (2 * out_len + 1);
    }
    const bool d = LzfDecompress(bad, bad_len).ok();
    ASSERT_EQ(LzfCheck(bad, bad_len).ok(), d) << i;
    rejected += !d;
  }
  EXPECT_GT(rejected, 2500);
}

TEST(Listpack, ValidAndEveryDamage) {
  Bytes lp = LpBuilder().Str("field").Int(5).Str(std::string(100, 'x')).Int(-123456789).Build();
  auto n = ValidateListpack(lp);
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, 4u);
  EXPECT_TRUE(ValidateListpack(LpBuilder().Build()).ok());             // empty is well-formed
  EXPECT_EQ(*ValidateListpack(LpBuilder().Int(1).Build(0xFFFF)), 1u);  // unknown count

  auto expect_bad = [](Bytes b, const std::string& what) {
    auto r = ValidateListpack(b);
    ASSERT_FALSE(r.ok()) << "accepted: " << what;
    EXPECT_EQ(r.status().code(), StatusCode::kDataLoss);
    EXPECT_NE(r.status().message().find(what), std::string::npos) << r.status().message();
  };
  Bytes bad = lp;
  bad[0] ^= 1;
  expect_bad(bad, "header says");
  expect_bad(LpBuilder().Int(1).Int(2).Build(3), "holds 2");
  bad = lp;
  bad[6 + 1 + 5] ^= 0x40;  // the first entry's back-length
  expect_bad(bad, "back-length");
  bad = lp;
  bad[6] =
      0x80 |
      60;  // first string claims 60 bytes: runs over the following entries' bounds? no: mismatch
  auto r = ValidateListpack(bad);
  EXPECT_FALSE(r.ok());
  bad = lp;
  bad[6] = 0xF9;  // no such encoding
  expect_bad(bad, "unknown encoding");
  bad = lp;
  bad.back() = 0x01;
  expect_bad(bad, "terminator");
  expect_bad(Bytes{7, 0, 0, 0, 0, 0}, "shorter");
  // A 32-bit string length that points far beyond the blob.
  bad = LpBuilder().Str("abc").Build();
  bad[6] = 0xF0;
  expect_bad(bad, "runs past the end");
}

TEST(Ziplist, ValidAndDamaged) {
  Bytes zl = ZlBuilder().Str("a").Int(300).Str("hello").Build();
  auto n = ValidateZiplist(zl);
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, 3u);
  Bytes bad = zl;
  bad[4] += 1;  // tail offset
  EXPECT_FALSE(ValidateZiplist(bad).ok());
  bad = zl;
  bad[10 + 3] = 9;  // second entry's prevlen
  EXPECT_NE(ValidateZiplist(bad).status().message().find("previous entry"), std::string::npos);
  bad = zl;
  bad[8] = 4;  // count
  EXPECT_FALSE(ValidateZiplist(bad).ok());
  bad = zl;
  bad[10 + 1] = 0xC7;  // unknown encoding
  EXPECT_NE(ValidateZiplist(bad).status().message().find("unknown encoding"), std::string::npos);
  bad = zl;
  bad[10 + 1] = 50;  // string longer than the rest
  EXPECT_FALSE(ValidateZiplist(bad).ok());
}

TEST(Intset, ValidAndDamaged) {
  Bytes is = {2, 0, 0, 0, 3, 0, 0, 0, 1, 0, 2, 0, 0, 1};
  EXPECT_EQ(*ValidateIntset(is), 3u);
  Bytes unsorted = {2, 0, 0, 0, 2, 0, 0, 0, 5, 0, 2, 0};
  EXPECT_NE(ValidateIntset(unsorted).status().message().find("ascending"), std::string::npos);
  Bytes width = {3, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0};
  EXPECT_FALSE(ValidateIntset(width).ok());
  Bytes cut = {4, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0};
  EXPECT_FALSE(ValidateIntset(cut).ok());
  EXPECT_FALSE(ValidateIntset(Bytes{2, 0, 0, 0, 0, 0, 0, 0}).ok());  // empty
}

TEST(Zipmap, ValidAndDamaged) {
  // 2 pairs: "a" -> "xy" (1 free byte), "bb" -> "" .
  Bytes zm = {2, 1, 'a', 2, 1, 'x', 'y', 0, 2, 'b', 'b', 0, 0, 0xFF};
  EXPECT_EQ(*ValidateZipmap(zm), 2u);
  Bytes count = zm;
  count[0] = 3;
  EXPECT_FALSE(ValidateZipmap(count).ok());
  Bytes over = zm;
  over[3] = 40;
  EXPECT_FALSE(ValidateZipmap(over).ok());
  Bytes noend = zm;
  noend.pop_back();
  EXPECT_FALSE(ValidateZipmap(noend).ok());
}

// A stream listpack: master entry with fields (a, b), one entry with the
// same fields, one deleted entry with its own field.
Bytes StreamLp() {
  // clang-format off
  return LpBuilder()
      .Int(1).Int(1).Int(2).Str("a").Str("b").Int(0)                   // master: count, deleted, fields, 0
      .Int(2).Int(0).Int(1).Str("va").Str("vb").Int(2 + 3)              // SAMEFIELDS entry
      .Int(1).Int(0).Int(2).Int(1).Str("c").Str("vc").Int(1 + 3 + 2)    // deleted, own fields
      .Build();
  // clang-format on
}

TEST(StreamListpack, CountsLiveEntriesAndChecksStructure) {
  auto n = ValidateStreamListpack(StreamLp());
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, 1u);
  Bytes bad =
      LpBuilder().Int(1).Int(0).Int(1).Str("a").Int(0).Int(2).Int(0).Int(1).Str("v").Int(9).Build();
  EXPECT_NE(ValidateStreamListpack(bad).status().message().find("elements"), std::string::npos);
  Bytes short_lp = LpBuilder().Int(3).Int(0).Int(0).Int(0).Build();
  EXPECT_FALSE(ValidateStreamListpack(short_lp).ok());
  Bytes no_zero = LpBuilder().Int(0).Int(0).Int(0).Int(7).Build();
  EXPECT_FALSE(ValidateStreamListpack(no_zero).ok());
}

TEST(MakeDumpPayload, VersionAndChecksumFooter) {
  Bytes body = {0, 3, 'a', 'b', 'c'};
  Bytes p = MakeDumpPayload(body, 10);
  ASSERT_EQ(p.size(), body.size() + 10);
  EXPECT_EQ(p[5], 10);
  EXPECT_EQ(p[6], 0);
  uint64_t crc = 0;
  for (int i = 7; i >= 0; --i) crc = (crc << 8) | p[7 + i];
  EXPECT_EQ(crc, RdbCrc64(0, ByteView(p.data(), 7)));
}

TEST(ModuleTypeName, DecodesTheNineCharacters) {
  // "ReJSON-RL" encoded as Redis does: 9 characters of 6 bits, then 10 bits of version.
  const std::string name = "ReJSON-RL";
  const std::string cs = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  uint64_t id = 0;
  for (char c : name) id = (id << 6) | cs.find(c);
  id = (id << 10) | 3;
  EXPECT_EQ(ModuleTypeName(id), name);
}

TEST(RdbSample, EveryKeyOfARealRedis7Dump) {
  Bytes rdb = LoadSample();
  ASSERT_GT(rdb.size(), 1000u) << "testdata/sample.rdb missing";
  Collected c;
  auto info = Parse(rdb, &c);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->version, 10);
  EXPECT_EQ(c.version, 10);
  EXPECT_EQ(info->Aux("redis-ver"), "7.0.15");
  EXPECT_TRUE(info->checksum_verified);
  EXPECT_EQ(info->bytes, rdb.size());
  EXPECT_EQ(info->keys, 21u);
  EXPECT_EQ(info->keys_with_expiry, 2u);
  EXPECT_EQ(info->keys_per_db, (std::map<uint64_t, uint64_t>{{0, 19}, {1, 1}, {3, 1}}));
  EXPECT_EQ(info->functions, 1u);
  ASSERT_EQ(c.functions.size(), 1u);
  EXPECT_EQ(c.functions[0][0], 0xF5);
  EXPECT_GT(c.functions[0].size(), 50u);  // the library's code (LZF-compressed here)

  struct Want {
    uint8_t type;
    uint64_t elements;
  };
  const std::map<std::string, Want> want = {
      {"str:short", {kRdbString, 1}},
      {"str:int", {kRdbString, 1}},
      {"str:big", {kRdbString, 1}},
      {"", {kRdbString, 1}},
      {"list:small", {kRdbListQuicklist2, 6}},
      {"list:big", {kRdbListQuicklist2, 3000}},
      {"list:plain", {kRdbListQuicklist2, 3}},
      {"set:int", {kRdbSetIntset, 6}},
      {"set:str", {kRdbSet, 3}},
      {"set:bigint", {kRdbSet, 600}},
      {"zset:small", {kRdbZsetListpack, 3}},
      {"zset:big", {kRdbZset2, 200}},
      {"hash:small", {kRdbHashListpack, 3}},
      {"hash:big", {kRdbHash, 1000}},
      {"stream:s", {kRdbStreamListpacks2, 49}},
      {"db1:key", {kRdbString, 1}},
      {"db3:list", {kRdbListQuicklist2, 3}},
  };
  for (const auto& [name, w] : want) {
    const RdbKey* k = c.Find(name);
    ASSERT_NE(k, nullptr) << name;
    EXPECT_EQ(k->type, w.type) << name << ": " << RdbTypeName(k->type);
    EXPECT_EQ(k->elements, w.elements) << name;
    ASSERT_FALSE(k->value.empty());
    EXPECT_EQ(k->value[0], k->type);
    EXPECT_TRUE(k->lru_idle_s.has_value()) << name << ": the sample is saved with allkeys-lru";
  }
  EXPECT_EQ(c.Find("db1:key")->db, 1u);
  EXPECT_EQ(c.Find("db3:list")->db, 3u);
  EXPECT_EQ(*c.Find("ttl:str")->expire_ms, 4102444800000);
  EXPECT_EQ(*c.Find("ttl:hash")->expire_ms, 4102444800123);
  EXPECT_FALSE(c.Find("str:short")->expire_ms.has_value());
  // Captured values are the exact bytes of the file.
  const RdbKey* s = c.Find("str:short");
  const Bytes expect = {kRdbString, 5, 'h', 'e', 'l', 'l', 'o'};
  EXPECT_EQ(s->value, expect);
  // The int-encoded string: type, 0xC1 (INT16), 12345 little endian.
  const Bytes int16 = {kRdbString, 0xC1, 0x39, 0x30};
  EXPECT_EQ(c.Find("str:int")->value, int16);
  // The LZF string decompresses (parsed) and is stored compressed (captured).
  EXPECT_EQ(c.Find("str:big")->value[1], 0xC3);
  EXPECT_LT(c.Find("str:big")->value.size(), 200u);
  // Byte offsets point at each key's first opcode in the file.
  for (const auto& k : c.keys) {
    ASSERT_LT(k.offset, rdb.size());
    uint8_t first = rdb[k.offset];
    EXPECT_TRUE(first == k.type || first == 0xF8 || first == 0xFC) << k.key;
  }
}

TEST(RdbSample, SameResultWhateverTheReadSizes) {
  Bytes rdb = LoadSample();
  Collected whole, bytewise;
  ASSERT_TRUE(Parse(rdb, &whole).ok());
  auto r = Parse(rdb, &bytewise, true, 1);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(whole.keys.size(), bytewise.keys.size());
  for (size_t i = 0; i < whole.keys.size(); ++i) {
    EXPECT_EQ(whole.keys[i].key, bytewise.keys[i].key);
    EXPECT_EQ(whole.keys[i].value, bytewise.keys[i].value);
  }
  // Without capture: the same keys, no values.
  Collected light;
  ASSERT_TRUE(Parse(rdb, &light, false, 777).ok());
  EXPECT_EQ(light.keys.size(), whole.keys.size());
  EXPECT_TRUE(light.keys[0].value.empty());
}

TEST(RdbSample, EveryTruncationFailsWithDataLoss) {
  Bytes rdb = LoadSample();
  for (size_t len = 0; len < rdb.size(); ++len) {
    auto r = Parse(ByteView(rdb.data(), len), nullptr, false);
    ASSERT_FALSE(r.ok()) << "a " << len << "-byte prefix was accepted";
    ASSERT_EQ(r.status().code(), StatusCode::kDataLoss) << r.status().ToString();
    ASSERT_NE(r.status().message().find("truncated at byte " + std::to_string(len)),
              std::string::npos)
        << r.status().message();
  }
}

TEST(RdbSample, EveryByteChangeIsDetected) {
  Bytes rdb = LoadSample();
  std::mt19937 rng(42);
  int unimplemented = 0;
  for (int i = 0; i < 4000; ++i) {
    Bytes bad = rdb;
    size_t pos = rng() % bad.size();
    uint8_t x = uint8_t(1 + rng() % 255);
    bad[pos] ^= x;
    auto r = Parse(bad, nullptr, false);
    ASSERT_FALSE(r.ok()) << "byte " << pos << " ^= " << int(x) << " went unnoticed";
    if (r.status().code() == StatusCode::kUnimplemented) {
      ++unimplemented;  // e.g. a version digit raised: "newer than this ward reads"
    } else {
      ASSERT_EQ(r.status().code(), StatusCode::kDataLoss) << r.status().ToString();
    }
  }
  EXPECT_LT(unimplemented, 40);
}

// With the checksum switched off (rdbchecksum no), damage must be caught by
// the structure checks or pass harmlessly, and never crash the parser.
TEST(RdbSample, RandomDamageWithoutChecksumNeverCrashes) {
  Bytes rdb = LoadSample();
  std::fill(rdb.end() - 8, rdb.end(), 0);
  ASSERT_TRUE(Parse(rdb).ok());
  std::mt19937 rng(1234);
  int rejected = 0;
  for (int i = 0; i < 3000; ++i) {
    Bytes bad = rdb;
    const int flips = 1 + int(rng() % 4);
    for (int f = 0; f < flips; ++f) bad[9 + rng() % (bad.size() - 17)] = uint8_t(rng());
    Collected c;
    auto r = Parse(bad, &c, true, 1 + rng() % 5000);
    if (!r.ok()) {
      ++rejected;
      EXPECT_TRUE(r.status().code() == StatusCode::kDataLoss ||
                  r.status().code() == StatusCode::kUnimplemented)
          << r.status().ToString();
      EXPECT_NE(r.status().message().find("byte "), std::string::npos) << r.status().message();
    }
  }
  EXPECT_GT(rejected, 1000);
}

TEST(RdbErrors, NamesOffsetKeyAndProblem) {
  Bytes lp = LpBuilder().Str("f").Str("v").Build();
  lp[6 + 2] ^= 0x7f;  // back-length of the first entry
  RdbWriter w(10);
  w.Byte(0xFE).Len(2);
  const size_t key_at = w.size();
  w.Byte(kRdbHashListpack).Str("user:42").Str(lp);
  auto r = Parse(w.Finish());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDataLoss);
  const std::string m = r.status().message();
  EXPECT_NE(m.find("RDB damaged at byte " + std::to_string(key_at + 1 + 8)), std::string::npos)
      << m;
  EXPECT_NE(m.find("db 2, key 'user:42', hash (listpack)"), std::string::npos) << m;
  EXPECT_NE(m.find("back-length"), std::string::npos) << m;

  auto not_rdb = Parse(AsBytes("PK\x03\x04 this is a zip file"));
  EXPECT_NE(not_rdb.status().message().find("not an RDB file"), std::string::npos);
  auto newer = Parse(RdbWriter(13).Finish());
  EXPECT_EQ(newer.status().code(), StatusCode::kUnimplemented);
  Bytes trailing = RdbWriter(10).Finish();
  trailing.push_back('x');
  EXPECT_NE(Parse(trailing).status().message().find("after the end"), std::string::npos);
  auto opcode = Parse(RdbWriter(10).Byte(0xF0).Finish());
  EXPECT_NE(opcode.status().message().find("unknown opcode 240"), std::string::npos);
}

// A Reader failure is passed on as is, not reported as damage.
TEST(RdbErrors, ReaderErrorsPassThrough) {
  struct Failing : Reader {
    Result<size_t> Read(std::span<uint8_t>) override { return UnavailableError("disk went away"); }
  } f;
  auto r = ParseRdb(f, nullptr);
  EXPECT_EQ(r.status(), UnavailableError("disk went away"));
}

TEST(RdbSynthetic, OldFormatsRedis2To6) {
  RdbWriter w(6);
  w.Byte(0xFD).Le(2000000000, 4);  // EXPIRETIME in seconds
  w.Byte(kRdbListZiplist).Str("zl").Str(ZlBuilder().Str("a").Int(7).Build());
  w.Byte(kRdbZsetZiplist).Str("zz").Str(ZlBuilder().Str("m").Str("1.5").Str("n").Int(2).Build());
  w.Byte(kRdbHashZiplist).Str("hz").Str(ZlBuilder().Str("f").Str("v").Build());
  w.Byte(kRdbListQuicklist)
      .Str("ql")
      .Len(2)
      .Str(ZlBuilder().Str("a").Build())
      .Str(ZlBuilder().Int(1).Int(2).Build());
  Bytes zm = {1, 1, 'k', 1, 0, 'v', 0xFF};
  w.Byte(kRdbHashZipmap).Str("zm").Str(zm);
  w.Byte(kRdbZset).Str("z1").Len(3).Str("a").Byte(3).Raw("1.5").Str("b").Byte(254).Str("c").Byte(
      255);
  w.Byte(kRdbList).Str("l").Len(2).Str("x").Byte(0xC0).Byte(0x85);  // an INT8 element
  w.Byte(0xF9).Byte(17);                                            // FREQ
  w.Byte(kRdbSet).Str("s").Len(1).Str("member");
  Collected c;
  auto info = Parse(w.Finish(), &c);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(*c.Find("zl")->expire_ms, 2000000000000);
  EXPECT_EQ(c.Find("zl")->elements, 2u);
  EXPECT_EQ(c.Find("zz")->elements, 2u);
  EXPECT_EQ(c.Find("hz")->elements, 1u);
  EXPECT_EQ(c.Find("ql")->elements, 3u);
  EXPECT_EQ(c.Find("zm")->elements, 1u);
  EXPECT_EQ(c.Find("z1")->elements, 3u);
  EXPECT_EQ(c.Find("l")->elements, 2u);
  EXPECT_EQ(*c.Find("s")->lfu_freq, 17);
  EXPECT_FALSE(c.Find("s")->lru_idle_s.has_value());
  EXPECT_FALSE(c.Find("zz")->expire_ms.has_value());

  // A ziplist zset with an odd number of entries is damage.
  RdbWriter odd(6);
  odd.Byte(kRdbZsetZiplist).Str("odd").Str(ZlBuilder().Str("m").Build());
  EXPECT_NE(Parse(odd.Finish()).status().message().find("not a multiple of 2"), std::string::npos);
  // A text score that is not a number.
  RdbWriter text(6);
  text.Byte(kRdbZset).Str("z").Len(1).Str("a").Byte(3).Raw("1x5");
  EXPECT_NE(Parse(text.Finish()).status().message().find("not a number"), std::string::npos);
}

TEST(RdbSynthetic, NewerFormatsRedis72And74) {
  RdbWriter w(12);
  w.Byte(0xF4).Len(100).Len(5).Len(1);  // SLOT_INFO
  w.Byte(kRdbSetListpack).Str("sl").Str(LpBuilder().Str("a").Str("b").Int(3).Build());
  // Stream v3: one listpack, length 1, IDs, one group with one pending entry
  // and one consumer (seen and active times).
  w.Byte(kRdbStreamListpacks3).Str("st").Len(1).Str(std::string(16, '\0')).Str(StreamLp());
  w.Len(1).Len(2).Len(1).Len(2).Len(1).Len(0).Len(0).Len(2);
  w.Len(1).Str("grp").Len(2).Len(1).Len(1);
  w.Len(1).Raw(std::string(16, '\1')).Le(12345, 8).Len(1);
  w.Len(1).Str("alice").Le(1, 8).Le(2, 8).Len(1).Raw(std::string(16, '\1'));
  w.Byte(kRdbHashListpackEx).Str("hx").Le(99, 8).Str(LpBuilder().Str("f").Str("v").Int(0).Build());
  w.Byte(kRdbHashMetadata)
      .Str("hm")
      .Le(99, 8)
      .Len(2)
      .Len(0)
      .Str("f")
      .Str("v")
      .Len(5)
      .Str("g")
      .Str("w");
  // A module value (any module type ID) and module AUX data.
  w.Byte(kRdbModule2)
      .Str("mod")
      .Len(0x12345678)
      .Len(2)
      .Len(7)
      .Len(5)
      .Str("blob")
      .Len(4)
      .Le(0, 8)
      .Len(0);
  w.Byte(0xF7).Len(0x12345678).Len(2).Len(1).Len(3).Le(0, 4).Len(0);
  Collected c;
  auto info = Parse(w.Finish(), &c);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(c.Find("sl")->elements, 3u);
  EXPECT_EQ(c.Find("st")->elements, 1u);
  EXPECT_EQ(c.Find("hx")->elements, 1u);
  EXPECT_EQ(c.Find("hm")->elements, 2u);
  EXPECT_EQ(c.Find("mod")->elements, 1u);
  EXPECT_EQ(c.Find("mod")->module, ModuleTypeName(0x12345678));
  EXPECT_EQ(info->module_aux, 1u);
  EXPECT_EQ(RdbTypeKind(c.Find("st")->type), "stream");

  RdbWriter module(10);
  module.Byte(kRdbModule2).Str("m").Len(1).Len(9);
  EXPECT_NE(Parse(module.Finish()).status().message().find("unknown module value opcode 9"),
            std::string::npos);
  RdbWriter pre_ga(10);
  pre_ga.Byte(kRdbModulePreGa).Str("m");
  EXPECT_EQ(Parse(pre_ga.Finish()).status().code(), StatusCode::kUnimplemented);
}

TEST(RdbSynthetic, ChecksumZeroMeansNotChecked) {
  Bytes rdb = RdbWriter(9).Byte(kRdbString).Str("k").Str("v").Finish(false);
  auto info = Parse(rdb);
  ASSERT_TRUE(info.ok());
  EXPECT_FALSE(info->checksum_verified);
  // Version 4 files have no checksum at all.
  RdbWriter v4(4);
  v4.Byte(kRdbString).Str("k").Str("v");
  Bytes old = v4.Finish(false);
  old.resize(old.size() - 8);
  auto o = Parse(old);
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->keys, 1u);
}

}  // namespace
}  // namespace ward::source
