#include "chunker/chunker.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>

namespace ward {
namespace {

Bytes Pseudorandom(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  Bytes b(n);
  for (auto& c : b) c = static_cast<uint8_t>(rng());
  return b;
}

ChunkerParams Params(const char* secret = "test-secret") {
  ChunkerParams p;
  p.secret = ToBytes(secret);
  return p;
}

std::vector<size_t> Chunk(const Chunker& c, ByteView data) {
  std::vector<size_t> cuts;
  size_t pos = 0;
  while (pos < data.size()) {
    size_t n = c.Cut(data.subspan(pos));
    cuts.push_back(n);
    pos += n;
  }
  return cuts;
}

TEST(ChunkerTest, SizesStayWithinBoundsAndAverageNearTarget) {
  Chunker c(Params());
  Bytes data = Pseudorandom(64 << 20, 1);
  auto cuts = Chunk(c, data);
  size_t total = 0;
  for (size_t i = 0; i < cuts.size(); ++i) {
    total += cuts[i];
    EXPECT_LE(cuts[i], c.max_size());
    if (i + 1 < cuts.size()) {
      EXPECT_GT(cuts[i], c.min_size());
    }
  }
  EXPECT_EQ(total, data.size());
  double avg = double(total) / cuts.size();
  EXPECT_GT(avg, 0.8 * c.avg_size()) << cuts.size() << " chunks";
  EXPECT_LT(avg, 1.6 * c.avg_size()) << cuts.size() << " chunks";
}

TEST(ChunkerTest, BoundariesResynchroniseAfterAnInsertion) {
  // Dedup depends on this: inserting bytes near the front must leave the cut
  // points further on unchanged (shifted by the insertion).
  Chunker c(Params());
  Bytes data = Pseudorandom(32 << 20, 2);
  Bytes edited = data;
  Bytes insert = Pseudorandom(1000, 3);
  edited.insert(edited.begin() + (3 << 20), insert.begin(), insert.end());

  auto ends = [](const std::vector<size_t>& cuts, size_t shift_after, size_t shift) {
    std::set<size_t> out;
    size_t pos = 0;
    for (size_t n : cuts) {
      pos += n;
      out.insert(pos > shift_after ? pos - shift : pos);
    }
    return out;
  };
  auto a = ends(Chunk(c, data), SIZE_MAX, 0);
  auto b = ends(Chunk(c, edited), 3 << 20, insert.size());
  size_t common = 0;
  for (size_t e : a) common += b.count(e);
  EXPECT_GE(common + 3, a.size()) << "only " << common << " of " << a.size() << " cuts survived";
}

TEST(ChunkerTest, SecretChangesBoundaries) {
  Bytes data = Pseudorandom(16 << 20, 4);
  EXPECT_NE(Chunk(Chunker(Params("a")), data), Chunk(Chunker(Params("b")), data));
  EXPECT_EQ(Chunk(Chunker(Params("a")), data), Chunk(Chunker(Params("a")), data));
}

TEST(ChunkerTest, SmallAndEmptyInputs) {
  Chunker c(Params());
  EXPECT_EQ(c.Cut(ByteView()), 0u);
  Bytes small(100, 7);
  EXPECT_EQ(c.Cut(small), 100u);
  Bytes zeros(20 << 20, 0);  // no boundary in constant data: cut at max
  EXPECT_EQ(c.Cut(zeros), c.max_size());
}

TEST(ChunkerTest, ValidateRejectsBadParameters) {
  ChunkerParams p = Params();
  EXPECT_TRUE(p.Validate().ok());
  p.avg_size = 1000000;
  EXPECT_FALSE(p.Validate().ok());
  p = Params();
  p.min_size = p.avg_size;
  EXPECT_FALSE(p.Validate().ok());
}

}  // namespace
}  // namespace ward
