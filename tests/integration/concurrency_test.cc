// Prune while backups run (F7): no blob that a finished or in-flight
// snapshot references is ever deleted, without relying on clocks; a prune
// killed at any instant leaves a valid repository; two prunes never run at once.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <random>
#include <thread>

#include "harness.h"

namespace ward::testing {
namespace {

namespace fs = std::filesystem;

class ConcurrencyTest : public WardTest {
 protected:
  std::map<std::string, std::string> Env() {
    return {{"WARD_PASSWORD", password_}, {"XDG_CACHE_HOME", dir_ + "/cache"}};
  }
  int Start(std::vector<std::string> args, const std::string& log) {
    args.insert(args.begin(), {WARD_BINARY, "-r", repo_});
    return StartProcess(args, Env(), log);
  }
  // Starts session_holder and waits until its session is registered.
  int Holder(const std::string& kind) {
    std::string log = dir_ + "/holder-" + kind + ".log";
    int pid = StartProcess({SESSION_HOLDER, repo_, kind}, Env(), log);
    for (int i = 0; i < 200 && ReadFile(log).find("ready") == std::string::npos; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    EXPECT_NE(ReadFile(log).find("ready"), std::string::npos) << ReadFile(log);
    return pid;
  }
};

TEST_F(ConcurrencyTest, PruneWaitsForBackupsInFlightAndResurrectsWhatTheyUse) {
  Init();
  std::string x = dir_ + "/x.bin", y = dir_ + "/y.bin";
  WriteFile(x, RandomBytes(12 << 20, 1));
  WriteFile(y, RandomBytes(100000, 2));
  // S1 stores X's chunks.
  auto s1 = Ward({"--json", "backup", "--stdin-from-command", "--stdin-filename", "x", "--", "cat", x});
  ASSERT_EQ(s1.code, 0) << s1.err;
  // B dedups X's chunks against S1, then pauses before finishing.
  std::string blog = dir_ + "/b.log";
  int b = Start({"--json", "backup", "--stdin-from-command", "--stdin-filename", "xy", "--", "sh", "-c",
                 "cat '" + x + "'; sleep 5; cat '" + y + "'"},
                blog);
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  // S1 goes; X's chunks are now used by nothing but B, which is in flight.
  ASSERT_EQ(Ward({"forget", s1.Json()["snapshot_id"]}).code, 0);
  auto p1 = Ward({"--json", "prune"});
  ASSERT_EQ(p1.code, 0) << p1.err;
  auto j1 = p1.Json();
  EXPECT_GT(j1["packs_condemned"].get<int>(), 0) << p1.out;
  EXPECT_EQ(j1["plans_waiting"], 1) << "prune must wait for the backup in flight: " << p1.out;
  EXPECT_EQ(j1["packs_deleted"], 0);
  EXPECT_FALSE(j1["waiting_for"].empty());
  if (!j1["waiting_for"].empty()) {
    EXPECT_NE(j1["waiting_for"][0].get<std::string>().find("backup"), std::string::npos);
  }
  ASSERT_EQ(WaitProcess(b), 0) << ReadFile(blog);
  // B's snapshot references condemned blobs: still readable.
  auto chk = Ward({"check", "--read-data"});
  EXPECT_EQ(chk.code, 0) << chk.err;
  // The next prune may finish the deletion, and must keep what B uses.
  auto p2 = Ward({"--json", "prune"});
  ASSERT_EQ(p2.code, 0) << p2.err;
  auto j2 = p2.Json();
  EXPECT_EQ(j2["plans_waiting"], 0);
  EXPECT_GT(j2["packs_kept"].get<int>(), 0) << "the packs B needs must be resurrected: " << p2.out;
  auto chk2 = Ward({"check", "--read-data"});
  EXPECT_EQ(chk2.code, 0) << chk2.err;
  ASSERT_EQ(Ward({"restore", "latest", "--target", dir_ + "/out"}).code, 0);
  EXPECT_EQ(ReadFile(dir_ + "/out/xy"), ReadFile(x) + ReadFile(y));
  // Nothing is left waiting, and a third prune has nothing to do.
  auto p3 = Ward({"--json", "prune"});
  ASSERT_EQ(p3.code, 0);
  EXPECT_EQ(p3.Json()["plans_waiting"], 0);
}

TEST_F(ConcurrencyTest, TwoPrunesNeverRunAtOnceButDeadOnesDoNotBlock) {
  Init();
  WriteFile(dir_ + "/d/f", RandomBytes(1 << 20, 3));
  ASSERT_EQ(Ward({"backup", dir_ + "/d"}).code, 0);
  int holder = Holder("prune");
  auto locked = Ward({"prune"});
  EXPECT_EQ(locked.code, 11) << locked.err;
  EXPECT_NE(locked.err.find("locked"), std::string::npos) << locked.err;
  // A backup is not blocked by a prune.
  EXPECT_EQ(Ward({"backup", dir_ + "/d"}).code, 0);
  ::kill(holder, SIGKILL);
  WaitProcess(holder);
  // A killed prune leaves its session behind; on this machine its process is
  // known to be gone, so nobody needs to unlock anything.
  auto after = Ward({"prune"});
  EXPECT_EQ(after.code, 0) << after.err;
  // A killed backup does not hold prune back for ever either.
  int dead_backup = Holder("backup");
  ::kill(dead_backup, SIGKILL);
  WaitProcess(dead_backup);
  ASSERT_EQ(Ward({"forget", "--keep-last", "1"}).code, 0);
  auto p = Ward({"--json", "prune"});
  ASSERT_EQ(p.code, 0) << p.err;
  EXPECT_EQ(p.Json()["plans_waiting"], 0) << p.out;
}

TEST_F(ConcurrencyTest, BackupsForgetsAndPrunesAtOnceManyTimes) {
  Init();
  std::mt19937_64 rng(7);
  constexpr int kRounds = 8;
  for (int round = 0; round < kRounds; ++round) {
    // Two hosts' data change every round; part of it repeats earlier rounds
    // (so new backups deduplicate against data that prune wants to delete).
    for (int host = 0; host < 2; ++host) {
      std::string d = dir_ + "/host" + std::to_string(host);
      WriteFile(d + "/changing.bin", RandomBytes(6 << 20, 1000 * host + round));
      WriteFile(d + "/recurring.bin", RandomBytes(4 << 20, 500 + (round % 3)));
      WriteFile(d + "/round.txt", "round " + std::to_string(round) + "\n");
    }
    int b0 = Start({"backup", dir_ + "/host0", "--host", "h0", "--tag", "r" + std::to_string(round)},
                   dir_ + "/b0.log");
    int b1 = Start({"backup", dir_ + "/host1", "--host", "h1", "--tag", "r" + std::to_string(round)},
                   dir_ + "/b1.log");
    std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 400));
    auto f = Ward({"forget", "--keep-last", "2", "--group-by", "host"});
    EXPECT_EQ(f.code, 0) << f.err;
    int p = Start({"prune"}, dir_ + "/p.log");
    if (round % 3 == 2) {
      // Kill the prune at some instant: the repository must stay valid.
      std::this_thread::sleep_for(std::chrono::milliseconds(50 + rng() % 300));
      ::kill(p, SIGKILL);
      WaitProcess(p);
    } else {
      int st = WaitProcess(p);
      EXPECT_TRUE(st == 0 || st == 11) << ReadFile(dir_ + "/p.log");
    }
    EXPECT_EQ(WaitProcess(b0), 0) << ReadFile(dir_ + "/b0.log");
    EXPECT_EQ(WaitProcess(b1), 0) << ReadFile(dir_ + "/b1.log");
    auto chk = Ward({"check", "--read-data"});
    ASSERT_EQ(chk.code, 0) << "round " << round << ": " << chk.err;
  }
  // Settle: prune until nothing waits, then every snapshot restores exactly.
  ASSERT_EQ(Ward({"prune"}).code, 0);
  ASSERT_EQ(Ward({"prune"}).code, 0);
  ASSERT_EQ(Ward({"check", "--read-data"}).code, 0);
  for (const auto& s : Ward({"snapshots", "--json"}).Json()) {
    std::string target = dir_ + "/restore-" + s["short_id"].get<std::string>();
    auto r = Ward({"restore", s["id"], "--target", target});
    ASSERT_EQ(r.code, 0) << r.err;
    std::string host = s["host"] == "h0" ? "0" : "1";
    int round = std::stoi(s["tags"][0].get<std::string>().substr(1));
    std::string base = target + dir_ + "/host" + host;
    EXPECT_EQ(ReadFile(base + "/round.txt"), "round " + std::to_string(round) + "\n");
    EXPECT_EQ(ReadFile(base + "/changing.bin"), RandomBytes(6 << 20, 1000 * std::stoi(host) + round));
    EXPECT_EQ(ReadFile(base + "/recurring.bin"), RandomBytes(4 << 20, 500 + (round % 3)));
  }
}

}  // namespace
}  // namespace ward::testing
