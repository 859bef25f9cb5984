// Comparing and searching snapshots: what changed between two trees, and
// which paths in a set of snapshots match a pattern. Nothing is printed:
// the commands (diff, find) format what these return.
// Thread safety: one thread per object or call; the repository may be shared.
#pragma once

#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "base/status.h"
#include "repo/repository.h"

namespace ward::engine {

struct TreeChange {
  char what;           // '+' added, '-' removed, 'M' content, 'T' type, 'U' metadata
  std::string path;    // "/a/b", from the snapshot root
  repo::Node node;     // the newer node ('-': the removed one)
  uint64_t size;       // the node's size; a directory's: everything below it
  std::string detail;  // "4.0 KiB", "file -> dir", "1 KiB -> 2 KiB", "metadata"
};

struct TreeDiff {
  std::vector<TreeChange> changes;               // in path order
  uint64_t added = 0, removed = 0, changed = 0;  // files
  uint64_t bytes_added = 0, bytes_removed = 0;
};

// The changes from tree `a` to tree `b` (unchanged subtrees are skipped by ID).
Result<TreeDiff> DiffTrees(repo::Repository& repo, const Id& a, const Id& b);

// Paths matching a glob: on the file name (`*.sql`), or on the whole path
// from the snapshot root when the pattern has a '/'. Trees shared between
// snapshots are searched once.
class PathFinder {
 public:
  using Matches = std::vector<std::pair<std::string, repo::Node>>;  // "/a/b", node
  PathFinder(repo::Repository& repo, std::string pattern);
  Result<Matches> Find(const Id& root);

 private:
  Status Below(const Id& tree, const Matches** out);
  repo::Repository& repo_;
  std::string pattern_;
  bool full_path_;
  std::unordered_map<Id, Matches, IdHash> memo_;  // relative paths below each tree
};

}  // namespace ward::engine
