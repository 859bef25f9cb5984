// A damaged repository, as a hostile user or a failing disk leaves it: every
// kind of repository file is damaged in turn, and the test asserts what
// still works, what each command says and exits with, and that the repair
// commands bring back everything that can still be read.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "harness.h"
#include "io/process.h"

namespace ward::testing {
namespace {

namespace fs = std::filesystem;
using storage::FileType;

class DamageTest : public WardTest {
 protected:
  std::string MakeData(const std::string& name, uint64_t seed) {
    std::string d = dir_ + "/" + name;
    WriteFile(d + "/random.bin", RandomBytes(3 << 20, seed));
    WriteFile(d + "/text.sql", CompressibleText(1 << 20, seed + 1));
    WriteFile(d + "/small.txt", "small " + std::to_string(seed) + "\n");
    return d;
  }

  // Names of the repository's objects of one type ("index", "snapshot", ...).
  std::vector<std::string> Objects(const std::string& type) {
    std::vector<std::string> out;
    for (const auto& n : RepoObjectNames()) {
      if (n.rfind(type + "/", 0) == 0) out.push_back(n.substr(type.size() + 1));
    }
    return out;
  }

  void FlipByte(FileType type, const std::string& name) {
    RewriteObject(type, name, [](Bytes* b) {
      ASSERT_FALSE(b->empty());
      (*b)[b->size() / 2] ^= 0x20;
    });
  }

  void RemoveObject(FileType type, const std::string& name) {
    ASSERT_TRUE(RepoBackend()->Remove(storage::Handle{type, name}).ok());
  }

  // Restores `snapshot` into a fresh folder and compares it with `data`.
  void ExpectRestores(const std::string& snapshot, const std::string& data) {
    std::string out = dir_ + "/out-" + std::to_string(restores_++);
    auto r = Ward({"restore", snapshot, "--target", out});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_EQ(DiffTrees(data, out + data), "");
  }

  std::string SnapshotId(const RunResult& backup) { return backup.Json()["snapshot_id"].get<std::string>(); }

  int restores_ = 0;
};

TEST_F(DamageTest, DamagedIndexFileIsReadAroundAndRepaired) {
  Init();
  std::string a = MakeData("a", 1);
  auto b1 = Ward({"--json", "backup", a});
  ASSERT_EQ(b1.code, 0) << b1.err;
  auto index = Objects("index");
  ASSERT_EQ(index.size(), 1u);
  FlipByte(FileType::kIndex, index[0]);

  // Reading goes on: the packs' headers say what they hold.
  ExpectRestores("latest", a);
  auto snaps = Ward({"snapshots"});
  EXPECT_EQ(snaps.code, 0) << snaps.err;
  std::string b = MakeData("b", 2);
  auto b2 = Ward({"--json", "backup", b});
  ASSERT_EQ(b2.code, 0) << b2.err;
  EXPECT_NE(b2.err.find("repair index"), std::string::npos) << b2.err;

  auto check = Ward({"check"});
  EXPECT_EQ(check.code, 20) << check.err;
  EXPECT_NE(check.err.find("index " + index[0].substr(0, 8)), std::string::npos) << check.err;
  EXPECT_NE(check.err.find("ward repair index"), std::string::npos) << check.err;
  EXPECT_EQ(check.err.find("'ward prune' removes them"), std::string::npos) << check.err;

  // Prune must not delete what the damaged index file listed.
  auto prune = Ward({"prune"});
  EXPECT_NE(prune.code, 0);
  EXPECT_NE(prune.err.find("repair index"), std::string::npos) << prune.err;

  auto dry = Ward({"repair", "index", "--dry-run"});
  EXPECT_EQ(dry.code, 0) << dry.err;
  EXPECT_EQ(Ward({"check"}).code, 20) << "a dry run changed the repository";
  auto repair = Ward({"repair", "index"});
  ASSERT_EQ(repair.code, 0) << repair.err;
  EXPECT_NE(repair.out.find("1 damaged"), std::string::npos) << repair.out;
  auto again = Ward({"check", "--read-data"});
  EXPECT_EQ(again.code, 0) << again.err;
  EXPECT_EQ(Ward({"prune"}).code, 0);
  ExpectRestores(SnapshotId(b1), a);
  ExpectRestores(SnapshotId(b2), b);
}

TEST_F(DamageTest, LostIndexFilesNeverMakeCheckAdviseDeletingNeededPacks) {
  Init();
  std::string a = MakeData("a", 3);
  auto b1 = Ward({"--json", "backup", a});
  ASSERT_EQ(b1.code, 0) << b1.err;
  for (const auto& i : Objects("index")) RemoveObject(FileType::kIndex, i);

  ExpectRestores("latest", a);
  auto check = Ward({"check"});
  EXPECT_EQ(check.code, 20);
  EXPECT_NE(check.err.find("do not delete these packs"), std::string::npos) << check.err;
  EXPECT_EQ(check.err.find("'ward prune' removes them"), std::string::npos) << check.err;

  auto repair = Ward({"--json", "repair", "index"});
  ASSERT_EQ(repair.code, 0) << repair.err;
  EXPECT_GT(repair.Json()["packs_added"].get<int>(), 0);
  EXPECT_EQ(Ward({"check", "--read-data"}).code, 0);
  EXPECT_EQ(Ward({"prune"}).code, 0);
  ExpectRestores(SnapshotId(b1), a);
}

TEST_F(DamageTest, DamagedSnapshotIsNamedSkippedAndForgettable) {
  Init();
  std::string a = MakeData("a", 4), b = MakeData("b", 5);
  auto b1 = Ward({"--json", "backup", a});
  auto b2 = Ward({"--json", "backup", b});
  ASSERT_EQ(b1.code, 0);
  ASSERT_EQ(b2.code, 0);
  std::string bad = SnapshotId(b1);
  FlipByte(FileType::kSnapshot, bad);

  auto snaps = Ward({"--json", "snapshots"});
  ASSERT_EQ(snaps.code, 0) << snaps.err;
  EXPECT_EQ(snaps.Json().size(), 1u);
  EXPECT_NE(snaps.err.find(bad.substr(0, 8)), std::string::npos) << snaps.err;
  EXPECT_NE(snaps.err.find("ward forget"), std::string::npos) << snaps.err;
  ExpectRestores(SnapshotId(b2), b);
  EXPECT_EQ(Ward({"backup", a}).code, 0);
  EXPECT_EQ(Ward({"check"}).code, 20);
  EXPECT_NE(Ward({"prune"}).code, 0) << "prune must not run while a snapshot is unreadable";

  auto forget = Ward({"forget", bad.substr(0, 8)});
  EXPECT_EQ(forget.code, 0) << forget.err;
  EXPECT_EQ(Ward({"check"}).code, 0);
  EXPECT_EQ(Ward({"prune"}).code, 0);
  ExpectRestores(SnapshotId(b2), b);
}

TEST_F(DamageTest, LostPackIsRepairedIntoASnapshotOfWhatRemains) {
  Init();
  std::string a = dir_ + "/a";
  WriteFile(a + "/kept.txt", "still here\n");
  auto b0 = Ward({"--json", "backup", a});
  ASSERT_EQ(b0.code, 0) << b0.err;
  WriteFile(a + "/lost.bin", RandomBytes(4 << 20, 6));  // the largest pack: only this file's data
  auto b1 = Ward({"--json", "backup", a});
  ASSERT_EQ(b1.code, 0) << b1.err;
  RemoveObject(FileType::kPack, LargestPack().first);
  EXPECT_EQ(Ward({"check"}).code, 20);

  ASSERT_EQ(Ward({"repair", "index"}).code, 0);
  auto dry = Ward({"repair", "snapshots", "--dry-run"});
  ASSERT_EQ(dry.code, 0) << dry.err;
  EXPECT_NE(dry.err.find("lost.bin"), std::string::npos) << dry.err;
  auto repair = Ward({"repair", "snapshots"});
  ASSERT_EQ(repair.code, 0) << repair.err;
  EXPECT_NE(repair.out.find("'ward forget ID' removes them"), std::string::npos) << repair.out;
  auto snaps = Ward({"--json", "snapshots"});
  ASSERT_EQ(snaps.Json().size(), 3u) << "the damaged original is kept until told";

  auto repaired = Ward({"--json", "snapshots", "--tag", "repaired"});
  ASSERT_EQ(repaired.Json().size(), 1u);
  std::string id = repaired.Json()[0]["id"].get<std::string>();
  std::string out = dir_ + "/out";
  auto r = Ward({"restore", id, "--target", out});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(ReadFile(out + a + "/kept.txt"), "still here\n");
  EXPECT_FALSE(fs::exists(out + a + "/lost.bin")) << "a file with lost data is left out, never truncated";

  EXPECT_EQ(Ward({"forget", SnapshotId(b1)}).code, 0);
  EXPECT_EQ(Ward({"check", "--read-data"}).code, 0);
  auto r0 = Ward({"restore", SnapshotId(b0), "--target", dir_ + "/out0"});
  ASSERT_EQ(r0.code, 0) << r0.err;
  EXPECT_EQ(ReadFile(dir_ + "/out0" + a + "/kept.txt"), "still here\n");
}

TEST_F(DamageTest, DamagedKeyFileIsNotAWrongPassword) {
  Init();
  std::string a = MakeData("a", 7);
  ASSERT_EQ(Ward({"backup", a}).code, 0);
  auto keys = Objects("key");
  ASSERT_EQ(keys.size(), 1u);

  // A second key with another password, then damage to the first.
  std::string pw2 = dir_ + "/pw2";
  WriteFile(pw2, "another password\n");
  ASSERT_EQ(Ward({"key", "add", "--new-password-file", pw2}).code, 0);
  RewriteObject(FileType::kKey, keys[0], [](Bytes* b) {
    std::string s(b->begin(), b->end());
    auto at = s.find("\"memory\"");
    ASSERT_NE(at, std::string::npos);
    s.insert(at + 10, "9");  // valid JSON, another KDF memory: no longer the file its name says
    b->assign(s.begin(), s.end());
  });
  auto open = Ward({"snapshots"});
  EXPECT_NE(open.code, 12) << open.err;
  EXPECT_NE(open.code, 0);
  EXPECT_NE(open.err.find("key file " + keys[0].substr(0, 8) + " is damaged"), std::string::npos) << open.err;
  EXPECT_EQ(open.err.find("wrong password"), std::string::npos) << open.err;

  // The other key still opens the repository, and check names the damaged one.
  auto check = Ward({"--password-file", pw2, "check"});
  EXPECT_EQ(check.code, 20) << check.err;
  EXPECT_NE(check.err.find("key file " + keys[0].substr(0, 8)), std::string::npos) << check.err;

  // A wrong password is still called one.
  auto wrong = Ward({"snapshots"}, {{"WARD_PASSWORD", "not it"}});
  EXPECT_NE(wrong.code, 0);
}

TEST_F(DamageTest, LostConfigIsDamageAndInitRefusesToWriteOverIt) {
  Init();
  std::string a = MakeData("a", 8);
  ASSERT_EQ(Ward({"backup", a}).code, 0);
  auto before = RepoObjectNames();
  RemoveObject(FileType::kConfig, "");

  auto open = Ward({"snapshots"});
  EXPECT_NE(open.code, 0);
  EXPECT_NE(open.code, 10) << "a repository without config is damaged, not missing";
  EXPECT_NE(open.err.find("lost its config"), std::string::npos) << open.err;
  EXPECT_EQ(open.err.find("run 'ward init' to create"), std::string::npos) << open.err;
  EXPECT_EQ(Ward({"check"}).code, 20);

  auto init = Ward({"init", "--kdf-memory", "8", "--kdf-iterations", "1"});
  EXPECT_NE(init.code, 0);
  EXPECT_NE(init.err.find("lost its config"), std::string::npos) << init.err;
  auto after = RepoObjectNames();
  std::erase_if(before, [](const std::string& n) { return n.rfind("config/", 0) == 0; });
  EXPECT_EQ(after, before) << "init changed the damaged repository";
}

TEST_F(DamageTest, DamagedConfigMakesCheckReportDamage) {
  Init();
  ASSERT_EQ(Ward({"backup", MakeData("a", 9)}).code, 0);
  FlipByte(FileType::kConfig, "");
  auto check = Ward({"check"});
  EXPECT_EQ(check.code, 20) << check.err;
  EXPECT_NE(check.err.find("config"), std::string::npos) << check.err;
}

TEST_F(DamageTest, DamagedHoldIsNamedByCheckAndHoldList) {
  Init();
  auto b1 = Ward({"--json", "backup", MakeData("a", 10)});
  ASSERT_EQ(b1.code, 0);
  ASSERT_EQ(Ward({"hold", "add", "latest", "--reason", "case 42"}).code, 0);
  auto holds = Objects("hold");
  ASSERT_EQ(holds.size(), 1u);
  FlipByte(FileType::kHold, holds[0]);

  auto check = Ward({"check"});
  EXPECT_EQ(check.code, 20) << check.err;
  EXPECT_NE(check.err.find("hold " + holds[0].substr(0, 8) + " is damaged"), std::string::npos) << check.err;
  auto list = Ward({"hold", "list"});
  EXPECT_NE(list.code, 0);
  EXPECT_NE(list.err.find("hold " + holds[0].substr(0, 8)), std::string::npos) << list.err;
  // Forget cannot know what the damaged hold keeps: it refuses, and says why.
  auto forget = Ward({"forget", SnapshotId(b1)});
  EXPECT_NE(forget.code, 0);
  EXPECT_NE(forget.err.find("hold " + holds[0].substr(0, 8)), std::string::npos) << forget.err;
  EXPECT_EQ(Ward({"--json", "snapshots"}).Json().size(), 1u);
}

TEST_F(DamageTest, InitRefusesAFolderThatIsNotEmpty) {
  std::string folder = dir_ + "/notempty";
  WriteFile(folder + "/precious.txt", "mine\n");
  auto init = WardNoRepo({"-r", folder, "init", "--kdf-memory", "8", "--kdf-iterations", "1"},
                         {{"WARD_PASSWORD", password_}});
  EXPECT_NE(init.code, 0);
  EXPECT_NE(init.err.find("is not empty"), std::string::npos) << init.err;
  EXPECT_FALSE(fs::exists(folder + "/config"));
  EXPECT_FALSE(fs::exists(folder + "/keys"));
  EXPECT_EQ(ReadFile(folder + "/precious.txt"), "mine\n");
}

TEST_F(DamageTest, KilledWritersLeftoversGoOnceTheirWritersAreProvablyGone) {
  Init();
  ASSERT_EQ(Ward({"backup", MakeData("a", 11)}).code, 0);
  // A session whose process was killed.
  std::string log = dir_ + "/holder.log";
  int holder = StartProcess({SESSION_HOLDER, repo_, "backup"}, {{"WARD_PASSWORD", password_}}, log);
  for (int i = 0; i < 200 && ReadFile(log).find("ready") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_NE(ReadFile(log).find("ready"), std::string::npos) << ReadFile(log);
  ::kill(holder, SIGKILL);
  WaitProcess(holder);
  // Temporary files: of a process that is gone, of a live one (this test),
  // and of an older ward that did not name its owner.
  int gone = StartProcess({"true"}, {}, dir_ + "/true.log");
  WaitProcess(gone);
  std::string boot;
  for (char c : io::ThisBootId()) {
    if (c != '-' && boot.size() < 12) boot += c;
  }
  std::string hex(64, 'a');
  std::string dead_tmp = repo_ + "/data/00/" + hex + ".tmp-" + boot + "." + std::to_string(gone) + ".12345-q1w2e3";
  std::string live_tmp = repo_ + "/data/01/" + std::string(64, 'b') + ".tmp-" + io::TempOwnerTag() + "-r4t5y6";
  std::string old_tmp = repo_ + "/snapshots/" + std::string(64, 'c') + ".tmp-Zx9Yw8";
  WriteFile(dead_tmp, RandomBytes(1 << 20, 12));
  WriteFile(live_tmp, "being written");
  WriteFile(old_tmp, "{}");

  auto check = Ward({"check"});
  EXPECT_EQ(check.code, 0) << check.err;
  EXPECT_NE(check.err.find("3 temporary file(s)"), std::string::npos) << check.err;
  EXPECT_NE(check.err.find("1 session(s) belong to processes of this machine that are gone"), std::string::npos)
      << check.err;

  auto prune = Ward({"--json", "prune"});
  ASSERT_EQ(prune.code, 0) << prune.err;
  EXPECT_EQ(prune.Json()["sessions_removed"], 1);
  EXPECT_EQ(prune.Json()["temporaries_removed"], 1);
  EXPECT_FALSE(fs::exists(dead_tmp));
  EXPECT_TRUE(fs::exists(live_tmp)) << "its writer is alive";
  EXPECT_TRUE(fs::exists(old_tmp)) << "nothing proves its writer gone yet";
  EXPECT_TRUE(Objects("session").empty());

  // Seen unchanged for --stale-session-after by this host's clock: gone.
  auto later = Ward({"--json", "prune", "--stale-session-after", "0s"});
  ASSERT_EQ(later.code, 0) << later.err;
  EXPECT_EQ(later.Json()["temporaries_removed"], 1);
  EXPECT_FALSE(fs::exists(old_tmp));
  EXPECT_TRUE(fs::exists(live_tmp));
}

}  // namespace
}  // namespace ward::testing
