#include "source/files/pattern.h"

#include <gtest/gtest.h>

namespace ward::source {
namespace {

TEST(PatternTest, BaseNamePatternsMatchAtAnyDepth) {
  auto m = PathMatcher::Create({"*.tmp", "cache"});
  ASSERT_TRUE(m.ok());
  EXPECT_TRUE(m->Matches("/a/b/c.tmp"));
  EXPECT_TRUE(m->Matches("/x.tmp"));
  EXPECT_TRUE(m->Matches("/home/u/cache"));
  EXPECT_TRUE(m->Matches("/home/u/cache/inner/file"));  // below a matching dir
  EXPECT_FALSE(m->Matches("/a/b/c.tmpx"));
  EXPECT_FALSE(m->Matches("/home/u/cached"));
}

TEST(PatternTest, AnchoredAndMultiComponentPatterns) {
  auto m = PathMatcher::Create({"/var/log", "build/*.o", "/srv/**/secret"});
  ASSERT_TRUE(m.ok());
  EXPECT_TRUE(m->Matches("/var/log/syslog"));
  EXPECT_FALSE(m->Matches("/x/var/log"));
  EXPECT_TRUE(m->Matches("/home/p/build/a.o"));
  EXPECT_FALSE(m->Matches("/home/p/build/sub/a.o"));
  EXPECT_TRUE(m->Matches("/srv/secret"));
  EXPECT_TRUE(m->Matches("/srv/a/b/secret"));
  EXPECT_FALSE(m->Matches("/srvx/secret"));
  EXPECT_TRUE(m->CouldMatchBelow("/srv/a"));
  EXPECT_TRUE(m->CouldMatchBelow("/var"));
}

TEST(PatternTest, RejectsNegationAndEmpty) {
  EXPECT_FALSE(PathMatcher::Create({"!x"}).ok());
  EXPECT_FALSE(PathMatcher::Create({""}).ok());
  EXPECT_FALSE(PathMatcher::Create({"/"}).ok());
}

}  // namespace
}  // namespace ward::source
