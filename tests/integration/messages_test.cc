// What ward says when it is used wrongly or things go wrong (issue 14): one
// clear line that names the thing and what to do, the right exit status, and
// nothing said twice or untrue.
#include <sys/mount.h>
#include <unistd.h>

#include <filesystem>
#include <regex>

#include "../tools/free_port.h"
#include "harness.h"

namespace ward::testing {
namespace {

namespace fs = std::filesystem;

size_t Count(const std::string& haystack, const std::string& needle) {
  size_t n = 0;
  for (size_t pos = haystack.find(needle); pos != std::string::npos;
       pos = haystack.find(needle, pos + 1))
    ++n;
  return n;
}

class MessagesTest : public WardTest {};

TEST_F(MessagesTest, EmptyRepositoryPasswordAndCacheValuesAreUsageErrors) {
  auto repo = WardNoRepo({"-r", "", "snapshots"});
  EXPECT_EQ(repo.code, 2) << repo.err;
  EXPECT_NE(repo.err.find("-r/--repo is empty"), std::string::npos) << repo.err;
  Init();
  auto file = Ward({"--password-file", "", "snapshots"});
  EXPECT_EQ(file.code, 2) << file.err;
  EXPECT_NE(file.err.find("--password-file is empty"), std::string::npos) << file.err;
  auto command = Ward({"--password-command", "", "snapshots"});
  EXPECT_EQ(command.code, 2) << command.err;
  EXPECT_NE(command.err.find("--password-command is empty"), std::string::npos) << command.err;
  auto cache = Ward({"--cache-dir", "", "snapshots"});
  EXPECT_EQ(cache.code, 2) << cache.err;
  EXPECT_NE(cache.err.find("--cache-dir is empty"), std::string::npos) << cache.err;
  // An empty WARD_REPOSITORY is the same as none (as an empty WARD_PASSWORD
  // is): the default repository, named in the message.
  auto env = RunProcess({"env", "WARD_REPOSITORY=", WARD_BINARY, "snapshots"},
                        {{"XDG_DATA_HOME", dir_ + "/xdg"}});
  EXPECT_EQ(env.code, 10) << env.err;
  EXPECT_NE(env.err.find(dir_ + "/xdg/ward/repository"), std::string::npos) << env.err;
}

TEST_F(MessagesTest, UsageMistakesAreNamedWithWhatToDo) {
  auto unknown = WardNoRepo({"frobnicate"});
  EXPECT_EQ(unknown.code, 2);
  EXPECT_EQ(unknown.err, "ward: unknown command 'frobnicate' (see ward --help)\n");
  auto option = WardNoRepo({"--jsn"});
  EXPECT_EQ(option.code, 2);
  EXPECT_EQ(option.err, "ward: unknown option '--jsn' (see ward --help)\n");
  auto none = WardNoRepo({});
  EXPECT_EQ(none.code, 2);
  EXPECT_EQ(none.err, "ward: no command given (see ward --help)\n");

  auto every = Ward({"coverage", "--every", "0s"});
  EXPECT_EQ(every.code, 2);
  EXPECT_EQ(every.err, "ward: --every 0s: give a cadence longer than zero, e.g. 1d\n");

  auto keep = Ward({"forget", "--keep-last", "-1"});
  EXPECT_EQ(keep.code, 2);
  EXPECT_NE(keep.err.find("--keep-last: '-1' is not a count: give a whole number, 0 or more"),
            std::string::npos)
      << keep.err;
  EXPECT_FALSE(std::regex_search(keep.err, std::regex("[0-9]{12}"))) << keep.err;
  EXPECT_EQ(Count(keep.err, "\n"), 1u) << keep.err;

  auto diff = Ward({"diff", "latest"});
  EXPECT_EQ(diff.code, 2);
  EXPECT_EQ(diff.err, "ward: diff needs two snapshots: ward diff OLD NEW\n");
}

TEST_F(MessagesTest, PasswordSourcesThatGiveNoPasswordSaySo) {
  Init();
  auto failing = Ward({"--password-command", "false", "snapshots"}, {{"WARD_PASSWORD", ""}});
  EXPECT_EQ(failing.code, 1);
  EXPECT_EQ(failing.err, "ward: --password-command 'false' failed with exit status 1\n");
  auto empty = Ward({"--password-command", "true", "snapshots"}, {{"WARD_PASSWORD", ""}});
  EXPECT_EQ(empty.code, 1);
  EXPECT_EQ(empty.err,
            "ward: --password-command 'true' printed no password (its first line was empty)\n");
  WriteFile(dir_ + "/empty-pw", "\n");
  auto file = Ward({"--password-file", dir_ + "/empty-pw", "snapshots"}, {{"WARD_PASSWORD", ""}});
  EXPECT_EQ(file.code, 1);
  EXPECT_NE(file.err.find(dir_ + "/empty-pw holds no password"), std::string::npos) << file.err;
}

TEST_F(MessagesTest, UnreadableInputsAreNamedOnce) {
  Init();
  WriteFile(dir_ + "/data/a", "a");
  auto r = Ward({"backup", dir_ + "/data", dir_ + "/does-not-exist"});
  EXPECT_EQ(r.code, 3) << r.err;
  EXPECT_EQ(Count(r.err, "does-not-exist"), 1u) << r.err;
  EXPECT_NE(r.err.find("1 input(s) could not be read"), std::string::npos) << r.err;
}

// A read-only file system as root: a read-only tmpfs where mounting is
// allowed, else /proc/sys/kernel, where nothing can be created either.
class ReadOnlyTarget {
 public:
  explicit ReadOnlyTarget(const std::string& dir) : path_(dir + "/ro") {
    fs::create_directories(path_);
    mounted_ = ::mount("ward-ro", path_.c_str(), "tmpfs", MS_RDONLY, nullptr) == 0;
    if (!mounted_) path_ = "/proc/sys/kernel";
  }
  ~ReadOnlyTarget() {
    if (mounted_) ::umount(path_.c_str());
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  bool mounted_ = false;
};

TEST_F(MessagesTest, RestoreSaysWhatWasRestoredAndNothingElse) {
  Init();
  std::string data = dir_ + "/data";
  WriteFile(data + "/one.txt", "one");
  WriteFile(data + "/two.txt", "two");
  WriteFile(data + "/sub/three.txt", "three");
  ASSERT_EQ(Ward({"backup", data}).code, 0);
  ReadOnlyTarget ro(dir_);

  // Everything below one top folder: its one error is the reason.
  auto all = Ward({"restore", "latest", "--target", ro.path()});
  EXPECT_EQ(all.code, 1);
  EXPECT_EQ(all.out, "");
  EXPECT_EQ(all.err.rfind("ward: nothing was restored: ", 0), 0u) << all.err;
  EXPECT_EQ(Count(all.err, "\n"), 1u) << all.err;
  EXPECT_EQ(all.err.find("the rest"), std::string::npos) << all.err;

  auto json = Ward({"--json", "restore", "latest", "--target", ro.path()});
  EXPECT_EQ(json.code, 1);
  EXPECT_EQ(json.Json()["files_restored"], 0) << json.out;
  EXPECT_EQ(json.Json()["errors"], 1) << json.out;

  // Several items: each named, then that none was restored.
  auto several = Ward({"restore", "latest:" + data, "--target", ro.path()});
  EXPECT_EQ(several.code, 1);
  EXPECT_EQ(several.out, "");
  EXPECT_NE(
      several.err.find("ward: nothing was restored to " + ro.path() + ": 3 errors (listed above)"),
      std::string::npos)
      << several.err;
  EXPECT_EQ(Count(several.err, "\n"), 4u) << several.err;

  // Some: the count of what was.
  fs::create_directories(dir_ + "/out/two.txt/in-the-way");
  auto some = Ward({"restore", "latest:" + data, "--target", dir_ + "/out"});
  EXPECT_EQ(some.code, 1);
  EXPECT_NE(some.err.find("two.txt"), std::string::npos) << some.err;
  EXPECT_NE(
      some.err.find("1 item(s) could not be restored (listed above); 2 file(s) and 1 dir(s) were"),
      std::string::npos)
      << some.err;
  EXPECT_EQ(ReadFile(dir_ + "/out/one.txt"), "one");
}

TEST_F(MessagesTest, RestoreIntoAnEnvFileSaysWhatWasWritten) {
  Init();
  ASSERT_EQ(Ward({"backup", "--stdin-from-command", "--stdin-filename", "vault.json", "--", "echo",
                  R"({"data":{"A":"1","B":"2"}})"})
                .code,
            0);
  auto r = Ward({"restore", "latest:vault.json", "--to-env", dir_ + "/.env"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(std::regex_search(r.out, std::regex("^restored [0-9a-f]{8}:vault.json: "))) << r.out;
  EXPECT_NE(r.out.find(": 2 variable(s) from vault.json into " + dir_ + "/.env (mode 0600), in "),
            std::string::npos)
      << r.out;
  EXPECT_EQ(Count(r.out, "\n"), 1u) << r.out;
  auto j = Ward({"--json", "restore", "latest:vault.json", "--to-env", dir_ + "/.env"});
  ASSERT_EQ(j.code, 0) << j.err;
  EXPECT_EQ(j.Json()["variables"], 2);
}

// Throw-away redis-servers without a password, stopped at the end.
class RedisServers {
 public:
  explicit RedisServers(const std::string& dir) : dir_(dir) {}
  ~RedisServers() {
    for (const auto& port : ports_) {
      RunProcess({WARD_SOURCE_DIR "/scripts/start-redis.sh", "stop", port},
                 {{"REDIS_BASE", dir_ + "/redis-" + port}});
    }
  }
  // Starts one on a free port; returns the port ("" on failure, reported).
  std::string Start() {
    std::string port = std::to_string(FreeLoopbackPort());
    auto r = RunProcess({WARD_SOURCE_DIR "/scripts/start-redis.sh", "start", port},
                        {{"REDIS_PASSWORD", ""}, {"REDIS_BASE", dir_ + "/redis-" + port}});
    EXPECT_EQ(r.code, 0) << r.err << r.out;
    if (r.code != 0) return "";
    ports_.push_back(port);
    Cli(port, {"CONFIG", "SET", "repl-diskless-sync-delay", "0"});
    return port;
  }
  std::string Cli(const std::string& port, std::vector<std::string> args) {
    args.insert(args.begin(), {"redis-cli", "-p", port});
    auto r = RunProcess(args);
    EXPECT_EQ(r.code, 0) << r.err;
    return r.out;
  }

 private:
  std::string dir_;
  std::vector<std::string> ports_;
};

// A restore into a running Redis: a one-line summary for people, the full
// report only with --json.
TEST_F(MessagesTest, RestoreIntoRedisPrintsASummaryAndJsonOnlyWithJson) {
  for (const char* bin : {"/usr/bin/redis-server", "/usr/bin/redis-cli"}) {
    ASSERT_EQ(::access(bin, X_OK), 0) << bin << " is missing: run scripts/install-deps.sh --test";
  }
  RedisServers redis(dir_);
  std::string source = redis.Start(), target = redis.Start();
  ASSERT_FALSE(source.empty() || target.empty());
  for (int i = 0; i < 30; ++i) redis.Cli(source, {"SET", "k" + std::to_string(i), "v"});
  WriteFile(dir_ + "/plan.toml",
            "service = \"cache\"\nrepository = \"" + repo_ +
                "\"\n\n[[source]]\nname = \"redis\"\nkind = \"redis\"\naddress = \"127.0.0.1:" +
                source + "\"\n");
  Init();
  auto b = Ward({"backup", "--plan", dir_ + "/plan.toml"});
  ASSERT_EQ(b.code, 0) << b.err;
  auto r = Ward({"restore", "latest:redis", "--to", "redis://127.0.0.1:" + target});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_TRUE(std::regex_search(
      r.out, std::regex("^restored [0-9a-f]{8}:redis: 30 keys into redis://127\\.0\\.0\\.1:" +
                        target + ", DBSIZE matches, in .+\n$")))
      << r.out;
  EXPECT_EQ(r.out.find('{'), std::string::npos) << r.out;
  redis.Cli(target, {"FLUSHALL"});
  auto j = Ward({"--json", "restore", "latest:redis", "--to", "redis://127.0.0.1:" + target});
  EXPECT_EQ(j.code, 0) << j.err;
  EXPECT_EQ(j.Json()["keys_restored"], 30) << j.out;
  EXPECT_EQ(j.Json()["message_type"], "summary") << j.out;
}

}  // namespace
}  // namespace ward::testing
