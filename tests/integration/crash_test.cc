// Crash safety (F6): kill -9 a backup at many instants; after each kill the
// repository must pass `check --read-data` with no unlock step, the next
// backup must work, and every snapshot must restore exactly.
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

class CrashTest : public WardTest {
 protected:
  std::string MakeData() {
    std::string d = dir_ + "/data";
    for (int i = 0; i < 6; ++i) WriteFile(d + "/random/" + std::to_string(i) + ".bin", RandomBytes(10 << 20, i));
    for (int i = 0; i < 4; ++i) WriteFile(d + "/text/" + std::to_string(i) + ".sql", CompressibleText(10 << 20, 100 + i));
    for (int i = 0; i < 1500; ++i) {
      WriteFile(d + "/small/" + std::to_string(i % 30) + "/" + std::to_string(i), RandomBytes(3000 + i, 1000 + i));
    }
    return d;
  }

  std::map<std::string, std::string> Env() {
    return {{"WARD_PASSWORD", password_}, {"XDG_CACHE_HOME", dir_ + "/cache"}};
  }

  // Starts `args`, kills it with SIGKILL after `delay`; returns its exit status.
  int KillAfter(const std::vector<std::string>& args, std::chrono::microseconds delay) {
    std::vector<std::string> argv = {WARD_BINARY, "-r", repo_};
    argv.insert(argv.end(), args.begin(), args.end());
    int pid = StartProcess(argv, Env(), dir_ + "/killed.log");
    EXPECT_GT(pid, 0);
    std::this_thread::sleep_for(delay);
    ::kill(pid, SIGKILL);
    return WaitProcess(pid);
  }

  void ExpectHealthy(const std::string& when) {
    auto chk = Ward({"check", "--read-data"});
    ASSERT_EQ(chk.code, 0) << when << ": " << chk.err << chk.out;
  }
};

TEST_F(CrashTest, KilledBackupsNeverDamageTheRepository) {
  Init();
  std::string data = MakeData();
  ASSERT_EQ(Ward({"backup", data, "--tag", "reference"}).code, 0);
  ASSERT_EQ(Ward({"restore", "latest", "--target", dir_ + "/ref"}).code, 0);
  // How long does a backup that re-reads everything take here? Kill points
  // are spread over it.
  // And one that reads only changed files (every third kill below)?
  auto timed = [&](std::vector<std::string> args) {
    auto t0 = std::chrono::steady_clock::now();
    EXPECT_EQ(Ward(args).code, 0);
    return double(std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0)
                      .count());
  };
  double full = timed({"backup", data, "--force"});
  WriteFile(data + "/random/calibrate.bin", RandomBytes(10 << 20, 499));
  double incremental = timed({"backup", data});

  std::mt19937_64 rng(42);
  constexpr int kKills = 24;
  int killed = 0;
  // The machine's speed varies (other tests run beside this one): when a
  // backup finishes before its kill, later kill points move earlier.
  double scale = 1.0;
  for (int i = 0; i < kKills; ++i) {
    // Change data so the backup has real work (new chunks, new packs).
    WriteFile(data + "/random/" + std::to_string(i % 6) + ".bin", RandomBytes(10 << 20, 500 + i));
    WriteFile(data + "/small/extra/" + std::to_string(i), RandomBytes(5000, 900 + i));
    const bool force = i % 3 != 0;  // re-read everything: long pipelines
    auto delay = std::chrono::microseconds(static_cast<int64_t>(
        (force ? full : incremental) * scale * (0.02 + 0.95 * double(i) / kKills) + double(rng() % 20000)));
    std::vector<std::string> args = {"backup", data};
    if (force) args.push_back("--force");
    int status = KillAfter(args, delay);
    if (status == 128 + SIGKILL) {
      ++killed;
    } else {
      scale *= 0.8;
    }
    ExpectHealthy("after kill " + std::to_string(i) + " at " + std::to_string(delay.count()) + "us");
    if (HasFatalFailure()) return;
    if (i % 6 == 5) {
      // A backup after the kill works, with no unlock step.
      auto b = Ward({"backup", data});
      ASSERT_EQ(b.code, 0) << b.err;
    }
  }
  EXPECT_GE(killed, kKills / 2) << "most kills should land while the backup runs";

  // A last backup, then every snapshot restores exactly what it saw.
  auto last = Ward({"backup", data});
  ASSERT_EQ(last.code, 0) << last.err;
  ExpectHealthy("final");
  ASSERT_EQ(Ward({"restore", "latest", "--target", dir_ + "/last"}).code, 0);
  EXPECT_EQ(DiffTrees(data, dir_ + "/last" + data), "");
  auto snaps = Ward({"snapshots", "--json"}).Json();
  for (const auto& s : snaps) {
    std::string target = dir_ + "/each/" + s["short_id"].get<std::string>();
    auto r = Ward({"restore", s["id"], "--target", target});
    EXPECT_EQ(r.code, 0) << r.err;
  }
  auto first = Ward({"snapshots", "--json", "--tag", "reference"}).Json();
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(DiffTrees(dir_ + "/ref" + data, dir_ + "/each/" + first[0]["short_id"].get<std::string>() + data), "");
}

TEST_F(CrashTest, KilledInitLeavesNoHalfRepository) {
  for (int i = 0; i < 8; ++i) {
    FreshRepo();
    int status = KillAfter({"init"}, std::chrono::microseconds(5000 + i * 30000));
    (void)status;
    // Either there is a working repository, or init can simply be run again.
    auto snaps = Ward({"snapshots"});
    if (snaps.code == 10) {
      auto init = Ward({"init", "--kdf-memory", "8", "--kdf-iterations", "1"});
      ASSERT_EQ(init.code, 0) << init.err;
    } else {
      ASSERT_EQ(snaps.code, 0) << snaps.err;
    }
    ASSERT_EQ(Ward({"check"}).code, 0);
  }
}

}  // namespace
}  // namespace ward::testing
