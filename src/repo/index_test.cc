#include "repo/index.h"

#include <gtest/gtest.h>

#include <thread>

#include "crypto/crypto.h"

namespace ward::repo {
namespace {

TEST(IndexTest, FileRoundTrip) {
  IndexFile f;
  f.supersedes = {crypto::RandomId()};
  for (int p = 0; p < 3; ++p) {
    IndexFile::Pack pack{crypto::RandomId(), {}};
    for (int b = 0; b < 5; ++b) {
      PackedBlob pb;
      pb.id = crypto::RandomId();
      pb.loc.pack = pack.id;
      pb.loc.offset = 1000u * b;
      pb.loc.length = 900 + b;
      pb.loc.ulength = 2000 + b;
      pb.loc.type = b % 2 ? BlobType::kTree : BlobType::kData;
      pb.loc.compressed = b % 3 == 0;
      pack.blobs.push_back(pb);
    }
    f.packs.push_back(pack);
  }
  auto back = IndexFile::Decode(f.Encode());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ASSERT_EQ(back->packs.size(), 3u);
  EXPECT_EQ(back->supersedes, f.supersedes);
  for (int p = 0; p < 3; ++p) {
    for (int b = 0; b < 5; ++b) {
      const auto& x = f.packs[p].blobs[b];
      const auto& y = back->packs[p].blobs[b];
      EXPECT_EQ(x.id, y.id);
      EXPECT_EQ(x.loc.pack, y.loc.pack);
      EXPECT_EQ(x.loc.offset, y.loc.offset);
      EXPECT_EQ(x.loc.length, y.loc.length);
      EXPECT_EQ(x.loc.ulength, y.loc.ulength);
      EXPECT_EQ(x.loc.type, y.loc.type);
      EXPECT_EQ(x.loc.compressed, y.loc.compressed);
    }
  }
  Bytes enc = f.Encode();
  for (size_t cut = 0; cut < enc.size(); cut += 17) {
    EXPECT_FALSE(IndexFile::Decode(ByteView(enc).first(cut)).ok()) << cut;
  }
}

TEST(IndexTest, MasterIndexConcurrentAddAndLookup) {
  MasterIndex idx;
  std::vector<std::vector<PackedBlob>> packs(8);
  for (auto& p : packs) {
    Id pack = crypto::RandomId();
    for (int i = 0; i < 1000; ++i) {
      PackedBlob b;
      b.id = crypto::RandomId();
      b.loc.pack = pack;
      b.loc.type = i % 10 == 0 ? BlobType::kTree : BlobType::kData;
      p.push_back(b);
    }
  }
  std::vector<std::thread> threads;
  for (auto& p : packs) threads.emplace_back([&] { idx.AddPack(p[0].loc.pack, p); });
  for (auto& t : threads) t.join();
  EXPECT_EQ(idx.PackCount(), 8u);
  EXPECT_EQ(idx.BlobCount(BlobType::kData), 8u * 900);
  EXPECT_EQ(idx.BlobCount(BlobType::kTree), 8u * 100);
  for (auto& p : packs) {
    for (auto& b : p) {
      auto loc = idx.Lookup(b.loc.type, b.id);
      ASSERT_TRUE(loc.has_value());
      EXPECT_EQ(loc->pack, p[0].loc.pack);
      EXPECT_FALSE(idx.Has(b.loc.type == BlobType::kData ? BlobType::kTree : BlobType::kData, b.id));
    }
    EXPECT_TRUE(idx.IsTreePack(p[0].loc.pack));
  }
}

}  // namespace
}  // namespace ward::repo
