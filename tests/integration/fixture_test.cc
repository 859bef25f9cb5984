// Format compatibility: a repository written by ward 0.1.0 (format 1, made by
// tests/fixtures/make-repo-v1.sh and never regenerated) must open, check and
// restore byte for byte with every later ward.
#include <sys/stat.h>

#include <filesystem>

#include "harness.h"

namespace ward::testing {
namespace {

namespace fs = std::filesystem;

class FixtureTest : public WardTest {
 protected:
  void SetUp() override {
    WardTest::SetUp();
    password_ = "fixture-password-v1";
    fs::copy(WARD_FIXTURES "/repo-v1", repo_, fs::copy_options::recursive);
  }
};

TEST_F(FixtureTest, Version1RepositoryStillOpensChecksAndRestores) {
  auto chk = Ward({"check", "--read-data"});
  ASSERT_EQ(chk.code, 0) << chk.err;
  auto snaps = Ward({"snapshots", "--json"}).Json();
  ASSERT_EQ(snaps.size(), 2u);
  EXPECT_EQ(snaps[0]["time"], "2020-01-02T03:04:05Z");
  EXPECT_EQ(snaps[0]["tags"][0], "v1");
  EXPECT_EQ(snaps[1]["source"], "command");
  std::string src = snaps[0]["paths"][0];

  ASSERT_EQ(Ward({"restore", snaps[0]["id"], "--target", dir_ + "/out"}).code, 0);
  std::string root = dir_ + "/out" + src;
  EXPECT_EQ(ReadFile(root + "/hello.txt"), "hello from ward format v1\n");
  std::string sql = ReadFile(root + "/dir/nested/text.sql");
  EXPECT_EQ(sql.size(), 588890u);
  EXPECT_EQ(sql.substr(0, 26), "INSERT INTO t VALUES (0);\n");
  EXPECT_EQ(ReadFile(root + "/dir/random.bin").size(), 200000u);
  EXPECT_EQ(fs::read_symlink(root + "/dir/link"), "../hello.txt");
  EXPECT_TRUE(fs::is_directory(root + "/empty"));
  struct stat st;
  ASSERT_EQ(::stat((root + "/hello.txt").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u);
  EXPECT_EQ(st.st_mtim.tv_sec, 1577934245);

  ASSERT_EQ(Ward({"restore", snaps[1]["id"], "--target", dir_ + "/dump"}).code, 0);
  EXPECT_EQ(ReadFile(dir_ + "/dump/dump.txt"), "dump v1\n");

  // And it still accepts new backups.
  WriteFile(dir_ + "/new/file", "added by a newer ward");
  auto b = Ward({"backup", dir_ + "/new"});
  EXPECT_EQ(b.code, 0) << b.err;
  EXPECT_EQ(Ward({"check", "--read-data"}).code, 0);
}

}  // namespace
}  // namespace ward::testing
