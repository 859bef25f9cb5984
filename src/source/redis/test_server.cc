#include "source/redis/test_server.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "tests/tools/free_port.h"

extern char** environ;

namespace ward::source {

namespace {

std::string LogTail(const std::string& path) {
  std::ifstream f(path);
  std::string all((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  if (all.size() > 600) all = all.substr(all.size() - 600);
  return all;
}

}  // namespace

bool RedisTestServer::Installed() {
  const char* path = std::getenv("PATH");
  std::string p = path ? path : "/usr/bin:/bin";
  size_t start = 0;
  while (start <= p.size()) {
    size_t end = p.find(':', start);
    if (end == std::string::npos) end = p.size();
    std::string dir = p.substr(start, end - start);
    if (!dir.empty() && ::access((dir + "/redis-server").c_str(), X_OK) == 0) return true;
    start = end + 1;
  }
  return false;
}

Result<std::unique_ptr<RedisTestServer>> RedisTestServer::Start(
    const RedisTestServerOptions& options) {
  if (!Installed()) {
    return NotFoundError(std::string("redis-server is not installed: ") + kInstallHint);
  }
  std::unique_ptr<RedisTestServer> s(new RedisTestServer());
  char tmpl[] = "/tmp/ward-redis-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) return ErrnoStatus(errno, "mkdtemp");
  s->dir_ = tmpl;
  s->password_ = options.password;
  const std::string conf = s->dir_ + "/redis.conf";
  const std::string log = s->dir_ + "/redis.log";
  for (int attempt = 0; attempt < 5; ++attempt) {
    s->port_ = ::ward::testing::FreeLoopbackPort();
    {
      int fd = ::open(conf.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      if (fd < 0) return ErrnoStatus(errno, conf);
      ::close(fd);
      std::ofstream f(conf);
      f << "port " << s->port_ << "\nbind 127.0.0.1\ndir " << s->dir_ << "\nlogfile " << log
        << "\nsave \"\"\nappendonly no\ndaemonize no\nrepl-diskless-sync-delay 0\n"
        << "enable-debug-command local\n";
      if (!options.password.empty()) f << "requirepass " << options.password << "\n";
      for (const auto& line : options.config) f << line << "\n";
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    std::string bin = "redis-server";
    char* argv[] = {bin.data(), const_cast<char*>(conf.c_str()), nullptr};
    pid_t pid = -1;
    int rc = posix_spawnp(&pid, "redis-server", &fa, nullptr, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) return ErrnoStatus(rc, "starting redis-server");
    s->pid_ = pid;
    // Ready when it answers PING.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    bool exited = false;
    while (std::chrono::steady_clock::now() < deadline) {
      int st;
      if (::waitpid(pid, &st, WNOHANG) == pid) {
        exited = true;
        s->pid_ = -1;
        break;
      }
      auto c = s->Connect();
      if (c.ok()) {
        auto r = (*c)->Command({"PING"});
        if (r.ok() && (*r)->type == REDIS_REPLY_STATUS) return s;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (!exited) {
      s->Stop();
      return UnavailableError("redis-server on port " + std::to_string(s->port_) +
                              " did not answer within 15s: " + LogTail(log));
    }
    // Most likely someone took the port meanwhile: try another.
  }
  return UnavailableError("redis-server would not start: " + LogTail(log));
}

Result<std::unique_ptr<RedisConn>> RedisTestServer::Connect() const {
  RedisEndpoint e{"127.0.0.1", port_};
  RedisAuth auth;
  auth.password = password_;
  return RedisConn::Connect(e, auth, 2000, 60000);
}

void RedisTestServer::Stop() {
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);
    int st;
    bool gone = false;
    for (int i = 0; i < 500 && !gone; ++i) {
      if (::waitpid(pid_, &st, WNOHANG) == pid_) {
        gone = true;
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    }
    if (!gone) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &st, 0);
    }
    pid_ = -1;
  }
}

RedisTestServer::~RedisTestServer() {
  Stop();
  std::error_code ec;
  if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
}

}  // namespace ward::source
