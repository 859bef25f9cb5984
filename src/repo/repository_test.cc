#include "repo/repository.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "storage/local/local_backend.h"

namespace ward::repo {
namespace {

using storage::FileType;

std::string TempDir() {
  char tmpl[] = "/tmp/ward-repo-XXXXXX";
  return ::mkdtemp(tmpl);
}

OpenOptions FastKdf() {
  OpenOptions o;
  crypto::KdfParams p = crypto::DefaultKdfParams();
  p.memory = 1 << 20;
  p.ops = 1;
  o.kdf = p;
  return o;
}

// Wraps a local backend but claims to be remote, so the cache is used.
class RemoteLike : public storage::BackendWrapper {
 public:
  using BackendWrapper::BackendWrapper;
  bool IsLocal() const override { return false; }
  std::atomic<int> loads{0};
  Result<Bytes> Load(const storage::Handle& h, uint64_t off, uint64_t len) override {
    ++loads;
    return BackendWrapper::Load(h, off, len);
  }
};

class RepositoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(crypto::Init().ok());
    dir_ = TempDir() + "/repo";
    auto r = Repository::Init(storage::NewLocalBackend(dir_), "pw", FastKdf());
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }
  Result<std::unique_ptr<Repository>> OpenRepo(const std::string& pw = "pw") {
    return Repository::Open(storage::NewLocalBackend(dir_), pw, OpenOptions());
  }
  std::string dir_;
};

TEST_F(RepositoryTest, InitRefusesExistingRepository) {
  auto again = Repository::Init(storage::NewLocalBackend(dir_), "other", FastKdf());
  EXPECT_EQ(again.status().code(), StatusCode::kAlreadyExists);
  auto r = OpenRepo();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)->ListKeys()->size(), 1u);  // no second key was written
}

TEST_F(RepositoryTest, OpenErrors) {
  EXPECT_EQ(OpenRepo("wrong").status().code(), StatusCode::kUnauthenticated);
  auto missing = Repository::Open(storage::NewLocalBackend(TempDir() + "/none"), "pw", OpenOptions());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("ward init"), std::string::npos);
}

TEST_F(RepositoryTest, KeyLeftByAnInterruptedInitDoesNotBlockOpening) {
  // An init killed after its key file but before its config (or one that
  // lost a race) leaves a key to another master key, same password.
  std::string other = TempDir() + "/other";
  ASSERT_TRUE(Repository::Init(storage::NewLocalBackend(other), "pw", FastKdf()).ok());
  for (const auto& e : std::filesystem::directory_iterator(other + "/keys")) {
    std::filesystem::copy_file(e.path(), dir_ + "/keys/" + e.path().filename().string());
  }
  for (int i = 0; i < 3; ++i) {
    auto r = OpenRepo();
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }
  // A garbage key file is ignored too.
  FILE* f = fopen((dir_ + "/keys/" + std::string(64, 'c')).c_str(), "w");
  fputs("{\"kdf\": 5, \"data\": []}", f);
  fclose(f);
  EXPECT_TRUE(OpenRepo().ok());
}

TEST_F(RepositoryTest, BlobsSurviveReopenAndDedup) {
  auto r = OpenRepo();
  ASSERT_TRUE(r.ok());
  Repository& repo = **r;
  std::vector<Bytes> blobs;
  std::mt19937_64 rng(1);
  for (int i = 0; i < 50; ++i) {
    Bytes b(10000 + i);
    for (auto& c : b) c = static_cast<uint8_t>(rng() % 7);
    blobs.push_back(b);
  }
  {
    PackUploader up(&repo, 2);
    PackWriter w(&repo, &up, 100000);  // small packs: several index entries
    for (const auto& b : blobs) {
      Id id = repo.HashBlob(b);
      ASSERT_TRUE(repo.ReserveBlob(BlobType::kData, id));
      EXPECT_FALSE(repo.ReserveBlob(BlobType::kData, id));  // reserved: a second writer skips it
      ASSERT_TRUE(w.Add(BlobType::kData, id, b).ok());
    }
    ASSERT_TRUE(w.Flush().ok());
    ASSERT_TRUE(up.Finish().ok());
    EXPECT_GT(up.packs_uploaded(), 1u);
  }
  auto r2 = OpenRepo();
  ASSERT_TRUE(r2.ok());
  ASSERT_TRUE((*r2)->LoadIndex().ok());
  for (const auto& b : blobs) {
    Id id = (*r2)->HashBlob(b);
    EXPECT_FALSE((*r2)->ReserveBlob(BlobType::kData, id));
    auto got = (*r2)->LoadBlob(BlobType::kData, id);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_EQ(*got, b);
  }
  EXPECT_EQ((*r2)->LoadBlob(BlobType::kTree, (*r2)->HashBlob(blobs[0])).status().code(),
            StatusCode::kNotFound);
}

TEST_F(RepositoryTest, SnapshotsListAndResolve) {
  auto r = OpenRepo();
  ASSERT_TRUE(r.ok());
  std::vector<Id> ids;
  for (int i = 0; i < 3; ++i) {
    Snapshot s;
    s.time = 1000000000000000000 + i;
    s.tree = crypto::RandomId();
    s.paths = {"/x"};
    s.hostname = "h";
    auto id = (*r)->SaveSnapshot(s);
    ASSERT_TRUE(id.ok());
    ids.push_back(*id);
  }
  auto list = (*r)->ListSnapshots();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 3u);
  EXPECT_EQ((*list)[2].id, ids[2]);  // oldest first
  EXPECT_EQ((*r)->FindSnapshot("latest", *list)->id, ids[2]);
  EXPECT_EQ((*r)->FindSnapshot(ids[0].Hex().substr(0, 10), *list)->id, ids[0]);
  EXPECT_EQ((*r)->FindSnapshot("abc", *list).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ((*r)->FindSnapshot("00000000", *list).status().code(), StatusCode::kNotFound);
}

TEST_F(RepositoryTest, KeysAddRemoveAndPasswords) {
  auto r = OpenRepo();
  ASSERT_TRUE(r.ok());
  auto kdf = FastKdf().kdf;
  auto second = (*r)->AddKey("second", kdf);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ((*r)->ListKeys()->size(), 2u);
  // Both passwords open; removing the first key keeps the second working.
  auto via_second = OpenRepo("second");
  ASSERT_TRUE(via_second.ok());
  EXPECT_EQ((*via_second)->RemoveKey(*second).code(), StatusCode::kFailedPrecondition);
  ASSERT_TRUE((*via_second)->RemoveKey((*r)->current_key()).ok());
  EXPECT_EQ(OpenRepo("pw").status().code(), StatusCode::kUnauthenticated);
  EXPECT_TRUE(OpenRepo("second").ok());
}

TEST_F(RepositoryTest, TamperedMetadataIsDataLoss) {
  auto r = OpenRepo();
  ASSERT_TRUE(r.ok());
  Snapshot s;
  s.time = 1;
  s.tree = crypto::RandomId();
  auto id = (*r)->SaveSnapshot(s);
  ASSERT_TRUE(id.ok());
  std::string path = dir_ + "/snapshots/" + id->Hex();
  ::chmod(path.c_str(), 0600);
  FILE* f = fopen(path.c_str(), "r+b");
  ASSERT_NE(f, nullptr);
  fseek(f, 30, SEEK_SET);
  int c = fgetc(f);
  fseek(f, 30, SEEK_SET);
  fputc(c ^ 1, f);
  fclose(f);
  EXPECT_EQ((*r)->LoadSnapshot(*id).status().code(), StatusCode::kDataLoss);
}

TEST_F(RepositoryTest, CacheServesMetadataOfRemoteRepositories) {
  std::string cache = TempDir();
  auto inner = std::make_unique<RemoteLike>(storage::NewLocalBackend(dir_));
  RemoteLike* remote = inner.get();
  OpenOptions o;
  o.cache_dir = cache;
  auto r = Repository::Open(std::move(inner), "pw", o);
  ASSERT_TRUE(r.ok());
  Snapshot s;
  s.time = 1;
  s.tree = crypto::RandomId();
  ASSERT_TRUE((*r)->SaveSnapshot(s).ok());
  int before = remote->loads;
  ASSERT_EQ((*r)->ListSnapshots()->size(), 1u);
  EXPECT_EQ(remote->loads, before);  // served from the cache written on save
}

TEST_F(RepositoryTest, TreeBlobsComeFromTheCacheInPartsAndADamagedCopyIsReplaced) {
  std::string cache = TempDir();
  auto inner = std::make_unique<RemoteLike>(storage::NewLocalBackend(dir_));
  RemoteLike* remote = inner.get();
  OpenOptions o;
  o.cache_dir = cache;
  auto r = Repository::Open(std::move(inner), "pw", o);
  ASSERT_TRUE(r.ok());
  Repository& repo = **r;
  std::vector<Bytes> trees;
  for (int i = 0; i < 20; ++i) trees.push_back(ToBytes("tree " + std::to_string(i) + std::string(3000, 'x')));
  {
    PackUploader up(&repo, 0);
    PackWriter w(&repo, &up);
    for (const auto& t : trees) {
      Id id = repo.HashBlob(t);
      ASSERT_TRUE(repo.ReserveBlob(BlobType::kTree, id));
      ASSERT_TRUE(w.Add(BlobType::kTree, id, t).ok());
    }
    ASSERT_TRUE(w.Flush().ok());
    ASSERT_TRUE(up.Finish().ok());
  }
  auto load_all = [&] {
    for (const auto& t : trees) {
      auto got = repo.LoadBlob(BlobType::kTree, repo.HashBlob(t));
      ASSERT_TRUE(got.ok()) << got.status().ToString();
      EXPECT_EQ(*got, t);
    }
  };
  const int before = remote->loads;
  load_all();
  EXPECT_EQ(remote->loads, before) << "a tree pack is cached as it is written";
  const int after_first = remote->loads;
  load_all();
  EXPECT_EQ(remote->loads, after_first) << "served from the cache";

  // Damage the cached pack in place: the blobs in the damaged part no longer
  // authenticate, the cached copy is dropped and the repository's copy read.
  std::string pack_file;
  for (const auto& e : std::filesystem::recursive_directory_iterator(cache)) {
    if (e.is_regular_file() && e.path().parent_path().parent_path().filename() == "data") pack_file = e.path();
  }
  ASSERT_FALSE(pack_file.empty());
  {
    std::fstream f(pack_file, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(100);
    f.put('\xff');
    f.put('\x00');
  }
  load_all();
  EXPECT_EQ(remote->loads, after_first + 1) << "the damaged cached pack is downloaded again, once";
}

}  // namespace
}  // namespace ward::repo
