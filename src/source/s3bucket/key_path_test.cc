// Unit tests of the key <-> path encoding (key_path.h) and the small helpers
// of bucket.h that need no server.
#include <gtest/gtest.h>

#include <random>
#include <set>

#include "source/s3bucket/bucket.h"
#include "source/s3bucket/key_path.h"

namespace ward::source::s3bucket {
namespace {

using namespace std::string_literals;

// What the snapshot tree demands of a path: components that are file names.
void ExpectValidPath(const std::string& path) {
  size_t start = 0;
  for (;;) {
    size_t slash = path.find('/', start);
    std::string c = path.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    EXPECT_FALSE(c.empty()) << "empty component in '" << path << "'";
    EXPECT_NE(c, ".") << path;
    EXPECT_NE(c, "..") << path;
    EXPECT_EQ(c.find('\0'), std::string::npos) << "NUL in '" << path << "'";
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
}

// Every key gets a valid path of its own, no object path is also a folder,
// and every path decodes to its key.
void CheckKeys(const std::vector<std::string>& keys) {
  std::vector<std::string> paths = KeysToPaths(keys);
  ASSERT_EQ(paths.size(), keys.size());
  std::set<std::string> files, folders;
  for (size_t i = 0; i < keys.size(); ++i) {
    SCOPED_TRACE("key '" + keys[i] + "' -> path '" + paths[i] + "'");
    ExpectValidPath(paths[i]);
    EXPECT_TRUE(files.insert(paths[i]).second) << "two keys share a path";
    for (size_t p = paths[i].find('/'); p != std::string::npos; p = paths[i].find('/', p + 1)) {
      folders.insert(paths[i].substr(0, p));
    }
    auto back = DecodePath(paths[i]);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(*back, keys[i]);
  }
  for (const auto& f : files) EXPECT_EQ(folders.count(f), 0u) << "'" << f << "' is both an object and a folder";
}

TEST(KeyPathTest, ComponentsThatAreNotFileNamesAreEncoded) {
  EXPECT_EQ(EncodeComponent(""), "%");
  EXPECT_EQ(EncodeComponent("."), "%2E");
  EXPECT_EQ(EncodeComponent(".."), "%2E%2E");
  EXPECT_EQ(EncodeComponent("..."), "...");
  EXPECT_EQ(EncodeComponent(".hidden"), ".hidden");
  EXPECT_EQ(EncodeComponent("100%"), "100%25");
  EXPECT_EQ(EncodeComponent("a\0b"s), "a%00b");
  EXPECT_EQ(EncodeComponent("ünïcödé 名前.pdf"), "ünïcödé 名前.pdf");
  EXPECT_EQ(EncodeComponent("a b+c"), "a b+c");
}

TEST(KeyPathTest, DecodeAcceptsOnlyWhatEncodeWrites) {
  for (std::string c : {""s, "."s, ".."s, "%"s, "%%"s, "a%b"s, "x\0y"s, "plain"s, "%25"s, "%2E"s}) {
    bool marker = true;
    auto back = DecodeComponent(EncodeComponent(c), &marker);
    ASSERT_TRUE(back.ok()) << c;
    EXPECT_EQ(*back, c);
    EXPECT_FALSE(marker);
  }
  // Names no key encodes to.
  for (std::string bad : {""s, "%2e"s, "a%2Eb"s, "%41"s, "%zz"s, "a%2"s, "%2"s, "%0"s}) {
    EXPECT_FALSE(DecodeComponent(bad).ok()) << "'" << bad << "'";
  }
  bool marker = false;
  auto a = DecodeComponent("a%", &marker);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(*a, "a");
  EXPECT_TRUE(marker);
  auto empty = DecodeComponent("%%", &marker);
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(*empty, "");
  EXPECT_TRUE(marker);
}

TEST(KeyPathTest, ObjectsBesideFoldersOfTheSameNameGetTheMarker) {
  std::vector<std::string> keys = {"a", "a/b", "a/", "a//b", "c/d"};
  std::vector<std::string> paths = KeysToPaths(keys);
  EXPECT_EQ(paths[0], "a%");  // object "a" beside folder "a"
  EXPECT_EQ(paths[1], "a/b");
  EXPECT_EQ(paths[2], "a/%%");  // object "a/" beside folder "a/" (of "a//b")
  EXPECT_EQ(paths[3], "a/%/b");
  EXPECT_EQ(paths[4], "c/d");
  CheckKeys(keys);
  EXPECT_FALSE(DecodePath("a%/b").ok()) << "a marker names an object, never a folder";
}

TEST(KeyPathTest, TrickyKeysRoundTrip) {
  CheckKeys({"plain.txt", "dir/sub/file", "/leading", "//double-leading", "trailing/", "x/./y", "x/../y", "..",
             ".", "../../etc/passwd", "100%", "100%25", "a%", "a%/b", "a%25", "nul\0byte"s, "ünï/cödé/名前.pdf",
             "space in name", "plus+sign", "a//b//", "%", "%2E", "%2E%2E", "q?x=1&y#frag", "tab\tand\nnewline",
             std::string(300, 'l') + "/long"});
}

TEST(KeyPathTest, RandomKeysFromAHostileAlphabetRoundTrip) {
  // Short keys over the characters that matter, so that collisions between
  // objects, folders, empty components and escapes are frequent.
  const std::vector<std::string> alphabet = {"a", "b", "/", "/", ".", "%", "%2", "5", "E", "\0"s, "ü"};
  std::mt19937_64 rng(7);
  std::set<std::string> keys;
  while (keys.size() < 3000) {
    std::string k;
    size_t len = rng() % 9;
    for (size_t i = 0; i < len; ++i) k += alphabet[rng() % alphabet.size()];
    keys.insert(k);
  }
  CheckKeys(std::vector<std::string>(keys.begin(), keys.end()));
}

TEST(KeyPathTest, PathsBelowARestoredFolderDecodeToTheTailOfTheKey) {
  // RestoreTarget sees paths relative to the restored folder.
  std::vector<std::string> paths = KeysToPaths({"x/a//b", "x/a/.."});
  ASSERT_EQ(paths[0], "x/a/%/b");
  auto tail = DecodePath(paths[0].substr(4));  // below "x/a"
  ASSERT_TRUE(tail.ok());
  EXPECT_EQ(*tail, "/b");
  auto dots = DecodePath(paths[1].substr(2));
  ASSERT_TRUE(dots.ok());
  EXPECT_EQ(*dots, "a/..");
}

TEST(BucketHelpersTest, EtagsDatesAndDigests) {
  EXPECT_EQ(NormalizeEtag("\"9DD4E461268C8034F5C8564E155C67A6\""), "9dd4e461268c8034f5c8564e155c67a6");
  EXPECT_EQ(NormalizeEtag("abc-2"), "abc-2");
  EXPECT_EQ(Md5Hex(AsBytes(std::string_view("x"))), "9dd4e461268c8034f5c8564e155c67a6");
  EXPECT_EQ(Md5Hex({}), "d41d8cd98f00b204e9800998ecf8427e");
  EXPECT_EQ(MultipartEtag({Md5(AsBytes(std::string_view("hello "))), Md5(AsBytes(std::string_view("world")))}),
            "e09e4fd6265b36115fe3db32df945d84-2");
  Md5Stream s;
  s.Update(AsBytes(std::string_view("hello ")));
  s.Update(AsBytes(std::string_view("world")));
  EXPECT_EQ(HexEncode(s.Finish()), Md5Hex(AsBytes(std::string_view("hello world"))));
  auto t = ParseHttpDate("Sun, 22 Nov 2026 20:31:46 GMT");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(*t, 1795379506LL * 1000000000);
  EXPECT_FALSE(ParseHttpDate("2026-11-22T20:31:46Z").ok());
  EXPECT_FALSE(ParseHttpDate("Sun, 22 Foo 2026 20:31:46 GMT").ok());
}

}  // namespace
}  // namespace ward::source::s3bucket
