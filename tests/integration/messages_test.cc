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

class MessagesTest : public WardTest {};

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

}  // namespace
}  // namespace ward::testing
