#include "storage/backend_conformance.h"

#include <atomic>
#include <random>
#include <set>
#include <thread>

#include "crypto/crypto.h"

namespace ward::storage {
namespace {

Bytes Data(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  Bytes b(n);
  for (auto& c : b) c = static_cast<uint8_t>(rng());
  return b;
}

Handle H(FileType t, uint64_t seed) {
  Bytes b = Data(32, seed * 7919 + static_cast<uint64_t>(t));
  return Handle{t, HexEncode(b)};
}

std::set<std::string> ListNames(Backend* b, FileType t) {
  std::set<std::string> names;
  EXPECT_TRUE(b->List(t, [&](const FileInfo& fi) {
                 names.insert(fi.name);
                 return Status::OK();
               }).ok());
  return names;
}

TEST_P(BackendConformance, SaveThenLoadEveryType) {
  for (FileType t : {FileType::kKey, FileType::kPack, FileType::kIndex, FileType::kSnapshot,
                     FileType::kSession, FileType::kPlan, FileType::kHold}) {
    Handle h = H(t, 1);
    Bytes data = Data(1000 + static_cast<size_t>(t), 2);
    ASSERT_TRUE(backend_->Save(h, data).ok()) << h.ToString();
    auto got = backend_->Load(h, 0, 0);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_EQ(*got, data);
    auto info = backend_->Stat(h);
    ASSERT_TRUE(info.ok());
    EXPECT_EQ(info->size, data.size());
    EXPECT_EQ(ListNames(backend_.get(), t), std::set<std::string>{h.name}) << FileTypeName(t);
  }
}

TEST_P(BackendConformance, ConfigIsASingleObject) {
  EXPECT_EQ(backend_->Stat(Handle::Config()).status().code(), StatusCode::kNotFound);
  Bytes data = Data(200, 3);
  ASSERT_TRUE(backend_->Save(Handle::Config(), data).ok());
  EXPECT_EQ(*backend_->Load(Handle::Config(), 0, 0), data);
  EXPECT_EQ(backend_->Save(Handle::Config(), Data(10, 4)).code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(*backend_->Load(Handle::Config(), 0, 0), data);
}

TEST_P(BackendConformance, SaveNeverReplaces) {
  Handle h = H(FileType::kSnapshot, 5);
  Bytes first = Data(100, 6);
  ASSERT_TRUE(backend_->Save(h, first).ok());
  EXPECT_EQ(backend_->Save(h, Data(50, 7)).code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(*backend_->Load(h, 0, 0), first);
}

TEST_P(BackendConformance, EmptyObject) {
  Handle h = H(FileType::kIndex, 8);
  ASSERT_TRUE(backend_->Save(h, Bytes()).ok());
  auto got = backend_->Load(h, 0, 0);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_TRUE(got->empty());
  EXPECT_EQ(backend_->Stat(h)->size, 0u);
}

TEST_P(BackendConformance, RangedLoads) {
  Handle h = H(FileType::kPack, 9);
  Bytes data = Data(10000, 10);
  ASSERT_TRUE(backend_->Save(h, data).ok());
  auto mid = backend_->Load(h, 1234, 100);
  ASSERT_TRUE(mid.ok()) << mid.status().ToString();
  EXPECT_EQ(*mid, Bytes(data.begin() + 1234, data.begin() + 1334));
  auto tail = backend_->Load(h, 9000, 0);
  ASSERT_TRUE(tail.ok());
  EXPECT_EQ(*tail, Bytes(data.begin() + 9000, data.end()));
  auto last = backend_->Load(h, 9996, 4);
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(*last, Bytes(data.end() - 4, data.end()));
  EXPECT_EQ(backend_->Load(h, 9990, 11).status().code(), StatusCode::kOutOfRange);
  EXPECT_EQ(backend_->Load(h, 20000, 1).status().code(), StatusCode::kOutOfRange);
}

TEST_P(BackendConformance, MissingObjects) {
  Handle h = H(FileType::kPack, 11);
  EXPECT_EQ(backend_->Load(h, 0, 0).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(backend_->Load(h, 10, 10).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(backend_->Stat(h).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(backend_->Remove(h).code(), StatusCode::kNotFound);
  EXPECT_TRUE(ListNames(backend_.get(), FileType::kPack).empty());
}

TEST_P(BackendConformance, RemoveDeletes) {
  Handle a = H(FileType::kPack, 12), b = H(FileType::kPack, 13);
  ASSERT_TRUE(backend_->Save(a, Data(10, 1)).ok());
  ASSERT_TRUE(backend_->Save(b, Data(10, 2)).ok());
  ASSERT_TRUE(backend_->Remove(a).ok());
  EXPECT_EQ(backend_->Stat(a).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(ListNames(backend_.get(), FileType::kPack), std::set<std::string>{b.name});
}

TEST_P(BackendConformance, InvalidNamesAreRejected) {
  for (std::string name : std::vector<std::string>{"", "../config", "ABCDEF", "zz", std::string(64, 'g')}) {
    Handle h{FileType::kSnapshot, name};
    EXPECT_EQ(backend_->Save(h, Data(1, 1)).code(), StatusCode::kInvalidArgument) << name;
    EXPECT_FALSE(backend_->Load(h, 0, 0).ok());
  }
}

TEST_P(BackendConformance, ListManyObjects) {
  // More than one page of an S3 listing (1000 keys).
  constexpr int kCount = 1100;
  std::set<std::string> want;
  std::vector<std::thread> threads;
  std::atomic<int> next{0}, failures{0};
  std::vector<Handle> handles;
  for (int i = 0; i < kCount; ++i) {
    handles.push_back(H(FileType::kIndex, 100 + i));
    want.insert(handles.back().name);
  }
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i; (i = next++) < kCount;) {
        if (!backend_->Save(handles[i], Data(1, i)).ok()) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_EQ(failures, 0);
  EXPECT_EQ(ListNames(backend_.get(), FileType::kIndex), want);
  EXPECT_TRUE(ListNames(backend_.get(), FileType::kSnapshot).empty());
}

TEST_P(BackendConformance, ConcurrentSavesOfOneNameHaveOneWinner) {
  Handle h = H(FileType::kSnapshot, 14);
  std::vector<Bytes> versions;
  for (int i = 0; i < 6; ++i) versions.push_back(Data(5000, 100 + i));
  std::atomic<int> wins{0}, exists{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 6; ++i) {
    threads.emplace_back([&, i] {
      Status s = backend_->Save(h, versions[i]);
      if (s.ok()) ++wins;
      if (s.code() == StatusCode::kAlreadyExists) ++exists;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(wins, 1);
  EXPECT_EQ(wins + exists, 6);
  auto got = backend_->Load(h, 0, 0);
  ASSERT_TRUE(got.ok());
  bool is_one_of = false;
  for (const auto& v : versions) is_one_of |= (*got == v);
  EXPECT_TRUE(is_one_of) << "the stored object mixes bytes of several saves";
}

TEST_P(BackendConformance, LargeObjectRoundTrip) {
  Handle h = H(FileType::kPack, 15);
  Bytes data = Data(24 << 20, 16);
  ASSERT_TRUE(backend_->Save(h, data).ok());
  auto got = backend_->Load(h, 0, 0);
  ASSERT_TRUE(got.ok());
  EXPECT_TRUE(*got == data);
  auto part = backend_->Load(h, (20 << 20) - 3, 4 << 20);
  ASSERT_TRUE(part.ok());
  EXPECT_TRUE(std::equal(part->begin(), part->end(), data.begin() + (20 << 20) - 3));
}

}  // namespace
}  // namespace ward::storage
