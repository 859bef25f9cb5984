// Trees: the directory listings of a snapshot, stored as blobs of type tree.
//
// A tree is the sorted list of a directory's entries (nodes). A node is a
// file, directory, symlink or special file with the metadata a restore must
// give back; files list their content blob IDs, directories name their
// subtree's blob ID. The encoding is deterministic (same directory, same
// bytes, same blob ID), so an unchanged directory costs nothing to store again.
//
//   tree  = version:u8=1 count:varint node*
//   node  = length:varint field*          (length of the fields that follow)
//   field = tag:varint size:varint value[size]
// Unknown tags are skipped, so later versions can add fields. Integers inside
// fields are varints (signed ones zigzag). Tags are listed in tree.cc and in
// docs/format/repository.md.
//
// Thread safety: plain values.
#pragma once

#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/status.h"

namespace ward::repo {

enum class NodeType : uint8_t {
  kFile = 1,
  kDir = 2,
  kSymlink = 3,
  kFifo = 4,
  kCharDev = 5,
  kBlockDev = 6,
  kSocket = 7,
};

const char* NodeTypeName(NodeType t);

struct Node {
  std::string name;
  NodeType type = NodeType::kFile;
  uint32_t mode = 0;  // permission bits with setuid/setgid/sticky (07777)
  uint32_t uid = 0, gid = 0;
  std::string user, group;
  int64_t mtime_ns = 0, ctime_ns = 0;
  uint64_t size = 0;
  uint64_t inode = 0, device = 0, links = 1;
  uint64_t rdev = 0;
  bool sparse = false;
  std::string link_target;
  std::vector<Id> content;  // files: data blobs in order
  Id subtree;               // directories
  std::vector<std::pair<std::string, std::string>> xattrs;

  bool operator==(const Node&) const = default;
};

struct Tree {
  std::vector<Node> nodes;  // sorted by name, names unique

  Bytes Encode() const;
  static Result<Tree> Decode(ByteView data);

  // Binary search by name; nullptr if absent.
  const Node* Find(std::string_view name) const;
};

}  // namespace ward::repo
