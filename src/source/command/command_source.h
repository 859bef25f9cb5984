// CommandSource: the standard output of a command, stored as one file (F11).
// `ward backup --stdin-from-command --stdin-filename dump.archive -- mongodump
// --archive` runs the command without a shell, streams its stdout into the
// repository (no temporary file), and trusts the result only if the command
// exits 0: otherwise the backup fails and no snapshot is written. The last
// lines of the command's stderr go into the error message.
//
// The file is stored with mode 0600: dumps and secret exports must not become
// world-readable on restore.
// Thread safety: one thread.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "source/source.h"

namespace ward::source {

struct CommandSourceOptions {
  std::vector<std::string> argv;  // argv[0] is looked up in PATH
  std::string filename;           // name of the file in the snapshot
  bool forward_stderr = true;     // also copy the command's stderr to ours
  // Variables the command gets even though ward keeps them from children
  // (io/child_env.h): the plan's env = ["AWS_REGION", ...].
  std::vector<std::string> env;
};

class CommandSource : public Source {
 public:
  static Result<std::unique_ptr<CommandSource>> Create(const CommandSourceOptions& options);

  Result<std::vector<Entry>> List(const std::string& path, std::vector<Status>* skipped) override;
  Result<std::unique_ptr<Reader>> Open(const std::string& path, const Entry& entry) override;
  bool PartialOk() const override { return false; }
  std::vector<std::string> Paths() const override { return {"/" + options_.filename}; }
  std::string Kind() const override { return "command"; }

 private:
  explicit CommandSource(CommandSourceOptions o) : options_(std::move(o)) {}
  CommandSourceOptions options_;
  int64_t started_ns_ = 0;
};

// Starts argv with stdout on a pipe and returns a Reader over it; Finish()
// waits for the process and fails (kAborted) unless it exited 0, with a
// message that names the command as `what` (default "command 'ARGV0'") and
// says only how it ended: the caller adds what that means. Exposed for other
// sources that stream a command's output (pg_dump) and for
// --password-command. The child's environment is io::ChildEnv(pass_env,
// extra_env): ward's secrets stripped unless named in pass_env, then
// extra_env ("NAME=value") added.
Result<std::unique_ptr<Reader>> RunCommandReader(const std::vector<std::string>& argv,
                                                 bool forward_stderr,
                                                 const std::vector<std::string>& extra_env = {},
                                                 const std::vector<std::string>& pass_env = {},
                                                 const std::string& what = "");

}  // namespace ward::source
