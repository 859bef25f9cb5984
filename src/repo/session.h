// Sessions: how writers announce themselves in a repository, so that a
// concurrent prune knows whom to wait for — without comparing clocks across
// hosts (docs/format/repository.md §6).
//
// A writer (backup, prune, copy) registers a session object before it reads
// the index, refreshes it while it runs (a successor object with the next
// generation is written, then the old one removed; nothing is overwritten),
// and removes it when done. Its identity is the random `writer` ID, stable
// across refreshes.
//
// A session is stale when its writer is certainly gone:
//   - same machine (same Linux boot ID): the process is not running, or its
//     PID now belongs to a process that started at another time;
//   - any machine: its generation has not changed for `stale_after` as
//     measured by this host's own clock, across runs (observations are kept
//     in the local cache).
// Thread safety: ActiveSession refreshes from its own thread; the functions
// are thread-safe.
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/bytes.h"
#include "base/status.h"
#include "base/time.h"

namespace ward::repo {

class Repository;

struct SessionInfo {
  Id object;           // current storage name
  std::string writer;  // stable writer ID (hex)
  uint64_t generation = 0;
  std::string kind;  // backup | prune | copy | ...
  std::string hostname, boot_id;
  int64_t pid = 0;
  uint64_t pid_start = 0;  // process start time in clock ticks since boot (Linux)
  std::string started;
};

// True if the session's process is certainly gone (same-boot rule above).
bool IsDeadOnThisMachine(const SessionInfo& s);

// A registered session, refreshed in the background until Close() or
// destruction. Refresh interval: WARD_SESSION_REFRESH_SECONDS (default 300).
class ActiveSession {
 public:
  ~ActiveSession();
  const std::string& writer() const { return writer_; }
  // Removes the session object; idempotent.
  void Close();

 private:
  friend class Repository;
  ActiveSession(Repository* repo, std::string kind);
  Status Write();  // writes generation_ under a new name, removes the old
  void Refresh();

  Repository* repo_;
  std::string kind_;
  std::string writer_;
  uint64_t generation_ = 0;
  Id current_;
  bool have_current_ = false;
  std::mutex mu_;
  std::condition_variable cv_;
  bool closed_ = false;
  std::thread thread_;
};

// Remembers, in a file of the local cache, when this host first saw each
// writer at its current generation; a writer unchanged for `stale_after` is
// stale. Without a cache file, only the same-machine rule applies.
class SessionObserver {
 public:
  SessionObserver(std::string state_file, int64_t stale_after_ns);
  // Returns the sessions that are still live (not stale), after recording the
  // observation. `now` is this host's clock.
  std::vector<SessionInfo> Live(const std::vector<SessionInfo>& sessions, UnixNanos now);

 private:
  std::string state_file_;
  int64_t stale_after_ns_;
};

}  // namespace ward::repo
