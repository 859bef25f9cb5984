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

}  // namespace
}  // namespace ward::testing
