#include "repo/pack.h"

#include <gtest/gtest.h>

#include <random>

namespace ward::repo {
namespace {

Bytes Random(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  Bytes b(n);
  for (auto& c : b) c = static_cast<uint8_t>(rng());
  return b;
}

class PackTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(crypto::Init().ok()); }
  crypto::Key key_ = crypto::Key::Random();
  crypto::BlobMac mac_{crypto::Key::Random()};
};

TEST_F(PackTest, BlobsRoundTripThroughHeader) {
  PackBuilder b(key_);
  std::vector<Bytes> plains = {Random(1000, 1), Bytes(50000, 'a'), Bytes(), Random(300000, 2)};
  for (size_t i = 0; i < plains.size(); ++i) {
    b.Add(i == 1 ? BlobType::kTree : BlobType::kData, mac_.Sum(plains[i]), plains[i], 3);
  }
  auto f = b.Finish();
  EXPECT_EQ(f.id, crypto::Sha256(f.data));
  EXPECT_TRUE(b.empty());
  auto blobs = ParsePackHeader(key_, f.id, f.data.size(), f.data);
  ASSERT_TRUE(blobs.ok()) << blobs.status().ToString();
  ASSERT_EQ(blobs->size(), plains.size());
  for (size_t i = 0; i < plains.size(); ++i) {
    const auto& pb = (*blobs)[i];
    EXPECT_EQ(pb.loc.offset, f.blobs[i].loc.offset);
    EXPECT_EQ(pb.loc.pack, f.id);
    Bytes out;
    ByteView sealed = ByteView(f.data).subspan(pb.loc.offset, pb.loc.length);
    ASSERT_TRUE(OpenBlob(key_, mac_, pb.id, pb.loc, sealed, &out).ok());
    EXPECT_EQ(out, plains[i]);
  }
  EXPECT_TRUE((*blobs)[1].loc.compressed);   // 'aaaa...' compresses
  EXPECT_FALSE((*blobs)[0].loc.compressed);  // random data is stored raw
  EXPECT_EQ((*blobs)[1].loc.type, BlobType::kTree);
}

TEST_F(PackTest, DamageIsDetected) {
  PackBuilder b(key_);
  Bytes plain = Random(5000, 3);
  Id id = mac_.Sum(plain);
  b.Add(BlobType::kData, id, plain, 3);
  auto f = b.Finish();
  // Truncated pack: header length points outside.
  Bytes cut(f.data.begin(), f.data.end() - 10);
  EXPECT_EQ(ParsePackHeader(key_, f.id, cut.size(), cut).status().code(), StatusCode::kDataLoss);
  // Flipped header byte.
  Bytes flipped = f.data;
  flipped[flipped.size() - 20] ^= 1;
  EXPECT_EQ(ParsePackHeader(key_, f.id, flipped.size(), flipped).status().code(),
            StatusCode::kDataLoss);
  // Flipped blob byte: header fine, blob fails.
  Bytes bad = f.data;
  bad[100] ^= 0x40;
  auto blobs = ParsePackHeader(key_, f.id, bad.size(), bad);
  ASSERT_TRUE(blobs.ok());
  Bytes out;
  Status s = OpenBlob(key_, mac_, id, (*blobs)[0].loc,
                      ByteView(bad).subspan(0, (*blobs)[0].loc.length), &out);
  EXPECT_EQ(s.code(), StatusCode::kDataLoss);
  EXPECT_NE(s.message().find(f.id.Short()), std::string::npos) << s.message();
  // Wrong ID: content does not match.
  BlobLocation loc = f.blobs[0].loc;
  EXPECT_EQ(OpenBlob(key_, mac_, mac_.Sum(AsBytes("x")), loc,
                     ByteView(f.data).subspan(0, loc.length), &out)
                .code(),
            StatusCode::kDataLoss);
  // Wrong key.
  EXPECT_EQ(ParsePackHeader(crypto::Key::Random(), f.id, f.data.size(), f.data).status().code(),
            StatusCode::kDataLoss);
}

}  // namespace
}  // namespace ward::repo
