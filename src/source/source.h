// Source: what a backup reads. A source presents a tree of entries (files,
// directories, symlinks, special files) that the backup engine walks, and
// opens the content of file entries as byte streams. Nothing here knows about
// packs or chunks; nothing in the engine knows what a source really is.
//
// Paths are relative to the source root, '/'-separated, "" for the root.
// Thread safety: a Source is used by one walking thread; a Reader by one
// thread at a time.
#pragma once

#include <nlohmann/json.hpp>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/status.h"
#include "repo/tree.h"

namespace ward::source {

// The content of one file entry.
class Reader {
 public:
  virtual ~Reader() = default;
  // Fills `out` and returns out.size(), or returns fewer bytes (0 at the
  // end) only when the stream has ended: a short read means end of stream.
  virtual Result<size_t> Read(std::span<uint8_t> out) = 0;
  // Called after the last Read: reports failures only visible at the end (a
  // dump command's exit status). A non-OK result discards the file.
  virtual Status Finish() { return Status::OK(); }
};

struct Entry {
  repo::Node node;  // metadata; content and subtree are filled in by the engine
  // True if node's size/mtime/ctime/inode identify the content, so a file
  // that matches its node in the previous snapshot need not be read again.
  bool cacheable = true;
};

class Source {
 public:
  virtual ~Source() = default;

  // Entries of the directory at `path`, sorted by name. Entries that could
  // not be read are left out and described in *skipped (one message each,
  // naming the entry); the call fails only if the directory itself cannot be
  // listed.
  virtual Result<std::vector<Entry>> List(const std::string& path, std::vector<Status>* skipped) = 0;

  // Opens the content of the file entry at `path`.
  virtual Result<std::unique_ptr<Reader>> Open(const std::string& path, const Entry& entry) = 0;

  // How a failure to read one entry is treated: true for file trees (name it,
  // back up the rest, exit 3); false for streams whose partial content would
  // be a lie (a failed dump must fail the whole backup).
  virtual bool PartialOk() const = 0;
  // The same question for the entry at `path` (composites answer per part).
  virtual bool PartialOkFor(const std::string& path) const {
    (void)path;
    return PartialOk();
  }

  // What the snapshot records as its paths and source kind.
  virtual std::vector<std::string> Paths() const = 0;
  virtual std::string Kind() const = 0;

  // Called after the whole source was read: where it was taken (F44), e.g.
  // {"lsn": "0/3000060", "restore_point": "ward-..."} for PostgreSQL or
  // {"repl_offset": 1234} for Redis. Stored in the snapshot.
  virtual nlohmann::json Position() const { return nlohmann::json::object(); }

  // Joins a directory path and a name.
  static std::string Join(const std::string& dir, const std::string& name) {
    return dir.empty() ? name : dir + "/" + name;
  }

  // The listing of a source that is one stream stored as one file `name` (a
  // dump, an RDB, a command's output): mode 0600, owned by this user, timed
  // `time_ns`, never taken from the files cache. Any directory but the root
  // is kNotFound, naming the source by `kind`.
  static Result<std::vector<Entry>> SingleFileListing(const std::string& kind, const std::string& path,
                                                      const std::string& name, int64_t time_ns) {
    if (!path.empty()) return NotFoundError(kind + " source has no directory " + path);
    Entry e;
    e.node.name = name;
    e.node.type = repo::NodeType::kFile;
    e.node.mode = 0600;
    e.node.uid = ::getuid();
    e.node.gid = ::getgid();
    e.node.mtime_ns = time_ns;
    e.node.ctime_ns = time_ns;
    e.cacheable = false;
    return std::vector<Entry>{e};
  }
};

// Where a source's files go back to, other than a directory: a database, a
// running Redis, a bucket. The engine streams every file of the restored
// snapshot path (each byte verified against its hash on the way) and then
// calls Finish, which checks the result (row counts, DBSIZE, ...).
class RestoreTarget {
 public:
  virtual ~RestoreTarget() = default;
  // `path` is relative to the restored source ("dump.pgc", "dir/obj").
  virtual Status RestoreFile(const std::string& path, const repo::Node& node, Reader& content) = 0;
  // After the last file; returns the full report (a JSON object, printed as
  // is with --json).
  virtual Result<nlohmann::json> Finish() = 0;
  // After a successful Finish: one line for people saying what went where
  // and what was checked, e.g. "202 keys into redis://db:6379, DBSIZE
  // matches" (the command adds the snapshot and the time taken).
  virtual std::string Summary() const = 0;
};

}  // namespace ward::source
