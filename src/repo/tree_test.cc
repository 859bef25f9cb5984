#include "repo/tree.h"

#include <gtest/gtest.h>

#include "crypto/crypto.h"

namespace ward::repo {
namespace {

Tree Sample() {
  Tree t;
  Node a;
  a.name = "a file with spaces ü";
  a.type = NodeType::kFile;
  a.mode = 0644;
  a.uid = 1000;
  a.gid = 1000;
  a.user = "alice";
  a.mtime_ns = -5;  // before 1970
  a.ctime_ns = 1700000000123456789;
  a.size = 3 << 20;
  a.inode = 42;
  a.device = 2049;
  a.links = 2;
  a.sparse = true;
  a.content = {crypto::RandomId(), crypto::RandomId()};
  a.xattrs = {{"user.k", std::string("v\0w", 3)}};
  Node d;
  d.name = "dir";
  d.type = NodeType::kDir;
  d.mode = 01777;
  d.subtree = crypto::RandomId();
  Node l;
  l.name = "link";
  l.type = NodeType::kSymlink;
  l.link_target = "../x";
  t.nodes = {a, d, l};
  return t;
}

TEST(TreeTest, RoundTripIsExactAndDeterministic) {
  Tree t = Sample();
  Bytes enc = t.Encode();
  EXPECT_EQ(t.Encode(), enc);  // deterministic
  auto back = Tree::Decode(enc);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ASSERT_EQ(back->nodes.size(), 3u);
  EXPECT_EQ(back->nodes[0], t.nodes[0]);
  EXPECT_EQ(back->nodes[1], t.nodes[1]);
  EXPECT_EQ(back->nodes[2], t.nodes[2]);
  EXPECT_EQ(back->Encode(), enc);
  EXPECT_NE(back->Find("dir"), nullptr);
  EXPECT_EQ(back->Find("nope"), nullptr);
}

TEST(TreeTest, UnknownFieldsAreSkipped) {
  Tree t;
  Node n;
  n.name = "f";
  t.nodes = {n};
  Bytes enc = t.Encode();
  // Append a field with tag 99 inside the node record: patch the length.
  Bytes patched = {enc[0], enc[1]};
  size_t rec_len = enc[2];
  Bytes rec(enc.begin() + 3, enc.begin() + 3 + rec_len);
  rec.insert(rec.end(), {99, 2, 'x', 'y'});
  patched.push_back(static_cast<uint8_t>(rec.size()));
  patched.insert(patched.end(), rec.begin(), rec.end());
  auto back = Tree::Decode(patched);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->nodes[0].name, "f");
}

TEST(TreeTest, HostileNamesAndDamageAreRejected) {
  for (std::string bad : std::vector<std::string>{"..", ".", "a/b", std::string("a\0b", 3)}) {
    Tree t;
    Node n;
    n.name = bad;
    t.nodes = {n};
    EXPECT_EQ(Tree::Decode(t.Encode()).status().code(), StatusCode::kDataLoss) << bad;
  }
  Tree unsorted;
  Node x, y;
  x.name = "b";
  y.name = "a";
  unsorted.nodes = {x, y};
  EXPECT_FALSE(Tree::Decode(unsorted.Encode()).ok());
  Bytes enc = Sample().Encode();
  for (size_t cut = 1; cut < enc.size(); cut += 5) {
    EXPECT_FALSE(Tree::Decode(ByteView(enc).first(cut)).ok()) << cut;
  }
}

}  // namespace
}  // namespace ward::repo
