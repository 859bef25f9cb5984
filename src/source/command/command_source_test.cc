#include "source/command/command_source.h"

#include <gtest/gtest.h>

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
