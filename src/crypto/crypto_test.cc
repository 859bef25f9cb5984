#include "crypto/crypto.h"

#include <gtest/gtest.h>
#include <openssl/hmac.h>
#include <sodium.h>

namespace ward::crypto {
namespace {

class CryptoTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(Init().ok()); }
};

TEST_F(CryptoTest, SealMatchesLibsodiumXChaCha20Poly1305) {
  Key key = Key::Random();
  for (size_t n : {0, 1, 63, 64, 65, 4096, 1000003}) {
    Bytes plain = RandomBytes(n);
    Bytes sealed;
    Seal(key, plain, &sealed);
    ASSERT_EQ(sealed.size(), n + kSealOverhead);
    // Decrypt with libsodium's reference construction.
    Bytes back(n);
    unsigned long long back_len = 0;
    ASSERT_EQ(crypto_aead_xchacha20poly1305_ietf_decrypt(
                  back.data(), &back_len, nullptr, sealed.data() + kNonceSize,
                  sealed.size() - kNonceSize, nullptr, 0, sealed.data(), key.data()),
              0)
        << "size " << n;
    EXPECT_EQ(back, plain);
    // And the other way round.
    Bytes theirs(kNonceSize + n + kTagSize);
    RandomBytes(std::span<uint8_t>(theirs.data(), kNonceSize));
    unsigned long long clen = 0;
    crypto_aead_xchacha20poly1305_ietf_encrypt(theirs.data() + kNonceSize, &clen, plain.data(), n,
                                               nullptr, 0, nullptr, theirs.data(), key.data());
    Bytes opened;
    ASSERT_TRUE(Open(key, theirs, &opened).ok());
    EXPECT_EQ(opened, plain);
  }
}

TEST_F(CryptoTest, SealInPlaceMatchesSeal) {
  Key key = Key::Random();
  for (size_t n : {0, 1, 100, 1 << 20}) {
    Bytes plain = RandomBytes(n);
    Bytes buf = ToBytes("prefix");
    buf.resize(buf.size() + kNonceSize);
    buf.insert(buf.end(), plain.begin(), plain.end());
    SealInPlace(key, &buf, 6);
    ASSERT_EQ(buf.size(), 6 + n + kSealOverhead);
    EXPECT_EQ(AsString(ByteView(buf).first(6)), "prefix");
    Bytes opened;
    ASSERT_TRUE(Open(key, ByteView(buf).subspan(6), &opened).ok());
    EXPECT_EQ(opened, plain);
  }
}

TEST_F(CryptoTest, OpenRejectsEveryFlippedBitAndTruncation) {
  Key key = Key::Random();
  Bytes plain = ToBytes("ward keeps every byte honest");
  Bytes sealed;
  Seal(key, plain, &sealed);
  for (size_t i = 0; i < sealed.size() * 8; i += 7) {
    Bytes bad = sealed;
    bad[i / 8] ^= uint8_t(1 << (i % 8));
    Bytes out;
    EXPECT_EQ(Open(key, bad, &out).code(), StatusCode::kDataLoss) << "bit " << i;
    EXPECT_TRUE(out.empty());
  }
  Bytes out;
  EXPECT_EQ(Open(key, ByteView(sealed).first(sealed.size() - 1), &out).code(),
            StatusCode::kDataLoss);
  EXPECT_EQ(Open(key, ByteView(sealed).first(10), &out).code(), StatusCode::kDataLoss);
  EXPECT_EQ(Open(Key::Random(), sealed, &out).code(), StatusCode::kDataLoss);
}

TEST_F(CryptoTest, SealUsesFreshNonces) {
  Key key = Key::Random();
  Bytes a, b;
  Seal(key, ToBytes("same"), &a);
  Seal(key, ToBytes("same"), &b);
  EXPECT_NE(a, b);
}

TEST_F(CryptoTest, BlobMacIsHmacSha256) {
  Key key = Key::Random();
  BlobMac mac(key);
  for (size_t n : {0, 1, 55, 56, 64, 1000, 1 << 20}) {
    Bytes data = RandomBytes(n);
    uint8_t expect[32];
    unsigned int len = 0;
    HMAC(EVP_sha256(), key.data(), kKeySize, data.data(), data.size(), expect, &len);
    EXPECT_EQ(mac.Sum(data).Hex(), HexEncode(ByteView(expect, 32))) << "size " << n;
  }
}

TEST_F(CryptoTest, BlobMacRfc4231TestCase2) {
  // RFC 4231 test case 2 uses a 4-byte key ("Jefe"), zero-padded like ours.
  uint8_t k[32] = {'J', 'e', 'f', 'e'};
  BlobMac mac(Key::FromBytes(ByteView(k, 32)));
  EXPECT_EQ(mac.Sum(AsBytes("what do ya want for nothing?")).Hex(),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST_F(CryptoTest, Sha256KnownAnswer) {
  EXPECT_EQ(Sha256(AsBytes("abc")).Hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  Sha256Stream s;
  s.Update(AsBytes("a"));
  s.Update(AsBytes("bc"));
  EXPECT_EQ(s.Finish(), Sha256(AsBytes("abc")));
}

TEST_F(CryptoTest, DeriveKeyIsDeterministicAndPasswordSensitive) {
  KdfParams p = DefaultKdfParams();
  p.memory = 1 << 20;
  p.ops = 1;
  auto a = DeriveKey("secret", p);
  auto b = DeriveKey("secret", p);
  auto c = DeriveKey("Secret", p);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ(*a, *b);
  EXPECT_FALSE(*a == *c);
}

TEST_F(CryptoTest, DeriveKeyRejectsHostileParameters) {
  KdfParams p = DefaultKdfParams();
  p.memory = 1ull << 40;
  EXPECT_EQ(DeriveKey("x", p).status().code(), StatusCode::kInvalidArgument);
  p = DefaultKdfParams();
  p.algorithm = "md5";
  EXPECT_EQ(DeriveKey("x", p).status().code(), StatusCode::kInvalidArgument);
  p = DefaultKdfParams();
  p.salt.resize(3);
  EXPECT_EQ(DeriveKey("x", p).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace ward::crypto
