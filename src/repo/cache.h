// A local cache of immutable repository objects (index files, snapshots and
// packs that hold trees), so that a repository on S3 does not download its
// metadata again on every command. Objects are content-addressed, so a cached
// copy is either exactly right or detectably wrong: Get re-checks the SHA-256
// of the bytes against the name and drops a mismatching file. GetRange reads a
// part of a cached pack without hashing the whole file (a backup loads one tree
// blob per folder); the caller authenticates the bytes it reads (every blob is
// AEAD-sealed) and calls Drop when they do not authenticate.
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
  // Bytes [offset, offset + length) of a cached object; nullopt when it is not
  // cached or is shorter than that.
  std::optional<Bytes> GetRange(const storage::Handle& h, uint64_t offset, uint64_t length);
  void Put(const storage::Handle& h, ByteView data);
  // Removes one cached object (found damaged by its reader).
  void Drop(const storage::Handle& h);
  // Removes cached objects of type `t` whose names are not in `keep`.
  void Retain(storage::FileType t, const std::set<std::string>& keep);

 private:
  std::string Path(const storage::Handle& h) const;
  std::string root_;
};

// The default cache directory: $XDG_CACHE_HOME/ward or ~/.cache/ward.
std::string DefaultCacheDir();

}  // namespace ward::repo
