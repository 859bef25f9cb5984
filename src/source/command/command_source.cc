#include "source/command/command_source.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <thread>

#include "base/time.h"
#include "io/child_env.h"
#include "io/file.h"
#include "plan/plan.h"
#include "source/kind.h"

namespace ward::source {

namespace {

// Keeps the last bytes of the child's stderr (for the error message) while
// optionally forwarding everything to our stderr.
class StderrTail {
 public:
  StderrTail(int fd, bool forward) : fd_(fd), forward_(forward) {
    thread_ = std::thread([this] { Run(); });
  }
  ~StderrTail() { Join(); }
  // Stops once the pipe has been quiet for a moment: a process the command
  // left behind may hold the pipe open forever.
  void Join() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  std::string LastLines() {
    std::lock_guard lock(mu_);
    std::string t = tail_;
    while (!t.empty() && (t.back() == '\n' || t.back() == '\r' || t.back() == ' ')) t.pop_back();
    size_t cut = t.size() > 300 ? t.find('\n', t.size() - 300) : std::string::npos;
    if (cut != std::string::npos) t = t.substr(cut + 1);
    for (auto& c : t) {
      if (c == '\n') c = ' ';
    }
    return t;
  }

 private:
  void Run() {
    char buf[4096];
    for (;;) {
      struct pollfd p = {fd_, POLLIN, 0};
      int pr = ::poll(&p, 1, 200);
      if (pr == 0) {
        if (stop_) break;
        continue;
      }
      ssize_t n = ::read(fd_, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      if (forward_) io::WriteAll(2, ByteView(reinterpret_cast<uint8_t*>(buf), n), "stderr").IgnoreError();
      std::lock_guard lock(mu_);
      tail_.append(buf, static_cast<size_t>(n));
      if (tail_.size() > 4096) tail_.erase(0, tail_.size() - 4096);
    }
  }
  int fd_;
  bool forward_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::string tail_;
  std::thread thread_;
};

class CommandReader : public Reader {
 public:
  CommandReader(pid_t pid, int out_fd, int err_fd, std::string what, bool forward)
      : pid_(pid), out_(out_fd), what_(std::move(what)), stderr_(err_fd, forward) {}

  ~CommandReader() override {
    if (pid_ > 0) {
      // Abandoned before the end (the backup failed): stop the command and
      // whatever it started (it runs in its own process group).
      ::kill(-pid_, SIGTERM);
      int st;
      ::waitpid(pid_, &st, 0);
    }
  }

  Result<size_t> Read(std::span<uint8_t> out) override {
    return io::ReadFull(out_.get(), out.data(), out.size(), "output of " + what_);
  }

  Status Finish() override {
    out_.Reset();
    int st = 0;
    pid_t r;
    do {
      r = ::waitpid(pid_, &st, 0);
    } while (r < 0 && errno == EINTR);
    pid_ = -1;
    stderr_.Join();
    std::string tail = stderr_.LastLines();
    std::string why = tail.empty() ? "" : ": " + tail;
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0) return Status::OK();
    // The caller says what the failure means (no snapshot saved, no password).
    if (WIFEXITED(st)) {
      return AbortedError(what_ + " failed with exit status " + std::to_string(WEXITSTATUS(st)) + why);
    }
    return AbortedError(what_ + " was killed by signal " + std::to_string(WTERMSIG(st)) + why);
  }

 private:
  pid_t pid_;
  io::UniqueFd out_;
  std::string what_;
  StderrTail stderr_;
};

}  // namespace

Result<std::unique_ptr<Reader>> RunCommandReader(const std::vector<std::string>& argv,
                                                 bool forward_stderr,
                                                 const std::vector<std::string>& extra_env,
                                                 const std::vector<std::string>& pass_env,
                                                 const std::string& what) {
  if (argv.empty() || argv[0].empty()) return InvalidArgumentError("no command given");
  int out[2], err[2];
  if (::pipe2(out, O_CLOEXEC) != 0) return ErrnoStatus(errno, "pipe");
  if (::pipe2(err, O_CLOEXEC) != 0) {
    ::close(out[0]);
    ::close(out[1]);
    return ErrnoStatus(errno, "pipe");
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_adddup2(&fa, err[1], 2);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  io::ChildEnv env(pass_env, extra_env);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attr, 0);
  pid_t pid;
  int rc = posix_spawnp(&pid, args[0], &fa, &attr, args.data(), env.envp());
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  ::close(out[1]);
  ::close(err[1]);
  if (rc != 0) {
    ::close(out[0]);
    ::close(err[0]);
    if (rc == ENOENT) {
      return NotFoundError("command '" + argv[0] + "' not found: check its name and PATH");
    }
    return ErrnoStatus(rc, "starting '" + argv[0] + "'");
  }
  return std::unique_ptr<Reader>(std::make_unique<CommandReader>(
      pid, out[0], err[0], what.empty() ? "command '" + argv[0] + "'" : what, forward_stderr));
}

Result<std::unique_ptr<CommandSource>> CommandSource::Create(const CommandSourceOptions& options) {
  if (options.argv.empty()) {
    return InvalidArgumentError("no command given: put it after '--', e.g. -- pg_dump -Fc mydb");
  }
  if (options.filename.empty() || options.filename.find('/') != std::string::npos ||
      options.filename == "." || options.filename == "..") {
    return InvalidArgumentError("--stdin-filename '" + options.filename +
                                "' must be a plain file name without '/'");
  }
  std::unique_ptr<CommandSource> s(new CommandSource(options));
  s->started_ns_ = NowNanos();
  return s;
}

Result<std::vector<Entry>> CommandSource::List(const std::string& path, std::vector<Status>*) {
  return SingleFileListing("command", path, options_.filename, started_ns_);
}

Result<std::unique_ptr<Reader>> CommandSource::Open(const std::string& path, const Entry&) {
  if (path != options_.filename) return NotFoundError("command source has no file " + path);
  return RunCommandReader(options_.argv, options_.forward_stderr, {}, options_.env);
}

namespace {

bool ValidVariableName(const std::string& n) {
  if (n.empty() || std::isdigit(static_cast<unsigned char>(n[0]))) return false;
  return std::all_of(n.begin(), n.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
}

Result<std::unique_ptr<Source>> MakeCommandSource(const plan::PlanSource& ps) {
  CommandSourceOptions o;
  WARD_ASSIGN_OR_RETURN(std::vector<std::string> argv, ps.Strings("command", true));
  for (auto& a : argv) {
    auto e = plan::ExpandEnv(a);
    if (!e.ok()) return Status(e.status().code(), "source '" + ps.name + "': " + e.status().message());
    a = *e;
  }
  o.argv = std::move(argv);
  WARD_ASSIGN_OR_RETURN(o.filename, ps.String("filename", false, ps.name + ".out"));
  WARD_ASSIGN_OR_RETURN(o.env, ps.Strings("env"));
  for (const auto& name : o.env) {
    if (!ValidVariableName(name)) {
      return InvalidArgumentError("source '" + ps.name + "': env names '" + name +
                                  "', which is not an environment variable name (letters, digits and '_')");
    }
  }
  auto s = CommandSource::Create(o);
  if (!s.ok()) return Status(s.status().code(), "source '" + ps.name + "': " + s.status().message());
  return std::unique_ptr<Source>(std::move(*s));
}

}  // namespace

const SourceKind& CommandKind() {
  static const SourceKind kind{"command", {"command", "filename", "env"}, &MakeCommandSource};
  return kind;
}

}  // namespace ward::source
