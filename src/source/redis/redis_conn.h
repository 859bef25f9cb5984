// Connections to a Redis server, shared by RedisSource and the Redis restore
// target (internal to this module): address parsing, connecting with a
// timeout, AUTH, commands, and the mapping of Redis errors to one-line
// statuses that name the server.
//
// Secrets: a password is sent in AUTH and nowhere else; no message built
// here contains it.
// Thread safety: a RedisConn is used by one thread at a time.
#pragma once

#include <hiredis/hiredis.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace ward::source {

struct RedisEndpoint {
  std::string host;
  int port = 6379;
  std::string Display() const;  // "127.0.0.1:6379", "[::1]:6379"
};

// "host:port", "[v6addr]:port", or "host" (port 6379).
Result<RedisEndpoint> ParseRedisAddress(const std::string& address);

struct RedisAuth {
  std::string username;  // ACL user; "" for the default user
  std::string password;  // "" for none
  // Where the password came from, for messages ("$REDIS_PASSWORD").
  std::string password_origin;
  // How to supply one, for the NOAUTH message ("set password_env in the plan").
  std::string hint;
};

struct ReplyDeleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using RedisReplyPtr = std::unique_ptr<redisReply, ReplyDeleter>;

// The error text of a reply (for ERROR replies), else "".
std::string ReplyText(const redisReply& r);

class RedisConn {
 public:
  // Connects (TCP, connect_timeout_ms), sets the I/O timeout and
  // authenticates. kUnavailable if the server cannot be reached;
  // kUnauthenticated for a wrong password.
  static Result<std::unique_ptr<RedisConn>> Connect(const RedisEndpoint& endpoint,
                                                    const RedisAuth& auth, int connect_timeout_ms,
                                                    int io_timeout_ms);
  ~RedisConn();

  // Sends one command and waits for its reply. A Redis error reply is
  // returned as a reply of type REDIS_REPLY_ERROR, not as a failed status;
  // a failed status means the connection broke.
  Result<RedisReplyPtr> Command(const std::vector<std::string_view>& argv);
  // Pipelining: queue a command; GetReply sends what is queued and reads the
  // next reply.
  Status Append(const std::vector<std::string_view>& argv);
  Result<RedisReplyPtr> GetReply();

  // A status for a connection failure during `doing` ("reading the RDB").
  Status IoError(const std::string& doing) const;
  // A status for an error reply, mapped by its Redis error code (NOAUTH,
  // WRONGPASS, NOPERM, READONLY, LOADING, ...).
  Status ReplyError(const std::string& doing, const redisReply& reply) const {
    return ReplyError(doing, ReplyText(reply));
  }
  Status ReplyError(const std::string& doing, const std::string& error_text) const;

  redisContext* context() { return ctx_; }
  const RedisEndpoint& endpoint() const { return endpoint_; }

 private:
  RedisConn(redisContext* c, RedisEndpoint e, RedisAuth a)
      : ctx_(c), endpoint_(std::move(e)), auth_(std::move(a)) {}
  redisContext* ctx_;
  RedisEndpoint endpoint_;
  RedisAuth auth_;
};

}  // namespace ward::source
