// The environment ward gives the processes it starts (command sources,
// --password-command, pg_dump/pg_restore): ward's own environment minus the
// variables that hold ward's secrets — the repository password
// (WARD_PASSWORD, WARD_PASSWORD_FILE) and AWS credentials (AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN and every other AWS_* variable
// whose name says KEY, SECRET, TOKEN or PASSWORD). A command that prints its
// environment must not put the repository password into a snapshot.
//
// A plan passes a stripped variable on purpose by naming it (`env = [...]`
// on a command source); explicit additions ("NAME=value") replace what the
// environment has.
//
// Thread safety: ChildEnvironment reads `environ` and must not race with
// setenv/putenv; a ChildEnv is a plain value.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace ward::io {

// True for a variable that a child must not inherit unless named.
bool IsSecretVariable(std::string_view name);

class ChildEnv {
 public:
  // The current environment minus secrets, except those named in `pass`;
  // then `add` ("NAME=value") replacing any same-named entry.
  explicit ChildEnv(const std::vector<std::string>& pass = {},
                    const std::vector<std::string>& add = {});

  // NULL-terminated, for posix_spawn/execve; valid while this object lives
  // and is not copied or moved.
  char* const* envp();
  const std::vector<std::string>& entries() const { return entries_; }

 private:
  std::vector<std::string> entries_;
  std::vector<char*> pointers_;
};

}  // namespace ward::io
