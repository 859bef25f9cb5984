// RedisTestServer: a throw-away redis-server on 127.0.0.1 for the
// integration tests and the benchmark (not part of ward itself).
//
// Each server runs from Debian's redis-server binary on a free port, in a
// fresh directory under /tmp that holds its redis.conf (mode 0600; a password
// goes there, never on a command line), its log and any dump.rdb. Nothing is
// saved unless asked (save "", appendonly no). The destructor stops the
// process it started (by PID) and deletes the directory.
//
// Thread safety: one thread per server object.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "source/redis/redis_conn.h"

namespace ward::source {

struct RedisTestServerOptions {
  std::string password;             // requirepass; "" for none
  std::vector<std::string> config;  // extra redis.conf lines, e.g. "repl-diskless-sync no"
};

class RedisTestServer {
 public:
  // True if redis-server is on PATH.
  static bool Installed();
  // What a test prints when it is not: how to install it.
  static constexpr const char* kInstallHint = "install it with scripts/install-deps.sh --test";

  static Result<std::unique_ptr<RedisTestServer>> Start(const RedisTestServerOptions& options = {});
  ~RedisTestServer();

  int port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  const std::string& dir() const { return dir_; }
  const std::string& password() const { return password_; }

  // A connection authenticated with the server's password.
  Result<std::unique_ptr<RedisConn>> Connect() const;

  // Stops the server now (the destructor does it otherwise).
  void Stop();

 private:
  RedisTestServer() = default;
  std::string dir_;
  int port_ = 0;
  pid_t pid_ = -1;
  std::string password_;
};

}  // namespace ward::source
