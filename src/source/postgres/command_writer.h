// CommandWriter: a child process fed through its standard input — the
// mirror image of RunCommandReader (command/command_source.h), for restores
// that stream a dump into a tool (pg_restore reads the archive from stdin).
//
// The child runs without a shell, in its own process group, with stdout on
// /dev/null and stderr captured (the last lines go into the error message)
// and optionally copied to ours. Finish() closes stdin and trusts the result
// only if the child exits 0. A child that stops reading early (it has all
// it needs, or it failed) does not kill us with SIGPIPE: Write() then
// reports kCancelled and Finish() says how the child ended.
//
// Internal to src/source/postgres.
// Thread safety: one thread at a time; the stderr reader is internal.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/bytes.h"
#include "base/status.h"

namespace ward::source::pg {

class CommandWriter {
 public:
  // Starts argv[0] (looked up in PATH unless it holds a '/'). Nothing in argv
  // may be secret: it is visible in process lists.
  static Result<std::unique_ptr<CommandWriter>> Start(const std::vector<std::string>& argv,
                                                      bool forward_stderr);
  // Stops a child still running (SIGTERM to its process group) and reaps it.
  ~CommandWriter();
  CommandWriter(const CommandWriter&) = delete;
  CommandWriter& operator=(const CommandWriter&) = delete;

  // Writes all of `data` to the child's stdin. kCancelled once the child has
  // closed its end (stop writing and call Finish); other errors are ours.
  Status Write(ByteView data);
  // Closes stdin, waits for the child, and fails unless it exited 0, with
  // the tail of its stderr in the message.
  Status Finish();
  // The last lines of the child's stderr so far, on one line.
  std::string StderrTail();

 private:
  CommandWriter(pid_t pid, int in_fd, int err_fd, std::string name, bool forward);
  void ReadStderr();

  pid_t pid_;
  int in_fd_;
  int err_fd_;
  std::string name_;
  bool forward_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::string tail_;
  std::thread stderr_thread_;
};

}  // namespace ward::source::pg
