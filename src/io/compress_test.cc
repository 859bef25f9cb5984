#include "io/compress.h"

#include <gtest/gtest.h>

#include <random>

namespace ward::io {
namespace {

TEST(CompressTest, CompressibleDataRoundTrips) {
  std::string text;
  for (int i = 0; i < 20000; ++i) text += "INSERT INTO t VALUES (" + std::to_string(i) + ");\n";
  Bytes out;
  ASSERT_TRUE(CompressMaybe(AsBytes(text), kDefaultLevel, &out));
  EXPECT_LT(out.size(), text.size() / 4);
  Bytes back;
  ASSERT_TRUE(Decompress(out, text.size(), &back).ok());
  EXPECT_EQ(AsString(back), text);
}

TEST(CompressTest, IncompressibleDataIsSkipped) {
  std::mt19937_64 rng(1);
  Bytes random(1 << 20);
  for (auto& c : random) c = static_cast<uint8_t>(rng());
  Bytes out;
  EXPECT_FALSE(CompressMaybe(random, kDefaultLevel, &out));
  EXPECT_TRUE(out.empty());
  Bytes tiny = {1, 2, 3};
  EXPECT_FALSE(CompressMaybe(tiny, kDefaultLevel, &out));
}

TEST(CompressTest, DamagedFramesAreDataLoss) {
  std::string text(100000, 'x');
  Bytes frame;
  Compress(AsBytes(text), 3, &frame);
  Bytes back;
  EXPECT_EQ(Decompress(frame, text.size() + 1, &back).code(), StatusCode::kDataLoss);
  Bytes cut(frame.begin(), frame.begin() + frame.size() / 2);
  EXPECT_EQ(Decompress(cut, text.size(), &back).code(), StatusCode::kDataLoss);
  EXPECT_TRUE(DecompressAny(frame, 1 << 20, &back).ok());
  EXPECT_EQ(back.size(), text.size());
  EXPECT_EQ(DecompressAny(frame, 10, &back).code(), StatusCode::kDataLoss);
}

}  // namespace
}  // namespace ward::io
