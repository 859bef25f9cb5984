#include "source/files/file_source.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

namespace ward::source {
namespace {

std::string Tmp() {
  char t[] = "/tmp/ward-src-XXXXXX";
  return ::mkdtemp(t);
}

void Write(const std::string& p, const std::string& data) { std::ofstream(p) << data; }

std::vector<std::string> Names(const std::vector<Entry>& es) {
  std::vector<std::string> out;
  for (const auto& e : es) out.push_back(e.node.name);
  return out;
}

TEST(FileSourceTest, CleanAbsolutePath) {
  EXPECT_EQ(CleanAbsolutePath("/a/./b/../c/"), "/a/c");
  EXPECT_EQ(CleanAbsolutePath("/../.."), "/");
  EXPECT_EQ(CleanAbsolutePath("//x//y"), "/x/y");
}

TEST(FileSourceTest, TreeMirrorsSelectedPathsFromTheRoot) {
  std::string dir = Tmp();
  ::mkdir((dir + "/a").c_str(), 0755);
  ::mkdir((dir + "/b").c_str(), 0755);
  Write(dir + "/a/one", "1");
  Write(dir + "/a/skip.tmp", "x");
  Write(dir + "/b/two", "22");
  Write(dir + "/c", "not selected");
  ::symlink("one", (dir + "/a/link").c_str());
  auto src = FileSource::Create({{dir + "/a", dir + "/b/two", dir + "/missing"}, {"*.tmp"}});
  ASSERT_TRUE(src.ok()) << src.status().ToString();
  std::vector<Status> skipped;
  // Walk down the virtual ancestors of the selection.
  std::string path;
  std::string rel = dir.substr(1);
  auto root = (*src)->List("", &skipped);
  ASSERT_TRUE(root.ok());
  EXPECT_EQ(Names(*root), std::vector<std::string>{"tmp"});
  auto base = (*src)->List(rel, &skipped);
  ASSERT_TRUE(base.ok());
  EXPECT_EQ(Names(*base), (std::vector<std::string>{"a", "b"}));  // 'c' is not selected
  ASSERT_EQ(skipped.size(), 1u);  // 'missing' is named
  EXPECT_NE(skipped[0].message().find("missing"), std::string::npos);
  auto a = (*src)->List(rel + "/a", &skipped);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(Names(*a), (std::vector<std::string>{"link", "one"}));  // *.tmp excluded
  EXPECT_EQ((*a)[0].node.type, repo::NodeType::kSymlink);
  EXPECT_EQ((*a)[0].node.link_target, "one");
  auto b = (*src)->List(rel + "/b", &skipped);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(Names(*b), std::vector<std::string>{"two"});
  EXPECT_EQ((*b)[0].node.size, 2u);

  auto r = (*src)->Open(rel + "/b/two", (*b)[0]);
  ASSERT_TRUE(r.ok());
  uint8_t buf[10];
  EXPECT_EQ(*(*r)->Read(buf), 2u);
  EXPECT_EQ(*(*r)->Read(buf), 0u);
}

// `ward backup lnk/file` through a symlinked folder backs up the file (the
// kernel follows every component but the last); `lnk` alone is the link,
// `lnk/` the folder behind it.
TEST(FileSourceTest, FollowsSymlinkedFoldersOnTheWayToASelectedPath) {
  std::string dir = Tmp();
  ::mkdir((dir + "/real").c_str(), 0755);
  Write(dir + "/real/small", "12345");
  ::symlink((dir + "/real").c_str(), (dir + "/lnk").c_str());
  std::string rel = dir.substr(1);
  std::vector<Status> skipped;

  auto through = FileSource::Create({{dir + "/lnk/small"}, {}});
  ASSERT_TRUE(through.ok()) << through.status().ToString();
  auto base = (*through)->List(rel, &skipped);
  ASSERT_TRUE(base.ok());
  ASSERT_EQ(Names(*base), std::vector<std::string>{"lnk"});
  EXPECT_EQ((*base)[0].node.type, repo::NodeType::kDir);
  auto inside = (*through)->List(rel + "/lnk", &skipped);
  ASSERT_TRUE(inside.ok()) << inside.status().ToString();
  ASSERT_EQ(Names(*inside), std::vector<std::string>{"small"});
  EXPECT_EQ((*inside)[0].node.type, repo::NodeType::kFile);
  EXPECT_EQ((*inside)[0].node.size, 5u);
  EXPECT_TRUE((*through)->Open(rel + "/lnk/small", (*inside)[0]).ok());

  auto slash = FileSource::Create({{dir + "/lnk/"}, {}});
  ASSERT_TRUE(slash.ok());
  base = (*slash)->List(rel, &skipped);
  ASSERT_TRUE(base.ok());
  ASSERT_EQ(base->size(), 1u);
  EXPECT_EQ((*base)[0].node.type, repo::NodeType::kDir);
  inside = (*slash)->List(rel + "/lnk", &skipped);
  ASSERT_TRUE(inside.ok());
  EXPECT_EQ(Names(*inside), std::vector<std::string>{"small"});

  auto link = FileSource::Create({{dir + "/lnk"}, {}});
  ASSERT_TRUE(link.ok());
  base = (*link)->List(rel, &skipped);
  ASSERT_TRUE(base.ok());
  ASSERT_EQ(base->size(), 1u);
  EXPECT_EQ((*base)[0].node.type, repo::NodeType::kSymlink);
  EXPECT_TRUE(skipped.empty());
}

}  // namespace
}  // namespace ward::source
