// Include/exclude patterns for file trees (restic-compatible where it
// matters):
//   *.tmp        no '/': matches the base name at any depth
//   cache/*.bin  contains '/': matches the end of the path, component-wise
//   /var/log     leading '/': anchored at the root of the path
//   **           matches any number of path components
//   !pattern     (include lists only) negation is not supported: rejected
// Matching a directory also matches everything below it.
// Thread safety: immutable after construction.
#pragma once

#include <string>
#include <vector>

#include "base/status.h"

namespace ward::source {

class PathMatcher {
 public:
  static Result<PathMatcher> Create(const std::vector<std::string>& patterns);

  bool empty() const { return patterns_.empty(); }
  // `path` is '/'-separated; a leading '/' is ignored for matching purposes.
  bool Matches(const std::string& path) const;
  // True if some path below the directory `dir` could match (for include
  // lists: descend into dir even though dir itself does not match).
  bool CouldMatchBelow(const std::string& dir) const;

 private:
  struct Pattern {
    std::vector<std::string> parts;
    bool anchored;
  };
  std::vector<Pattern> patterns_;
};

}  // namespace ward::source
