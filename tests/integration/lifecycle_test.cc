// Lifecycle end to end (issue: forget, prune, holds, coverage, copy, diff,
// find): what an operator runs, against a local repository (and RGW).
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <set>
#include <thread>

#include "harness.h"

namespace ward::testing {
namespace {

namespace fs = std::filesystem;

class LifecycleTest : public WardTest {
 protected:
  // Backs up `dir` holding `size` random bytes from `seed` at `time`.
  std::string BackupAt(const std::string& time, uint64_t seed, const std::vector<std::string>& extra = {}) {
    std::string d = dir_ + "/data";
    WriteFile(d + "/file.bin", RandomBytes(3 << 20, seed));
    WriteFile(d + "/note.txt", "seed " + std::to_string(seed) + "\n");
    std::vector<std::string> args = {"--json", "backup", d, "--time", time};
    args.insert(args.end(), extra.begin(), extra.end());
    auto r = Ward(args);
    EXPECT_EQ(r.code, 0) << r.err;
    return r.code == 0 ? r.Json()["snapshot_id"].get<std::string>() : "";
  }
  size_t Snapshots() { return Ward({"snapshots", "--json"}).Json().size(); }
  uint64_t RepoBytes() {
    uint64_t total = 0;
    auto b = RepoBackend();
    for (auto t : {storage::FileType::kPack, storage::FileType::kIndex}) {
      EXPECT_TRUE(b->List(t, [&](const storage::FileInfo& fi) {
                     total += fi.size;
                     return Status::OK();
                   }).ok());
    }
    return total;
  }
};

TEST_F(LifecycleTest, ForgetKeepsByPolicyAndSaysWhy) {
  Init();
  // Ten days, two snapshots a day (06:00 and 18:00 UTC).
  for (int day = 1; day <= 10; ++day) {
    for (int hour : {6, 18}) {
      char t[32];
      snprintf(t, sizeof t, "2026-10-%02dT%02d:00:00Z", day, hour);
      BackupAt(t, day * 100 + hour);
    }
  }
  ASSERT_EQ(Snapshots(), 20u);
  auto dry = Ward({"--json", "forget", "--keep-daily", "3", "--keep-last", "2", "--timezone", "UTC", "--dry-run"});
  ASSERT_EQ(dry.code, 0) << dry.err;
  auto j = dry.Json();
  ASSERT_EQ(j["groups"].size(), 1u);
  auto keep = j["groups"][0]["keep"];
  EXPECT_EQ(keep.size(), 4u);  // last 2 (day 10 18:00, 06:00) + daily for days 10, 9, 8 -> 4 distinct
  EXPECT_EQ(j["groups"][0]["remove"].size(), 16u);
  EXPECT_EQ(keep[0]["time"], "2026-10-10T18:00:00Z");
  EXPECT_EQ(keep[0]["reasons"], nlohmann::json({"last 1", "daily 1"}));
  EXPECT_EQ(keep[1]["reasons"], nlohmann::json({"last 2"}));
  EXPECT_EQ(keep[3]["time"], "2026-10-08T18:00:00Z");
  EXPECT_EQ(Snapshots(), 20u) << "dry run removed something";

  // A time zone moves the day boundaries: in UTC+14 the 18:00 UTC snapshot is the next day.
  auto tz = Ward({"--json", "forget", "--keep-daily", "1", "--timezone", "Pacific/Kiritimati", "--dry-run"});
  ASSERT_EQ(tz.code, 0) << tz.err;
  EXPECT_EQ(tz.Json()["groups"][0]["keep"][0]["time"], "2026-10-10T18:00:00Z");
  EXPECT_EQ(Ward({"forget", "--keep-daily", "1", "--timezone", "Mars/Olympus"}).code, 2);
  EXPECT_EQ(Ward({"forget"}).code, 2);  // no policy: refuse

  auto real = Ward({"forget", "--keep-within", "2d", "--keep-weekly", "2", "--timezone", "UTC"});
  ASSERT_EQ(real.code, 0) << real.err;
  EXPECT_NE(real.out.find("within"), std::string::npos) << real.out;
  EXPECT_NE(real.out.find("weekly"), std::string::npos) << real.out;
  // within 2d of 10th 18:00: 8th 18:00 .. 10th 18:00 = 5 snapshots; weekly adds the week before.
  EXPECT_EQ(Snapshots(), 6u);
}

TEST_F(LifecycleTest, PruneFreesSpaceAndEveryRemainingSnapshotRestores) {
  Init();
  std::vector<std::string> ids;
  for (int i = 0; i < 6; ++i) ids.push_back(BackupAt("2026-10-0" + std::to_string(i + 1) + "T12:00:00Z", 500 + i));
  uint64_t before = RepoBytes();
  auto dry = Ward({"--json", "prune", "--dry-run"});
  ASSERT_EQ(dry.code, 0) << dry.err;
  EXPECT_EQ(dry.Json()["packs_condemned"], 0) << "nothing is unused yet";
  ASSERT_EQ(Ward({"forget", "--keep-last", "2"}).code, 0);
  auto dry2 = Ward({"--json", "prune", "--dry-run"});
  ASSERT_EQ(dry2.code, 0);
  EXPECT_GT(dry2.Json()["bytes_to_free"].get<uint64_t>(), 10u << 20);
  EXPECT_EQ(RepoBytes(), before) << "dry run deleted something";
  auto p = Ward({"--json", "prune"});
  ASSERT_EQ(p.code, 0) << p.err;
  auto j = p.Json();
  EXPECT_GT(j["bytes_freed"].get<uint64_t>(), 10u << 20);
  EXPECT_EQ(j["plans_waiting"], 0);
  EXPECT_LT(RepoBytes(), before - (10u << 20));
  auto chk = Ward({"check", "--read-data"});
  EXPECT_EQ(chk.code, 0) << chk.err;
  EXPECT_EQ(chk.err.find("not in any index"), std::string::npos) << "prune left unindexed packs: " << chk.err;
  for (const auto& s : Ward({"snapshots", "--json"}).Json()) {
    auto r = Ward({"restore", s["id"], "--target", dir_ + "/r-" + s["short_id"].get<std::string>()});
    EXPECT_EQ(r.code, 0) << r.err;
  }
  std::string last = Ward({"snapshots", "--json", "--latest"}).Json()[0]["paths"][0];
  EXPECT_EQ(ReadFile(dir_ + "/r-" + ids.back().substr(0, 8) + last + "/file.bin"), RandomBytes(3 << 20, 505));
  // Pruning again finds nothing to do.
  auto again = Ward({"--json", "prune"});
  ASSERT_EQ(again.code, 0);
  EXPECT_EQ(again.Json()["packs_condemned"], 0);
}

TEST_F(LifecycleTest, HeldSnapshotsSurviveForgetAndPruneUntilReleased) {
  Init();
  std::string held = BackupAt("2026-09-01T00:00:00Z", 1);
  for (int i = 2; i <= 4; ++i) BackupAt("2026-09-0" + std::to_string(i) + "T00:00:00Z", i);
  auto add = Ward({"hold", "add", held.substr(0, 10), "--reason", "legal request 2026-117"});
  ASSERT_EQ(add.code, 0) << add.err;
  EXPECT_EQ(Ward({"hold", "add", held.substr(0, 10)}).code, 2);  // a reason is required
  auto list = Ward({"--json", "hold", "list"});
  ASSERT_EQ(list.code, 0);
  ASSERT_EQ(list.Json().size(), 1u);
  EXPECT_EQ(list.Json()[0]["snapshot"], held);
  EXPECT_EQ(list.Json()[0]["reason"], "legal request 2026-117");
  EXPECT_FALSE(list.Json()[0]["user"].get<std::string>().empty());
  EXPECT_FALSE(list.Json()[0]["time"].get<std::string>().empty());

  auto f = Ward({"forget", "--keep-last", "1", "--prune"});
  ASSERT_EQ(f.code, 0) << f.err;
  EXPECT_NE(f.out.find("held: legal request 2026-117"), std::string::npos) << f.out;
  EXPECT_EQ(Snapshots(), 2u);
  // Explicitly forgetting it is refused too.
  ASSERT_EQ(Ward({"forget", held.substr(0, 8)}).code, 0);
  EXPECT_EQ(Snapshots(), 2u);
  ASSERT_EQ(Ward({"restore", held, "--target", dir_ + "/held"}).code, 0);
  EXPECT_EQ(Ward({"check", "--read-data"}).code, 0);

  ASSERT_EQ(Ward({"hold", "release", held.substr(0, 8)}).code, 0);
  EXPECT_NE(Ward({"hold", "release", held.substr(0, 8)}).code, 0);  // nothing left to release
  EXPECT_EQ(Ward({"--json", "hold", "list"}).Json().size(), 0u);
  auto all = Ward({"--json", "hold", "list", "--all"}).Json();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_TRUE(all[0]["released"].get<bool>());
  ASSERT_EQ(Ward({"forget", "--keep-last", "1", "--prune"}).code, 0);
  EXPECT_EQ(Snapshots(), 1u);
  EXPECT_EQ(Ward({"check", "--read-data"}).code, 0);
}

TEST_F(LifecycleTest, CoverageListsEveryGap) {
  Init();
  for (const char* t : {"2026-11-01T01:00:00Z", "2026-11-02T01:00:00Z", "2026-11-05T01:00:00Z"}) {
    BackupAt(t, 7, {"--host", "db1"});
  }
  BackupAt("2026-11-03T01:00:00Z", 8, {"--host", "web1"});
  auto c = Ward({"--json", "coverage", "--every", "1d", "--since", "2026-11-01T00:00:00Z", "--until",
                 "2026-11-06T00:00:00Z", "--host", "db1"});
  EXPECT_EQ(c.code, 1) << c.err;
  auto j = c.Json();
  EXPECT_EQ(j["intervals"], 5);
  EXPECT_EQ(j["covered"], 3);
  ASSERT_EQ(j["gaps"].size(), 1u);
  EXPECT_EQ(j["gaps"][0]["start"], "2026-11-03T00:00:00Z");
  EXPECT_EQ(j["gaps"][0]["end"], "2026-11-05T00:00:00Z");
  EXPECT_EQ(j["gaps"][0]["intervals"], 2);
  auto all_hosts = Ward({"coverage", "--every", "1d", "--since", "2026-11-01T00:00:00Z", "--until",
                         "2026-11-03T00:00:00Z"});
  EXPECT_EQ(all_hosts.code, 0) << all_hosts.err;
  auto hourly = Ward({"coverage", "--every", "12h", "--since", "2026-11-01T00:00:00Z", "--until",
                      "2026-11-02T00:00:00Z"});
  EXPECT_EQ(hourly.code, 1);
  EXPECT_NE(hourly.out.find("missing"), std::string::npos);
  EXPECT_EQ(Ward({"coverage", "--every", "soon"}).code, 2);
}

TEST_F(LifecycleTest, CopyTransfersOnlyWhatTheTargetLacks) {
  Init();
  BackupAt("2026-08-01T00:00:00Z", 11);
  BackupAt("2026-08-02T00:00:00Z", 12);
  std::string source = repo_;
  std::string src_tree_data = ReadFile(dir_ + "/data/file.bin");
  FreshRepo();
  std::string target = repo_;
  WriteFile(dir_ + "/target-pw", "another password\n");
  ASSERT_EQ(Ward({"init", "--kdf-memory", "8"}, {{"WARD_PASSWORD", "another password"}}).code, 0);
  repo_ = source;
  auto c = Ward({"--json", "copy", "--to", target, "--to-password-file", dir_ + "/target-pw"});
  ASSERT_EQ(c.code, 0) << c.err;
  EXPECT_EQ(c.Json()["snapshots_copied"], 2);
  repo_ = target;
  auto objects = RepoObjectNames();
  repo_ = source;
  auto again = Ward({"--json", "copy", "--to", target, "--to-password-file", dir_ + "/target-pw"});
  ASSERT_EQ(again.code, 0) << again.err;
  EXPECT_EQ(again.Json()["snapshots_copied"], 0);
  EXPECT_EQ(again.Json()["snapshots_skipped"], 2);
  repo_ = target;
  auto after = RepoObjectNames();
  std::erase_if(after, [](const std::string& n) { return n.rfind("session/", 0) == 0; });
  std::erase_if(objects, [](const std::string& n) { return n.rfind("session/", 0) == 0; });
  EXPECT_EQ(objects, after) << "copying twice added objects";
  auto chk = Ward({"check", "--read-data"}, {{"WARD_PASSWORD", "another password"}});
  EXPECT_EQ(chk.code, 0) << chk.err;
  auto r = Ward({"restore", "latest", "--target", dir_ + "/copied"}, {{"WARD_PASSWORD", "another password"}});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(ReadFile(dir_ + "/copied" + dir_ + "/data/file.bin"), src_tree_data);

  // A target that shares blob IDs: a new snapshot moves only its new blobs.
  repo_ = source;
  FreshRepo();
  std::string twin = repo_;
  ASSERT_EQ(Ward({"init", "--kdf-memory", "8", "--copy-ids-from", source}).code, 0);
  repo_ = source;
  ASSERT_EQ(Ward({"copy", "--to", twin}).code, 0);
  BackupAt("2026-08-03T00:00:00Z", 12);  // same data as the second snapshot
  auto incremental = Ward({"--json", "copy", "--to", twin});
  ASSERT_EQ(incremental.code, 0) << incremental.err;
  auto ij = incremental.Json();
  EXPECT_EQ(ij["snapshots_copied"], 1);
  EXPECT_EQ(ij["bytes_read"], 0) << "with shared IDs nothing already there is read";
  repo_ = twin;
  EXPECT_EQ(Ward({"check", "--read-data"}).code, 0);
  EXPECT_EQ(Ward({"snapshots", "--json"}).Json().size(), 3u);
}

TEST_F(LifecycleTest, DiffAndFind) {
  Init();
  std::string d = dir_ + "/tree";
  WriteFile(d + "/keep.txt", "same");
  WriteFile(d + "/change.txt", "old");
  WriteFile(d + "/gone/old.log", "bye");
  auto a = Ward({"--json", "backup", d});
  ASSERT_EQ(a.code, 0);
  WriteFile(d + "/change.txt", "new content");
  fs::remove_all(d + "/gone");
  WriteFile(d + "/new/report.sql", "select 1;");
  auto b = Ward({"--json", "backup", d});
  ASSERT_EQ(b.code, 0);
  std::string ida = a.Json()["short_id"], idb = b.Json()["short_id"];
  auto diff = Ward({"diff", ida, idb});
  ASSERT_EQ(diff.code, 0) << diff.err;
  EXPECT_NE(diff.out.find("M " + d + "/change.txt"), std::string::npos) << diff.out;
  EXPECT_NE(diff.out.find("- " + d + "/gone/"), std::string::npos) << diff.out;
  EXPECT_NE(diff.out.find("+ " + d + "/new/"), std::string::npos) << diff.out;
  EXPECT_EQ(diff.out.find("keep.txt"), std::string::npos) << diff.out;
  auto dj = Ward({"--json", "diff", ida, idb}).Json();
  EXPECT_EQ(dj["added"], 1);
  EXPECT_EQ(dj["removed"], 1);
  EXPECT_EQ(dj["changed"], 1);

  auto find = Ward({"--json", "find", "*.sql"});
  ASSERT_EQ(find.code, 0);
  ASSERT_EQ(find.Json().size(), 1u);
  EXPECT_EQ(find.Json()[0]["path"], d + "/new/report.sql");
  EXPECT_EQ(find.Json()[0]["short_id"], idb);
  auto both = Ward({"--json", "find", "keep.txt"}).Json();
  EXPECT_EQ(both.size(), 2u);
  auto full = Ward({"--json", "find", d + "/gone/*"}).Json();
  ASSERT_EQ(full.size(), 1u);
  EXPECT_EQ(full[0]["short_id"], ida);
}

}  // namespace
}  // namespace ward::testing
