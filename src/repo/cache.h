// A local cache of immutable repository objects (index files, snapshots and
// packs that hold trees), so that a repository on S3 does not download its
// metadata again on every command. Objects are content-addressed, so a cached
// copy is either exactly right or detectably wrong: every read re-checks the
// SHA-256 of the bytes against the name and drops a mismatching file.
//
// Layout: <dir>/<repo-id>/<type>/<name>, plus CACHEDIR.TAG at <dir>.
// Thread safety: all methods are thread-safe (files are written atomically).
#pragma once

#include <optional>
#include <set>
#include <string>

#include "base/bytes.h"
#include "storage/backend.h"

namespace ward::repo {

class ObjectCache {
 public:
  // `dir` empty disables the cache (every Get misses, Put does nothing).
  ObjectCache(std::string dir, const std::string& repo_id);

  bool enabled() const { return !root_.empty(); }
  std::optional<Bytes> Get(const storage::Handle& h);
  void Put(const storage::Handle& h, ByteView data);
  // Removes cached objects of type `t` whose names are not in `keep`.
  void Retain(storage::FileType t, const std::set<std::string>& keep);

 private:
  std::string Path(const storage::Handle& h) const;
  std::string root_;
};

// The default cache directory: $XDG_CACHE_HOME/ward or ~/.cache/ward.
std::string DefaultCacheDir();

}  // namespace ward::repo
