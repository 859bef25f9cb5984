#include "source/postgres/command_writer.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>

#include "io/child_env.h"

namespace ward::source::pg {

namespace {

// Writes to a pipe with SIGPIPE blocked in this thread, so that a reader that
// went away gives EPIPE instead of killing the process; a SIGPIPE raised by
// this write is consumed before the mask is restored. (A SIGPIPE already
// pending for another reason is left alone.)
ssize_t WriteNoSigpipe(int fd, const uint8_t* data, size_t n) {
  sigset_t pipe_set, old_set;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_set, &old_set);
  sigset_t pending;
  sigpending(&pending);
  const bool was_pending = sigismember(&pending, SIGPIPE) == 1;
  ssize_t w;
  do {
    w = ::write(fd, data, n);
  } while (w < 0 && errno == EINTR);
  const int saved = errno;
  // Linux raises SIGPIPE also for a write that stored part of its data
  // before the reader went away (and returns that count), so look for a
  // pending one after every write, not only after EPIPE.
  if (!was_pending) {
    sigpending(&pending);
    if (sigismember(&pending, SIGPIPE) == 1) {
      struct timespec zero = {0, 0};
      while (sigtimedwait(&pipe_set, nullptr, &zero) < 0 && errno == EINTR) {
      }
    }
  }
  pthread_sigmask(SIG_SETMASK, &old_set, nullptr);
  errno = saved;
  return w;
}

}  // namespace

CommandWriter::CommandWriter(pid_t pid, int in_fd, int err_fd, std::string name, bool forward)
    : pid_(pid), in_fd_(in_fd), err_fd_(err_fd), name_(std::move(name)), forward_(forward) {
  stderr_thread_ = std::thread([this] { ReadStderr(); });
}

Result<std::unique_ptr<CommandWriter>> CommandWriter::Start(const std::vector<std::string>& argv,
                                                            bool forward_stderr) {
  if (argv.empty() || argv[0].empty()) return InvalidArgumentError("no command given");
  int in[2], err[2];
  if (::pipe2(in, O_CLOEXEC) != 0) return ErrnoStatus(errno, "pipe");
  if (::pipe2(err, O_CLOEXEC) != 0) {
    int e = errno;
    ::close(in[0]);
    ::close(in[1]);
    return ErrnoStatus(e, "pipe");
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in[0], 0);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, err[1], 2);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // The child starts with default SIGPIPE handling and its own process group
  // (so the destructor can stop whatever it starts).
  sigset_t none, def;
  sigemptyset(&none);
  sigemptyset(&def);
  sigaddset(&def, SIGPIPE);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &def);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  posix_spawnattr_setpgroup(&attr, 0);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  io::ChildEnv env;  // PGPASSWORD and PGPASSFILE pass; ward's own secrets do not
  pid_t pid;
  int rc = posix_spawnp(&pid, args[0], &fa, &attr, args.data(), env.envp());
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  ::close(in[0]);
  ::close(err[1]);
  if (rc != 0) {
    ::close(in[1]);
    ::close(err[0]);
    if (rc == ENOENT)
      return NotFoundError("command '" + argv[0] + "' not found: check its name and PATH");
    return ErrnoStatus(rc, "starting '" + argv[0] + "'");
  }
  return std::unique_ptr<CommandWriter>(
      new CommandWriter(pid, in[1], err[0], argv[0], forward_stderr));
}

CommandWriter::~CommandWriter() {
  if (in_fd_ >= 0) ::close(in_fd_);
  if (pid_ > 0) {
    ::kill(-pid_, SIGTERM);
    int st;
    while (::waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
    }
  }
  stop_ = true;
  if (stderr_thread_.joinable()) stderr_thread_.join();
  if (err_fd_ >= 0) ::close(err_fd_);
}

void CommandWriter::ReadStderr() {
  char buf[4096];
  for (;;) {
    struct pollfd p = {err_fd_, POLLIN, 0};
    int pr = ::poll(&p, 1, 200);
    if (pr == 0) {
      if (stop_) break;
      continue;
    }
    if (pr < 0 && errno == EINTR) continue;
    ssize_t n = ::read(err_fd_, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (forward_) {
      ssize_t off = 0;
      while (off < n) {
        ssize_t w = ::write(2, buf + off, static_cast<size_t>(n - off));
        if (w <= 0) break;
        off += w;
      }
    }
    std::lock_guard lock(mu_);
    tail_.append(buf, static_cast<size_t>(n));
    if (tail_.size() > 8192) tail_.erase(0, tail_.size() - 8192);
  }
}

std::string CommandWriter::StderrTail() {
  std::string t;
  {
    std::lock_guard lock(mu_);
    t = tail_;
  }
  while (!t.empty() && (t.back() == '\n' || t.back() == '\r' || t.back() == ' ')) t.pop_back();
  // PostgreSQL tools report "prog: error: ..." and then detail lines (the
  // failed statement); the error line is what the user needs, so the
  // message starts there when there is one.
  size_t err = t.rfind(": error: ");
  size_t start = err == std::string::npos ? std::string::npos : t.rfind('\n', err);
  if (err != std::string::npos) {
    t = t.substr(start == std::string::npos ? 0 : start + 1);
  } else if (t.size() > 400) {
    size_t cut = t.find('\n', t.size() - 400);
    if (cut != std::string::npos) t = t.substr(cut + 1);
  }
  std::string out;
  for (char c : t) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
    if (c == ' ' && !out.empty() && out.back() == ' ') continue;
    out += c;
  }
  if (out.size() > 400) out = out.substr(0, 397) + "...";
  return out;
}

Status CommandWriter::Write(ByteView data) {
  if (in_fd_ < 0) return CancelledError("'" + name_ + "' closed its input");
  size_t off = 0;
  while (off < data.size()) {
    ssize_t w = WriteNoSigpipe(in_fd_, data.data() + off, data.size() - off);
    if (w < 0) {
      if (errno == EPIPE) {
        ::close(in_fd_);
        in_fd_ = -1;
        return CancelledError("'" + name_ + "' closed its input");
      }
      return ErrnoStatus(errno, "input of '" + name_ + "'");
    }
    off += static_cast<size_t>(w);
  }
  return Status::OK();
}

Status CommandWriter::Finish() {
  if (in_fd_ >= 0) {
    ::close(in_fd_);
    in_fd_ = -1;
  }
  int st = 0;
  pid_t r;
  do {
    r = ::waitpid(pid_, &st, 0);
  } while (r < 0 && errno == EINTR);
  pid_ = -1;
  // The child is gone; a process it started may still hold stderr open, so
  // the reader stops once the pipe has been quiet for a moment.
  stop_ = true;
  if (stderr_thread_.joinable()) stderr_thread_.join();
  std::string tail = StderrTail();
  std::string why = tail.empty() ? "" : ": " + tail;
  if (r < 0) return ErrnoStatus(errno, "waiting for '" + name_ + "'");
  if (WIFEXITED(st) && WEXITSTATUS(st) == 0) return Status::OK();
  if (WIFEXITED(st)) {
    return AbortedError("'" + name_ + "' failed with exit status " +
                        std::to_string(WEXITSTATUS(st)) + why);
  }
  return AbortedError("'" + name_ + "' was killed by signal " + std::to_string(WTERMSIG(st)) + why);
}

}  // namespace ward::source::pg
