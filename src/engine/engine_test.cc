// End-to-end tests of the backup, restore and check jobs against a local
// repository, in process (the CLI has its own integration tests).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <random>

#include "engine/backup.h"
#include "engine/check.h"
#include "engine/restore.h"
#include "io/file.h"
#include "source/command/command_source.h"
#include "source/files/file_source.h"
#include "storage/local/local_backend.h"

namespace ward::engine {
namespace {

namespace fs = std::filesystem;

std::string Tmp() {
  char t[] = "/tmp/ward-engine-XXXXXX";
  return ::mkdtemp(t);
}

void WriteFile(const std::string& p, const std::string& data) {
  std::ofstream f(p, std::ios::binary);
  f << data;
}

std::string RandomData(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

// A listing of everything restore must give back, for comparison.
std::map<std::string, std::string> Describe(const std::string& root) {
  std::map<std::string, std::string> out;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator(); ++it) {
    std::string p = it->path().string();
    struct stat st;
    ::lstat(p.c_str(), &st);
    std::string d = std::to_string(st.st_mode) + " " + std::to_string(st.st_mtim.tv_sec);
    if (S_ISREG(st.st_mode)) {
      auto data = io::ReadWholeFile(p);
      d += " " + std::string(AsString(*data)) + " links=" + std::to_string(st.st_nlink);
    } else if (S_ISLNK(st.st_mode)) {
      d += " -> " + fs::read_symlink(p).string();
    }
    out[p.substr(root.size())] = d;
  }
  return out;
}

class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(crypto::Init().ok());
    base_ = Tmp();
    repo_dir_ = base_ + "/repo";
    data_ = base_ + "/data";
    repo::OpenOptions o;
    crypto::KdfParams k = crypto::DefaultKdfParams();
    k.memory = 1 << 20;
    k.ops = 1;
    o.kdf = k;
    auto r = repo::Repository::Init(storage::NewLocalBackend(repo_dir_), "pw", o);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    fs::create_directories(data_ + "/dir with space/ünïcode");
    fs::create_directories(data_ + "/empty");
    WriteFile(data_ + "/small.txt", "hello\n");
    WriteFile(data_ + "/empty-file", "");
    WriteFile(data_ + "/dir with space/ünïcode/big.bin", RandomData(5 << 20, 1));
    WriteFile(data_ + "/dir with space/dup.bin", RandomData(5 << 20, 1));  // same content: dedup
    ::symlink("../small.txt", (data_ + "/dir with space/link").c_str());
    ::link((data_ + "/small.txt").c_str(), (data_ + "/hardlink.txt").c_str());
    ::chmod((data_ + "/small.txt").c_str(), 0640);
    ::mkfifo((data_ + "/fifo").c_str(), 0600);
    // A sparse file: 4 MiB hole, 1 byte of data.
    int fd = ::open((data_ + "/sparse").c_str(), O_WRONLY | O_CREAT, 0644);
    ASSERT_EQ(::pwrite(fd, "x", 1, 4 << 20), 1);
    ::close(fd);
  }

  std::unique_ptr<repo::Repository> Open() {
    auto r = repo::Repository::Open(storage::NewLocalBackend(repo_dir_), "pw", repo::OpenOptions());
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return std::move(*r);
  }

  Result<BackupResult> Backup(const std::vector<std::string>& paths, bool force = false) {
    auto repo = Open();
    auto src = source::FileSource::Create({paths, {}});
    if (!src.ok()) return src.status();
    BackupOptions o;
    o.force = force;
    o.hostname = "test-host";
    Progress p;
    return RunBackup(*repo, **src, o, &p);
  }

  Result<RestoreResult> Restore(const Id& snap, const std::string& target, const std::string& sub = "",
                                bool delta = false) {
    auto repo = Open();
    EXPECT_TRUE(repo->LoadIndex().ok());
    auto s = repo->LoadSnapshot(snap);
    if (!s.ok()) return s.status();
    RestoreOptions o;
    o.target = target;
    o.subpath = sub;
    o.delta = delta;
    return RunRestore(*repo, *s, o, nullptr);
  }

  std::string base_, repo_dir_, data_;
};

TEST_F(EngineTest, BackupRestoreRoundTripKeepsEverything) {
  auto b = Backup({data_});
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_TRUE(b->read_errors.empty());
  const auto& sum = *b->snapshot.summary;
  EXPECT_EQ(sum.files_new, 6u);
  // Two 5 MiB files with the same content are stored once.
  EXPECT_LT(sum.data_added, 6u << 20);

  std::string target = base_ + "/restore";
  auto r = RunRestore(*Open(), b->snapshot, {target}, nullptr);
  ASSERT_FALSE(r.ok());  // index not loaded: blobs missing, must not "succeed" silently
  auto rr = Restore(b->snapshot.id, target);
  ASSERT_TRUE(rr.ok()) << rr.status().ToString();
  EXPECT_TRUE(rr->errors.empty()) << rr->errors[0].ToString();
  EXPECT_EQ(Describe(data_), Describe(target + data_));

  struct stat st;
  ASSERT_EQ(::stat((target + data_ + "/sparse").c_str(), &st), 0);
  EXPECT_EQ(st.st_size, (4 << 20) + 1);
  EXPECT_LT(st.st_blocks * 512, 1 << 20) << "sparse file was not restored sparse";
  struct stat a, h;
  ::stat((target + data_ + "/small.txt").c_str(), &a);
  ::stat((target + data_ + "/hardlink.txt").c_str(), &h);
  EXPECT_EQ(a.st_ino, h.st_ino) << "hard link not restored";
  ::lstat((target + data_ + "/fifo").c_str(), &st);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));
}

TEST_F(EngineTest, UnchangedFilesAreNotReadAgain) {
  auto first = Backup({data_});
  ASSERT_TRUE(first.ok());
  auto second = Backup({data_});
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->parent, first->snapshot.id);
  EXPECT_EQ(second->snapshot.summary->files_unmodified, 6u);
  EXPECT_EQ(second->snapshot.summary->files_new + second->snapshot.summary->files_changed, 0u);
  EXPECT_EQ(second->snapshot.tree, first->snapshot.tree);
  EXPECT_EQ(second->snapshot.summary->data_added, 0u);

  WriteFile(data_ + "/small.txt", "changed\n");
  auto third = Backup({data_});
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(third->snapshot.summary->files_changed, 2u);  // small.txt and its hard link
  EXPECT_NE(third->snapshot.tree, first->snapshot.tree);
}

TEST_F(EngineTest, SubtreeRestoreAndDelta) {
  auto b = Backup({data_});
  ASSERT_TRUE(b.ok());
  std::string target = base_ + "/sub";
  auto r = Restore(b->snapshot.id, target, data_ + "/dir with space");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(fs::exists(target + "/ünïcode/big.bin"));
  EXPECT_FALSE(fs::exists(target + "/small.txt"));

  // Damage one restored file in the middle; delta rewrites only that chunk.
  std::string big = target + "/ünïcode/big.bin";
  ::chmod(big.c_str(), 0644);
  int fd = ::open(big.c_str(), O_WRONLY);
  ASSERT_EQ(::pwrite(fd, "XXXX", 4, 3 << 20), 4);
  ::close(fd);
  auto d = Restore(b->snapshot.id, target, data_ + "/dir with space", true);
  ASSERT_TRUE(d.ok());
  EXPECT_TRUE(d->errors.empty());
  EXPECT_GT(d->bytes_reused, 4u << 20);
  EXPECT_LT(d->bytes_written, 3u << 20);
  EXPECT_EQ(*io::ReadWholeFile(big), ToBytes(RandomData(5 << 20, 1)));
}

TEST_F(EngineTest, DamagedPackFailsOnlyItsFilesAndCheckNamesIt) {
  auto b = Backup({data_});
  ASSERT_TRUE(b.ok());
  // Flip a byte in the largest pack (the one with big.bin's chunks).
  std::string victim;
  uintmax_t best = 0;
  for (auto& e : fs::recursive_directory_iterator(repo_dir_ + "/data")) {
    if (e.is_regular_file() && e.file_size() > best) {
      best = e.file_size();
      victim = e.path();
    }
  }
  ASSERT_FALSE(victim.empty());
  ::chmod(victim.c_str(), 0600);
  int fd = ::open(victim.c_str(), O_RDWR);
  char c;
  ASSERT_EQ(::pread(fd, &c, 1, 1000), 1);
  c ^= 0x10;
  ASSERT_EQ(::pwrite(fd, &c, 1, 1000), 1);
  ::close(fd);

  auto repo = Open();
  CheckOptions co;
  auto plain = RunCheck(*repo, co, nullptr);
  ASSERT_TRUE(plain.ok());
  EXPECT_TRUE(plain->errors.empty()) << "structure is intact";
  co.read_data = true;
  auto deep = RunCheck(*Open(), co, nullptr);
  ASSERT_TRUE(deep.ok());
  ASSERT_FALSE(deep->errors.empty());
  std::string pack_name = fs::path(victim).filename();
  EXPECT_NE(deep->errors[0].find(pack_name), std::string::npos) << deep->errors[0];
  ASSERT_EQ(deep->affected_snapshots.size(), 1u);
  EXPECT_EQ(deep->affected_snapshots[0].snapshot, b->snapshot.id);

  std::string target = base_ + "/partial";
  auto r = Restore(b->snapshot.id, target);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->errors.empty());
  EXPECT_TRUE(fs::exists(target + data_ + "/small.txt"));  // the rest is restored
  // Files depending on the damaged pack are not left with wrong content.
  for (const auto& e : r->errors) {
    std::string msg = e.message();
    ASSERT_EQ(msg.rfind("could not restore ", 0), 0u) << msg;
    std::string path = msg.substr(18, msg.find(": ") - 18);
    EXPECT_FALSE(fs::exists(path)) << path;
  }
}

// A backend whose disk fills up after a given number of bytes.
class FullDisk : public storage::BackendWrapper {
 public:
  FullDisk(std::unique_ptr<storage::Backend> inner, uint64_t budget)
      : BackendWrapper(std::move(inner)), budget_(budget) {}
  Status Save(const storage::Handle& h, ByteView data) override {
    if (h.type == storage::FileType::kPack || h.type == storage::FileType::kIndex) {
      if (used_.fetch_add(data.size()) + data.size() > budget_) {
        return ResourceExhaustedError("no space left on device");
      }
    }
    return BackendWrapper::Save(h, data);
  }

 private:
  uint64_t budget_;
  std::atomic<uint64_t> used_{0};
};

TEST_F(EngineTest, FullDiskFailsCleanlyAndRepositoryStaysConsistent) {
  WriteFile(data_ + "/more.bin", RandomData(40 << 20, 7));
  auto repo = repo::Repository::Open(std::make_unique<FullDisk>(storage::NewLocalBackend(repo_dir_), 20 << 20),
                                     "pw", repo::OpenOptions());
  ASSERT_TRUE(repo.ok());
  auto src = source::FileSource::Create({{data_}, {}});
  BackupOptions o;
  auto b = RunBackup(**repo, **src, o, nullptr);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().code(), StatusCode::kResourceExhausted);
  EXPECT_TRUE(Open()->ListSnapshots()->empty());
  CheckOptions co;
  co.read_data = true;
  auto c = RunCheck(*Open(), co, nullptr);
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->errors.empty());
  // Space freed: the next backup succeeds and restores.
  auto again = Backup({data_});
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  auto rr = Restore(again->snapshot.id, base_ + "/after");
  ASSERT_TRUE(rr.ok());
  EXPECT_TRUE(rr->errors.empty());
  EXPECT_EQ(Describe(data_), Describe(base_ + "/after" + data_));
}

TEST_F(EngineTest, FailingCommandLeavesNoSnapshot) {
  auto repo = Open();
  auto src = source::CommandSource::Create({{"sh", "-c", "head -c 3000000 /dev/urandom; exit 2"}, "dump", false});
  ASSERT_TRUE(src.ok());
  auto b = RunBackup(*repo, **src, BackupOptions(), nullptr);
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.status().message().find("exit status 2"), std::string::npos);
  EXPECT_TRUE(Open()->ListSnapshots()->empty());

  auto ok = source::CommandSource::Create({{"sh", "-c", "printf 'dump-content'"}, "dump", false});
  auto good = RunBackup(*Open(), **ok, BackupOptions(), nullptr);
  ASSERT_TRUE(good.ok()) << good.status().ToString();
  EXPECT_EQ(good->snapshot.source, "command");
  auto rr = Restore(good->snapshot.id, base_ + "/cmd");
  ASSERT_TRUE(rr.ok());
  EXPECT_EQ(AsString(*io::ReadWholeFile(base_ + "/cmd/dump")), "dump-content");
  struct stat st;
  ::stat((base_ + "/cmd/dump").c_str(), &st);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(EngineTest, UnreadableInputsAreReportedAndTheRestIsSaved) {
  if (::geteuid() == 0) {
    // root reads everything: make a path vanish instead.
    auto b = Backup({data_, base_ + "/does-not-exist"});
    ASSERT_TRUE(b.ok()) << b.status().ToString();
    ASSERT_EQ(b->read_errors.size(), 1u);
    EXPECT_NE(b->read_errors[0].message().find("does-not-exist"), std::string::npos);
    EXPECT_EQ(b->snapshot.summary->files_new, 6u);
  } else {
    ::chmod((data_ + "/small.txt").c_str(), 0);
    auto b = Backup({data_});
    ASSERT_TRUE(b.ok());
    EXPECT_FALSE(b->read_errors.empty());
  }
  auto none = Backup({base_ + "/nothing-here"});
  EXPECT_FALSE(none.ok());
}

}  // namespace
}  // namespace ward::engine
