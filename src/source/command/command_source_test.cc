#include "source/command/command_source.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include "plan/plan.h"
#include "source/kind.h"

namespace ward::source {
namespace {

std::string ReadAll(Reader* r) {
  std::string out;
  uint8_t buf[1000];
  for (;;) {
    auto n = r->Read(buf);
    EXPECT_TRUE(n.ok());
    if (!n.ok() || *n == 0) break;
    out.append(reinterpret_cast<char*>(buf), *n);
  }
  return out;
}

TEST(CommandSourceTest, StreamsStdoutAndChecksExitStatus) {
  auto src = CommandSource::Create({{"sh", "-c", "printf 'hello'; echo oops >&2"}, "out.txt", false});
  ASSERT_TRUE(src.ok());
  std::vector<Status> skipped;
  auto entries = (*src)->List("", &skipped);
  ASSERT_TRUE(entries.ok());
  ASSERT_EQ(entries->size(), 1u);
  EXPECT_EQ((*entries)[0].node.mode, 0600u);
  auto r = (*src)->Open("out.txt", (*entries)[0]);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(ReadAll(r->get()), "hello");
  EXPECT_TRUE((*r)->Finish().ok());
}

// Issue 14: a command that printed its environment stored the repository
// password in the snapshot.
TEST(CommandSourceTest, TheCommandGetsNoSecretsUnlessThePlanNamesThem) {
  ::setenv("WARD_PASSWORD", "repo-pw-1", 1);
  ::setenv("AWS_SECRET_ACCESS_KEY", "aws-secret-2", 1);
  ::setenv("AWS_REGION", "eu-test-3", 1);
  const std::string script = "echo \"[$WARD_PASSWORD][$AWS_SECRET_ACCESS_KEY][$AWS_REGION]\"";
  auto plain = RunCommandReader({"sh", "-c", script}, false);
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(ReadAll(plain->get()), "[][][eu-test-3]\n");
  EXPECT_TRUE((*plain)->Finish().ok());

  auto plan = plan::ParsePlan("service = \"s\"\n[[source]]\nname = \"c\"\nkind = \"command\"\n"
                              "command = [\"sh\", \"-c\", \"" + std::string("echo [$$AWS_SECRET_ACCESS_KEY]") +
                                  "\"]\nenv = [\"AWS_SECRET_ACCESS_KEY\"]\n",
                              "plan.toml");
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  ASSERT_TRUE(plan::CheckSourceKeys(plan->sources[0], CommandKind().keys).ok());
  auto src = CommandKind().make(plan->sources[0]);
  ASSERT_TRUE(src.ok()) << src.status().ToString();
  std::vector<Status> skipped;
  auto entries = (*src)->List("", &skipped);
  ASSERT_TRUE(entries.ok());
  auto r = (*src)->Open("c.out", (*entries)[0]);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(ReadAll(r->get()), "[aws-secret-2]\n");
  EXPECT_TRUE((*r)->Finish().ok());

  plan->sources[0].config["env"] = nlohmann::json::array({"NOT A NAME"});
  auto bad = CommandKind().make(plan->sources[0]);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("'NOT A NAME'"), std::string::npos) << bad.status().message();
  ::unsetenv("WARD_PASSWORD");
  ::unsetenv("AWS_SECRET_ACCESS_KEY");
  ::unsetenv("AWS_REGION");
}

TEST(CommandSourceTest, FailingCommandFailsWithStderrTail) {
  auto r = RunCommandReader({"sh", "-c", "printf partial; echo 'dump failed: disk on fire' >&2; exit 3"}, false);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(ReadAll(r->get()), "partial");
  Status s = (*r)->Finish();
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("exit status 3"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("disk on fire"), std::string::npos) << s.message();
}

TEST(CommandSourceTest, MissingCommandAndBadNames) {
  EXPECT_EQ(RunCommandReader({"ward-no-such-command"}, false).status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(CommandSource::Create({{"true"}, "a/b", false}).ok());
  EXPECT_FALSE(CommandSource::Create({{}, "x", false}).ok());
}

TEST(CommandSourceTest, AbandonedReaderStopsTheCommand) {
  auto r = RunCommandReader({"sh", "-c", "yes"}, false);
  ASSERT_TRUE(r.ok());
  uint8_t buf[100];
  EXPECT_EQ(*(*r)->Read(buf), 100u);
  r->reset();  // must not hang
}

}  // namespace
}  // namespace ward::source
