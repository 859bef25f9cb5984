// End-to-end tests of the ward command line against a local repository:
// what a user types, what they see, and the exit status.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <set>
#include <sstream>

#include "harness.h"

namespace ward::testing {
namespace {

namespace fs = std::filesystem;

class CliTest : public WardTest {
 protected:
  // A tree with every kind of entry a restore must give back.
  std::string MakeData() {
    std::string d = dir_ + "/data";
    WriteFile(d + "/plain.txt", "hello world\n");
    WriteFile(d + "/empty", "");
    WriteFile(d + "/with space/ünïcödé ✓.txt", "unicode name\n");
    WriteFile(d + "/big/random.bin", RandomBytes(6 << 20, 1));
    WriteFile(d + "/big/text.sql", CompressibleText(4 << 20, 2));
    fs::create_directories(d + "/empty-dir");
    fs::create_directories(d + "/readonly-dir");
    WriteFile(d + "/readonly-dir/file", "ro");
    ::chmod((d + "/readonly-dir/file").c_str(), 0444);
    ::chmod((d + "/readonly-dir").c_str(), 0555);
    ::symlink("plain.txt", (d + "/link-to-plain").c_str());
    ::symlink("/nonexistent/target", (d + "/dangling").c_str());
    ::link((d + "/plain.txt").c_str(), (d + "/hardlink").c_str());
    ::chmod((d + "/plain.txt").c_str(), 04750);
    ::mkfifo((d + "/fifo").c_str(), 0640);
    int fd = ::open((d + "/sparse.img").c_str(), O_WRONLY | O_CREAT, 0600);
    EXPECT_EQ(::pwrite(fd, "end", 3, 20 << 20), 3);
    ::close(fd);
    if (::geteuid() == 0) {
      EXPECT_EQ(::lchown((d + "/with space").c_str(), 1234, 5678), 0);
      EXPECT_EQ(::lchown((d + "/big/text.sql").c_str(), 4321, 8765), 0);
    }
    struct timespec ts[2] = {{1000000000, 123456789}, {1000000000, 123456789}};
    ::utimensat(AT_FDCWD, (d + "/empty").c_str(), ts, 0);
    return d;
  }
};

TEST_F(CliTest, BackupAndRestoreGiveBackEverything) {
  Init();
  std::string data = MakeData();
  auto b = Ward({"--json", "backup", data, "--tag", "first", "--host", "web1"});
  ASSERT_EQ(b.code, 0) << b.err;
  auto sum = b.Json();
  EXPECT_EQ(sum["message_type"], "summary");
  for (const char* k : {"snapshot_id", "files_new", "files_changed", "files_unmodified", "data_added",
                        "total_bytes_processed", "duration_seconds"}) {
    EXPECT_TRUE(sum.contains(k)) << k;
  }
  EXPECT_EQ(sum["files_new"], 8);
  // 6 MiB random + 4 MiB of text that compresses: well under 10 MiB stored.
  EXPECT_LT(sum["data_added"].get<uint64_t>(), 8u << 20);

  auto r = Ward({"restore", "latest", "--target", dir_ + "/out"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(DiffTrees(data, dir_ + "/out" + data), "");
  struct stat st;
  ASSERT_EQ(::stat((dir_ + "/out" + data + "/sparse.img").c_str(), &st), 0);
  EXPECT_LT(st.st_blocks * 512, 1 << 20) << "sparse file restored dense";
  ASSERT_EQ(::lstat((dir_ + "/out" + data + "/fifo").c_str(), &st), 0);
  EXPECT_TRUE(S_ISFIFO(st.st_mode));

  auto snaps = Ward({"snapshots", "--json"});
  ASSERT_EQ(snaps.code, 0);
  auto arr = snaps.Json();
  ASSERT_EQ(arr.size(), 1u);
  for (const char* k : {"id", "short_id", "time", "host", "tags", "paths", "source"}) {
    EXPECT_TRUE(arr[0].contains(k)) << k;
  }
  EXPECT_EQ(arr[0]["host"], "web1");
  EXPECT_EQ(arr[0]["tags"][0], "first");
  EXPECT_EQ(arr[0]["paths"][0], data);
  EXPECT_EQ(arr[0]["source"], "files");

  auto ls = Ward({"ls", arr[0]["short_id"], data + "/with space"});
  ASSERT_EQ(ls.code, 0) << ls.err;
  EXPECT_NE(ls.out.find("ünïcödé ✓.txt"), std::string::npos) << ls.out;
}

TEST_F(CliTest, UnchangedReBackupReadsNothingAndStoresNothing) {
  Init();
  std::string data = MakeData();
  ASSERT_EQ(Ward({"backup", data}).code, 0);
  auto again = Ward({"--json", "backup", data});
  ASSERT_EQ(again.code, 0) << again.err;
  auto s = again.Json();
  EXPECT_EQ(s["files_unmodified"], 8);
  EXPECT_EQ(s["files_new"], 0);
  EXPECT_EQ(s["data_blobs"], 0);
  // Only trees may change: the snapshot mirrors /tmp, whose mtime moves
  // whenever another test creates a directory there.
  EXPECT_LT(s["data_added"].get<uint64_t>(), 1024u);
  WriteFile(data + "/big/text.sql", CompressibleText(4 << 20, 3));
  auto third = Ward({"--json", "backup", data});
  ASSERT_EQ(third.code, 0);
  EXPECT_EQ(third.Json()["files_changed"], 1);
  EXPECT_EQ(third.Json()["files_unmodified"], 7);
}

// A path through a symlinked folder backs up what is behind the link (as
// tar and restic do): `lnk/small`, `lnk/text.txt` and `lnk/` hold the
// files; `lnk` alone is the link.
TEST_F(CliTest, BackupThroughASymlinkedFolderSavesTheFiles) {
  Init();
  std::string real = dir_ + "/real";
  WriteFile(real + "/small", RandomBytes(100000, 7));
  WriteFile(real + "/text.txt", "some text\n");
  ASSERT_EQ(::symlink(real.c_str(), (dir_ + "/lnk").c_str()), 0);
  for (std::string path : {"lnk/small", "lnk/text.txt", "lnk/"}) {
    auto b = Ward({"--json", "backup", dir_ + "/" + path});
    ASSERT_EQ(b.code, 0) << path << ": " << b.err;
    EXPECT_GE(b.Json()["total_files_processed"].get<int>(), 1) << path;
    std::string out = dir_ + "/out-" + std::to_string(path.size());
    auto r = Ward({"restore", "latest", "--target", out});
    ASSERT_EQ(r.code, 0) << r.err;
    if (path == "lnk/") {
      EXPECT_EQ(DiffTrees(real, out + dir_ + "/lnk"), "");
    } else {
      EXPECT_EQ(ReadFile(out + dir_ + "/" + path), ReadFile(dir_ + "/" + path)) << path;
    }
  }
  auto link = Ward({"--json", "backup", dir_ + "/lnk"});
  ASSERT_EQ(link.code, 0) << link.err;
  EXPECT_EQ(link.Json()["total_files_processed"], 0);
  auto ls = Ward({"ls", "latest", dir_ + "/lnk"});
  ASSERT_EQ(ls.code, 0) << ls.err;
  EXPECT_EQ(ls.out.find("small"), std::string::npos) << ls.out;
}

TEST_F(CliTest, ExitCodesForCommonMistakes) {
  // No repository.
  auto missing = Ward({"snapshots"});
  EXPECT_EQ(missing.code, 10);
  EXPECT_NE(missing.err.find("ward init"), std::string::npos) << missing.err;
  Init();
  // Wrong password.
  auto wrong = Ward({"snapshots"}, {{"WARD_PASSWORD", "not it"}});
  EXPECT_EQ(wrong.code, 12);
  EXPECT_NE(wrong.err.find("wrong password"), std::string::npos);
  // Init over an existing repository is refused and touches nothing.
  auto before = RepoObjectNames();
  auto again = Ward({"init"});
  EXPECT_NE(again.code, 0);
  EXPECT_NE(again.err.find("already exists"), std::string::npos);
  EXPECT_EQ(before, RepoObjectNames());
  // Usage errors.
  EXPECT_EQ(Ward({"backup", "--no-such-flag"}).code, 2);
  EXPECT_EQ(Ward({"restore", "latest"}).code, 2);  // --target missing
  EXPECT_EQ(Ward({"backup"}).code, 2);
  EXPECT_EQ(Ward({"check", "--read-data-subset", "150%"}).code, 2);
  // No password anywhere and no terminal.
  auto nopw = RunProcess({"setsid", WARD_BINARY, "-r", repo_, "snapshots"}, {{"WARD_PASSWORD", ""}});
  EXPECT_EQ(nopw.code, 2) << nopw.err;
  EXPECT_NE(nopw.err.find("no password"), std::string::npos) << nopw.err;
  // Unknown snapshot.
  EXPECT_NE(Ward({"restore", "deadbeef", "--target", dir_ + "/x"}).code, 0);
  // A repository URL of an unknown kind.
  EXPECT_EQ(WardNoRepo({"-r", "ftp://x/y", "snapshots"}).code, 2);
}

TEST_F(CliTest, PasswordSources) {
  Init();
  WriteFile(dir_ + "/pw", password_ + "\n");
  WriteFile(dir_ + "/bad", "nope\n");
  EXPECT_EQ(Ward({"--password-file", dir_ + "/pw", "snapshots"}, {{"WARD_PASSWORD", "x"}}).code, 0);
  EXPECT_EQ(Ward({"snapshots"}, {{"WARD_PASSWORD", ""}, {"WARD_PASSWORD_FILE", dir_ + "/pw"}}).code, 0);
  EXPECT_EQ(Ward({"--password-command", "cat " + dir_ + "/pw", "snapshots"}, {{"WARD_PASSWORD", ""}}).code, 0);
  // Flags win over the environment.
  EXPECT_EQ(Ward({"--password-file", dir_ + "/bad", "snapshots"}).code, 12);
  auto failing = Ward({"--password-command", "exit 4", "snapshots"}, {{"WARD_PASSWORD", ""}});
  EXPECT_NE(failing.code, 0);
  EXPECT_NE(failing.err.find("password-command"), std::string::npos) << failing.err;
}

TEST_F(CliTest, UnreadableInputsGiveExit3AndTheRestIsSaved) {
  Init();
  std::string data = MakeData();
  auto r = Ward({"backup", data, dir_ + "/does-not-exist"});
  EXPECT_EQ(r.code, 3) << r.err;
  EXPECT_NE(r.err.find("does-not-exist"), std::string::npos) << r.err;
  auto snaps = Ward({"snapshots", "--json"});
  ASSERT_EQ(snaps.Json().size(), 1u);
  if (::geteuid() == 0) {
    // Permission denied, as an unprivileged user would meet it.
    std::string d2 = dir_ + "/private";
    WriteFile(d2 + "/secret", "s");
    WriteFile(d2 + "/public", "p");
    ::chmod((d2 + "/secret").c_str(), 0);
    ::chmod(dir_.c_str(), 0755);
    RunProcess({"chown", "-R", "65534:65534", d2});
    if (!UseS3()) RunProcess({"chown", "-R", "65534:65534", repo_});
    auto nobody = RunProcess({"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", WARD_BINARY, "-r",
                              repo_, "--no-cache", "backup", d2},
                             {{"WARD_PASSWORD", password_}});
    EXPECT_EQ(nobody.code, 3) << nobody.err;
    EXPECT_NE(nobody.err.find("secret"), std::string::npos) << nobody.err;
    EXPECT_NE(nobody.err.find("Permission denied"), std::string::npos) << nobody.err;
    if (!UseS3()) RunProcess({"chown", "-R", "0:0", repo_});
    auto res = Ward({"restore", "latest", "--target", dir_ + "/out2"});
    ASSERT_EQ(res.code, 0) << res.err;
    EXPECT_TRUE(fs::exists(dir_ + "/out2" + d2 + "/public"));
    EXPECT_FALSE(fs::exists(dir_ + "/out2" + d2 + "/secret"));
  }
  // Nothing readable at all: a failure, and no snapshot.
  EXPECT_EQ(Ward({"backup", dir_ + "/nothing"}).code, 1);
}

TEST_F(CliTest, CommandOutputIsStoredOnlyWhenTheCommandSucceeds) {
  Init();
  auto ok = Ward({"backup", "--stdin-from-command", "--stdin-filename", "dump.sql", "--tag", "db", "--", "sh", "-c",
                  "echo 'CREATE TABLE t (id int);'; echo progress >&2"});
  ASSERT_EQ(ok.code, 0) << ok.err;
  auto bad = Ward({"backup", "--stdin-from-command", "--stdin-filename", "dump.sql", "--", "sh", "-c",
                   "head -c 2000000 /dev/urandom; echo 'mongodump: connection refused' >&2; exit 7"});
  EXPECT_EQ(bad.code, 1);
  EXPECT_NE(bad.err.find("exit status 7"), std::string::npos) << bad.err;
  EXPECT_NE(bad.err.find("connection refused"), std::string::npos) << bad.err;
  EXPECT_NE(bad.err.find("no snapshot"), std::string::npos) << bad.err;
  auto missing = Ward({"backup", "--stdin-from-command", "--", "no-such-dump-tool"});
  EXPECT_EQ(missing.code, 1);
  EXPECT_NE(missing.err.find("no-such-dump-tool"), std::string::npos);
  auto snaps = Ward({"snapshots", "--json"}).Json();
  ASSERT_EQ(snaps.size(), 1u);
  EXPECT_EQ(snaps[0]["source"], "command");
  ASSERT_EQ(Ward({"restore", "latest", "--target", dir_ + "/r"}).code, 0);
  EXPECT_EQ(ReadFile(dir_ + "/r/dump.sql"), "CREATE TABLE t (id int);\n");
  struct stat st;
  ::stat((dir_ + "/r/dump.sql").c_str(), &st);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(CliTest, SnapshotFilters) {
  Init();
  std::string data = dir_ + "/d";
  WriteFile(data + "/f", "x");
  ASSERT_EQ(Ward({"backup", data, "--host", "a", "--tag", "daily", "--time", "2026-01-01T10:00:00Z"}).code, 0);
  ASSERT_EQ(Ward({"backup", data, "--host", "a", "--tag", "daily,db", "--time", "2026-01-02T10:00:00Z"}).code, 0);
  ASSERT_EQ(Ward({"backup", data, "--host", "b", "--time", "2026-01-03T10:00:00Z"}).code, 0);
  auto count = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"snapshots", "--json"});
    auto r = Ward(args);
    EXPECT_EQ(r.code, 0) << r.err;
    return r.Json().size();
  };
  EXPECT_EQ(count({}), 3u);
  EXPECT_EQ(count({"--host", "a"}), 2u);
  EXPECT_EQ(count({"--tag", "db"}), 1u);
  EXPECT_EQ(count({"--tag", "daily"}), 2u);
  EXPECT_EQ(count({"--since", "2026-01-02"}), 2u);
  EXPECT_EQ(count({"--until", "2026-01-02"}), 2u);
  EXPECT_EQ(count({"--since", "2026-01-02T00:00:00Z", "--until", "2026-01-02T23:00:00Z"}), 1u);
  EXPECT_EQ(count({"--latest"}), 2u);  // newest of host a, newest of host b
  EXPECT_EQ(count({"--latest", "--host", "a"}), 1u);
  auto latest = Ward({"snapshots", "--json", "--latest", "--host", "a"}).Json();
  EXPECT_EQ(latest[0]["time"], "2026-01-02T10:00:00Z");
  EXPECT_EQ(Ward({"snapshots", "--since", "last tuesday"}).code, 2);
}

TEST_F(CliTest, RestoreSubtreeIncludeExcludeAndDelta) {
  Init();
  std::string data = MakeData();
  ASSERT_EQ(Ward({"backup", data}).code, 0);
  auto sub = Ward({"restore", "latest:" + data + "/big", "--target", dir_ + "/sub"});
  ASSERT_EQ(sub.code, 0) << sub.err;
  EXPECT_TRUE(fs::exists(dir_ + "/sub/random.bin"));
  EXPECT_FALSE(fs::exists(dir_ + "/sub/plain.txt"));
  auto inc = Ward({"restore", "latest", "--target", dir_ + "/inc", "--include", "*.sql"});
  ASSERT_EQ(inc.code, 0) << inc.err;
  EXPECT_TRUE(fs::exists(dir_ + "/inc" + data + "/big/text.sql"));
  EXPECT_FALSE(fs::exists(dir_ + "/inc" + data + "/big/random.bin"));
  auto exc = Ward({"restore", "latest", "--target", dir_ + "/exc", "--exclude", "big"});
  ASSERT_EQ(exc.code, 0) << exc.err;
  EXPECT_FALSE(fs::exists(dir_ + "/exc" + data + "/big"));
  EXPECT_TRUE(fs::exists(dir_ + "/exc" + data + "/plain.txt"));

  // Delta: damage one file of a full restore, then restore again.
  ASSERT_EQ(Ward({"restore", "latest", "--target", dir_ + "/full"}).code, 0);
  std::string victim = dir_ + "/full" + data + "/big/random.bin";
  int fd = ::open(victim.c_str(), O_WRONLY);
  ASSERT_EQ(::pwrite(fd, "garbage", 7, 1 << 20), 7);
  ::close(fd);
  auto delta = Ward({"--json", "restore", "latest", "--target", dir_ + "/full", "--delta"});
  ASSERT_EQ(delta.code, 0) << delta.err;
  auto j = delta.Json();
  EXPECT_GT(j["bytes_reused"].get<uint64_t>(), 8u << 20);
  EXPECT_LT(j["bytes_written"].get<uint64_t>(), 4u << 20);
  EXPECT_EQ(DiffTrees(data, dir_ + "/full" + data), "");
}

TEST_F(CliTest, DamagedPackIsNamedByCheckAndRestoreSavesTheRest) {
  Init();
  std::string data = MakeData();
  ASSERT_EQ(Ward({"backup", data}).code, 0);
  auto snap = Ward({"snapshots", "--json"}).Json()[0]["short_id"].get<std::string>();
  ASSERT_EQ(Ward({"check", "--read-data"}).code, 0);
  // Flip one bit in the largest pack.
  auto [pack, best] = LargestPack();
  ASSERT_FALSE(pack.empty());
  RewritePack(pack, [](Bytes* b) { (*b)[4096] ^= 4; });
  EXPECT_EQ(Ward({"check"}).code, 0);  // structure is fine
  auto chk = Ward({"check", "--read-data"});
  EXPECT_EQ(chk.code, 20);
  EXPECT_NE(chk.err.find(pack), std::string::npos) << chk.err;
  EXPECT_NE(chk.err.find("snapshot " + snap), std::string::npos) << chk.err;
  auto res = Ward({"restore", "latest", "--target", dir_ + "/out"});
  EXPECT_EQ(res.code, 1);
  EXPECT_NE(res.err.find("could not restore"), std::string::npos) << res.err;
  EXPECT_TRUE(fs::exists(dir_ + "/out" + data + "/plain.txt"));

  // A truncated pack.
  uint64_t half = best / 2;
  RewritePack(pack, [half](Bytes* b) { b->resize(half); });
  auto chk2 = Ward({"check"});
  EXPECT_EQ(chk2.code, 20);
  EXPECT_NE(chk2.err.find("truncated"), std::string::npos) << chk2.err;
  auto chkjson = Ward({"--json", "check", "--read-data"});
  EXPECT_EQ(chkjson.code, 20);
  EXPECT_EQ(chkjson.Json()["damaged_packs"][0], pack);
}

TEST_F(CliTest, CheckReadsASubsetOfPacks) {
  Init();
  std::string data = dir_ + "/data";
  for (int i = 0; i < 10; ++i) WriteFile(data + "/f" + std::to_string(i), RandomBytes(10 << 20, 60 + i));
  ASSERT_EQ(Ward({"backup", data}).code, 0);
  auto all = Ward({"--json", "check", "--read-data"});
  ASSERT_EQ(all.code, 0) << all.err;
  uint64_t packs = all.Json()["packs_read"];
  ASSERT_GE(packs, 4u);
  auto part = Ward({"--json", "check", "--read-data-subset", "25%"});
  ASSERT_EQ(part.code, 0) << part.err;
  uint64_t read = part.Json()["packs_read"];
  EXPECT_GE(read, 1u);
  EXPECT_LT(read, packs);
  EXPECT_EQ(Ward({"check", "--read-data-subset", "0%"}).code, 2);
  EXPECT_EQ(Ward({"check", "--read-data-subset", "x"}).code, 2);
}

TEST_F(CliTest, KeysAddListRemovePasswd) {
  Init();
  WriteFile(dir_ + "/new", "second password\n");
  auto add = Ward({"--json", "key", "add", "--new-password-file", dir_ + "/new"});
  ASSERT_EQ(add.code, 0) << add.err;
  std::string second = add.Json()["id"];
  auto list = Ward({"--json", "key", "list"});
  ASSERT_EQ(list.Json().size(), 2u);
  std::string first;
  for (const auto& k : list.Json()) {
    if (k["current"]) first = k["id"];
  }
  ASSERT_FALSE(first.empty());
  EXPECT_EQ(Ward({"snapshots"}, {{"WARD_PASSWORD", "second password"}}).code, 0);
  // The key in use cannot be removed; another can, and the rest keeps working.
  EXPECT_NE(Ward({"key", "remove", first.substr(0, 8)}).code, 0);
  ASSERT_EQ(Ward({"key", "remove", first.substr(0, 8)}, {{"WARD_PASSWORD", "second password"}}).code, 0);
  EXPECT_EQ(Ward({"snapshots"}).code, 12);
  EXPECT_EQ(Ward({"snapshots"}, {{"WARD_PASSWORD", "second password"}}).code, 0);
  WriteFile(dir_ + "/third", "third password\n");
  ASSERT_EQ(Ward({"key", "passwd", "--new-password-file", dir_ + "/third"}, {{"WARD_PASSWORD", "second password"}})
                .code,
            0);
  EXPECT_EQ(Ward({"snapshots"}, {{"WARD_PASSWORD", "second password"}}).code, 12);
  EXPECT_EQ(Ward({"snapshots"}, {{"WARD_PASSWORD", "third password"}}).code, 0);
  EXPECT_EQ(Ward({"--json", "key", "list"}, {{"WARD_PASSWORD", "third password"}}).Json().size(), 1u);
}

TEST_F(CliTest, TwoBackupsAtOnceBothSucceed) {
  Init();
  std::string a = dir_ + "/a", b = dir_ + "/b";
  WriteFile(a + "/x.bin", RandomBytes(30 << 20, 10));
  WriteFile(a + "/shared.bin", RandomBytes(10 << 20, 12));
  WriteFile(b + "/y.bin", RandomBytes(30 << 20, 11));
  WriteFile(b + "/shared.bin", RandomBytes(10 << 20, 12));
  std::map<std::string, std::string> env = {{"WARD_PASSWORD", password_}, {"XDG_CACHE_HOME", dir_ + "/cache"}};
  int p1 = StartProcess({WARD_BINARY, "-r", repo_, "backup", a}, env, dir_ + "/log1");
  int p2 = StartProcess({WARD_BINARY, "-r", repo_, "backup", b}, env, dir_ + "/log2");
  EXPECT_EQ(WaitProcess(p1), 0) << ReadFile(dir_ + "/log1");
  EXPECT_EQ(WaitProcess(p2), 0) << ReadFile(dir_ + "/log2");
  ASSERT_EQ(Ward({"snapshots", "--json"}).Json().size(), 2u);
  auto chk = Ward({"check", "--read-data"});
  EXPECT_EQ(chk.code, 0) << chk.err;
  ASSERT_EQ(Ward({"restore", "latest", "--path", a, "--target", dir_ + "/ra"}).code, 0);
  ASSERT_EQ(Ward({"restore", "latest", "--path", b, "--target", dir_ + "/rb"}).code, 0);
  EXPECT_EQ(DiffTrees(a, dir_ + "/ra" + a), "");
  EXPECT_EQ(DiffTrees(b, dir_ + "/rb" + b), "");
}

TEST_F(CliTest, FullDiskFailsClearlyAndTheRepositoryStaysUsable) {
  if (::geteuid() != 0) {
    ASSERT_EQ(std::getenv("CI"), nullptr) << "CI must run this test as root (it mounts a small tmpfs)";
    GTEST_SKIP() << "needs root to mount a small tmpfs";
  }
  std::string mnt = dir_ + "/small";
  fs::create_directories(mnt);
  ASSERT_EQ(RunProcess({"mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", mnt}).code, 0);
  repo_ = mnt + "/repo";
  Init();
  std::string data = dir_ + "/data";
  WriteFile(data + "/big.bin", RandomBytes(64 << 20, 20));
  auto full = Ward({"backup", data});
  EXPECT_EQ(full.code, 1);
  EXPECT_NE(full.err.find("No space left on device"), std::string::npos) << full.err;
  EXPECT_NE(full.err.find("no snapshot was saved"), std::string::npos) << full.err;
  EXPECT_EQ(Ward({"snapshots", "--json"}).Json().size(), 0u);
  EXPECT_EQ(Ward({"check", "--read-data"}).code, 0);
  // Make room; the next backup succeeds and restores.
  ASSERT_EQ(RunProcess({"mount", "-o", "remount,size=200m", mnt}).code, 0);
  auto ok = Ward({"backup", data});
  EXPECT_EQ(ok.code, 0) << ok.err;
  EXPECT_EQ(Ward({"check", "--read-data"}).code, 0);
  ASSERT_EQ(Ward({"restore", "latest", "--target", dir_ + "/out"}).code, 0);
  EXPECT_EQ(DiffTrees(data, dir_ + "/out" + data), "");
  RunProcess({"umount", mnt});
}

TEST_F(CliTest, ProgressIsJsonLinesWithJsonAndPlainLinesOtherwise) {
  Init();
  std::string data = dir_ + "/data";
  for (int i = 0; i < 8; ++i) WriteFile(data + "/f" + std::to_string(i), RandomBytes(8 << 20, 30 + i));
  auto j = Ward({"--json", "backup", data}, {{"WARD_PROGRESS_INTERVAL", "0.001"}});
  ASSERT_EQ(j.code, 0) << j.err;
  std::istringstream lines(j.out);
  int status = 0, summary = 0;
  for (std::string line; std::getline(lines, line);) {
    auto doc = nlohmann::json::parse(line);  // every line is a JSON document
    if (doc["message_type"] == "status") {
      ++status;
      EXPECT_TRUE(doc.contains("percent_done"));
      EXPECT_TRUE(doc.contains("bytes_done"));
    }
    if (doc["message_type"] == "summary") ++summary;
  }
  EXPECT_GT(status, 0);
  EXPECT_EQ(summary, 1);
  auto plain = Ward({"backup", "--force", data}, {{"WARD_PROGRESS_INTERVAL", "0.001"}});
  ASSERT_EQ(plain.code, 0);
  EXPECT_NE(plain.err.find("backup: ["), std::string::npos) << plain.err;
  auto quiet = Ward({"-q", "backup", "--force", data}, {{"WARD_PROGRESS_INTERVAL", "0.001"}});
  EXPECT_EQ(quiet.err, "");
  EXPECT_EQ(quiet.out, "");
}

TEST_F(CliTest, PlanBacksUpEverySourceAsOneSnapshot) {
  Init();
  WriteFile(dir_ + "/etc/app.conf", "listen = 8080\n");
  std::string plan = dir_ + "/plan.toml";
  auto write_plan = [&](const std::string& secrets_command) {
    WriteFile(plan, "service = \"shop\"\nrepository = \"" + repo_ + "\"\n\n"
              "[[source]]\nname = \"config\"\nkind = \"files\"\npaths = [\"" + dir_ + "/etc\"]\n\n"
              "[[source]]\nname = \"secrets\"\nkind = \"command\"\nfilename = \"vault.json\"\n"
              "command = [\"sh\", \"-c\", \"" + secrets_command + "\"]\n");
  };
  write_plan("printf '{\\\"data\\\":{\\\"data\\\":{\\\"TOKEN\\\":\\\"${WARD_TEST_TOKEN}\\\"},\\\"metadata\\\":{}}}'");
  // The plan names the repository; only the password comes from the environment.
  auto b = WardNoRepo({"backup", "--plan", plan}, {{"WARD_PASSWORD", password_}, {"WARD_TEST_TOKEN", "tok en"}});
  ASSERT_EQ(b.code, 0) << b.err;
  auto snaps = Ward({"snapshots", "--json"}).Json();
  ASSERT_EQ(snaps.size(), 1u);
  EXPECT_EQ(snaps[0]["source"], "plan");
  EXPECT_EQ(snaps[0]["service"], "shop");
  EXPECT_EQ(snaps[0]["paths"], nlohmann::json({"/config", "/secrets"}));
  EXPECT_EQ(snaps[0]["sources"]["secrets"]["kind"], "command");
  EXPECT_EQ(Ward({"snapshots", "--json", "--source", "secrets"}).Json().size(), 1u);
  EXPECT_EQ(Ward({"snapshots", "--json", "--source", "nope"}).Json().size(), 0u);
  // Secrets come back as a .env file, mode 0600.
  auto env = Ward({"restore", "latest:secrets/vault.json", "--to-env", dir_ + "/app.env"});
  ASSERT_EQ(env.code, 0) << env.err;
  EXPECT_EQ(ReadFile(dir_ + "/app.env"), "TOKEN=\"tok en\"\n");
  struct stat st;
  ::stat((dir_ + "/app.env").c_str(), &st);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto files = Ward({"restore", "latest:config", "--target", dir_ + "/cfg"});
  ASSERT_EQ(files.code, 0) << files.err;
  EXPECT_EQ(ReadFile(dir_ + "/cfg" + dir_ + "/etc/app.conf"), "listen = 8080\n");
  // One source only.
  auto one = Ward({"--json", "backup", "--plan", plan, "--source", "config"});
  ASSERT_EQ(one.code, 0) << one.err;
  // A failing source fails the run, names the source, and saves no snapshot.
  write_plan("echo partial; echo vault sealed >&2; exit 2");
  auto bad = Ward({"backup", "--plan", plan});
  EXPECT_EQ(bad.code, 1);
  EXPECT_NE(bad.err.find("source 'secrets'"), std::string::npos) << bad.err;
  EXPECT_NE(bad.err.find("vault sealed"), std::string::npos) << bad.err;
  EXPECT_EQ(Ward({"snapshots", "--json"}).Json().size(), 2u);
  // A variable the command needs but the environment lacks.
  write_plan("echo ${WARD_TEST_UNSET_VARIABLE}");
  auto unset = Ward({"backup", "--plan", plan});
  EXPECT_NE(unset.code, 0);
  EXPECT_NE(unset.err.find("WARD_TEST_UNSET_VARIABLE"), std::string::npos) << unset.err;
  // Malformed plans are usage errors with one line.
  WriteFile(plan, "service = \"x\"\n[[source]]\nname = \"a\"\nkind = \"tape\"\n");
  auto malformed = Ward({"backup", "--plan", plan});
  EXPECT_EQ(malformed.code, 2);
  EXPECT_NE(malformed.err.find("kind"), std::string::npos);
  EXPECT_EQ(Ward({"backup", "--plan", dir_ + "/missing.toml"}).code, 2);
  EXPECT_EQ(Ward({"backup", "--plan", plan, "/etc"}).code, 2);
}

TEST_F(CliTest, HelpShowsEveryCommand) {
  auto h = WardNoRepo({"--help"});
  EXPECT_EQ(h.code, 0);
  for (const char* c : {"init", "backup", "snapshots", "ls", "restore", "check", "key"}) {
    EXPECT_NE(h.out.find(c), std::string::npos) << c;
  }
  EXPECT_EQ(WardNoRepo({"--version"}).code, 0);
  EXPECT_EQ(WardNoRepo({}).code, 2);
}

}  // namespace
}  // namespace ward::testing
