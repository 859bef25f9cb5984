#include "source/redis/redis_conn.h"

#include <sys/time.h>

#include <cerrno>
#include <charconv>
#include <cstring>

namespace ward::source {

namespace {

timeval Tv(int ms) {
  timeval tv;
  tv.tv_sec = ms / 1000;
  tv.tv_usec = (ms % 1000) * 1000;
  return tv;
}

bool StartsWith(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

std::string Seconds(int ms) {
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

}  // namespace

std::string RedisEndpoint::Display() const {
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return h + ":" + std::to_string(port);
}

Result<RedisEndpoint> ParseRedisAddress(const std::string& address) {
  RedisEndpoint e;
  std::string port;
  if (address.empty())
    return InvalidArgumentError("empty Redis address: write host:port, e.g. 127.0.0.1:6379");
  if (address[0] == '[') {
    size_t close = address.find(']');
    if (close == std::string::npos)
      return InvalidArgumentError("Redis address '" + address + "': missing ']'");
    e.host = address.substr(1, close - 1);
    if (close + 1 < address.size()) {
      if (address[close + 1] != ':')
        return InvalidArgumentError("Redis address '" + address + "': expected ':' after ']'");
      port = address.substr(close + 2);
    }
  } else {
    size_t colon = address.rfind(':');
    if (colon != std::string::npos && address.find(':') != colon) {
      return InvalidArgumentError("Redis address '" + address +
                                  "': write IPv6 addresses as [addr]:port");
    }
    e.host = address.substr(0, colon);
    if (colon != std::string::npos) port = address.substr(colon + 1);
  }
  if (e.host.empty()) return InvalidArgumentError("Redis address '" + address + "' has no host");
  if (!port.empty() || address.back() == ':') {
    int p = 0;
    auto r = std::from_chars(port.data(), port.data() + port.size(), p);
    if (r.ec != std::errc() || r.ptr != port.data() + port.size() || p < 1 || p > 65535) {
      return InvalidArgumentError("Redis address '" + address +
                                  "': port must be a number from 1 to 65535");
    }
    e.port = p;
  }
  return e;
}

std::string ReplyText(const redisReply& r) {
  if (r.type != REDIS_REPLY_ERROR || r.str == nullptr) return "";
  return std::string(r.str, r.len);
}

Result<std::unique_ptr<RedisConn>> RedisConn::Connect(const RedisEndpoint& endpoint,
                                                      const RedisAuth& auth, int connect_timeout_ms,
                                                      int io_timeout_ms) {
  redisContext* c =
      redisConnectWithTimeout(endpoint.host.c_str(), endpoint.port, Tv(connect_timeout_ms));
  if (c == nullptr) return ResourceExhaustedError("cannot allocate a Redis connection");
  if (c->err) {
    std::string why = c->errstr;
    redisFree(c);
    if (why.find("timed out") != std::string::npos ||
        why.find("temporarily unavailable") != std::string::npos) {
      why = "no answer within " + Seconds(connect_timeout_ms);
    }
    return UnavailableError("cannot connect to redis at " + endpoint.Display() + ": " + why +
                            " (is redis-server running and reachable there?)");
  }
  if (redisSetTimeout(c, Tv(io_timeout_ms)) != REDIS_OK) {
    redisFree(c);
    return UnavailableError("redis at " + endpoint.Display() + ": cannot set the socket timeout");
  }
  std::unique_ptr<RedisConn> conn(new RedisConn(c, endpoint, auth));
  if (!auth.password.empty()) {
    std::vector<std::string_view> argv = {"AUTH"};
    if (!auth.username.empty()) argv.push_back(auth.username);
    argv.push_back(auth.password);
    WARD_ASSIGN_OR_RETURN(RedisReplyPtr r, conn->Command(argv));
    if (r->type == REDIS_REPLY_ERROR) {
      std::string text = ReplyText(*r);
      // A server without a password accepts the connection anyway: carry on.
      if (text.find("without any password configured") == std::string::npos) {
        return conn->ReplyError("authenticating", *r);
      }
    }
  }
  return conn;
}

RedisConn::~RedisConn() {
  if (ctx_ != nullptr) redisFree(ctx_);
}

Result<RedisReplyPtr> RedisConn::Command(const std::vector<std::string_view>& argv) {
  WARD_RETURN_IF_ERROR(Append(argv));
  return GetReply();
}

Status RedisConn::Append(const std::vector<std::string_view>& argv) {
  std::vector<const char*> args;
  std::vector<size_t> lens;
  args.reserve(argv.size());
  lens.reserve(argv.size());
  for (auto a : argv) {
    args.push_back(a.data());
    lens.push_back(a.size());
  }
  if (redisAppendCommandArgv(ctx_, int(args.size()), args.data(), lens.data()) != REDIS_OK) {
    return IoError("sending " + std::string(argv.empty() ? "" : argv[0]));
  }
  return Status::OK();
}

Result<RedisReplyPtr> RedisConn::GetReply() {
  void* reply = nullptr;
  if (redisGetReply(ctx_, &reply) != REDIS_OK || reply == nullptr) {
    if (reply) freeReplyObject(reply);
    return IoError("waiting for a reply");
  }
  return RedisReplyPtr(static_cast<redisReply*>(reply));
}

Status RedisConn::IoError(const std::string& doing) const {
  std::string why = ctx_->errstr[0] ? ctx_->errstr : "connection lost";
  if (why.find("temporarily unavailable") != std::string::npos ||
      why.find("timed out") != std::string::npos) {
    why = "timed out";
  }
  if (ctx_->err == REDIS_ERR_EOF) why = "the server closed the connection";
  if (ctx_->err == REDIS_ERR_PROTOCOL) {
    why = "the answer is not the Redis protocol (" + why + "; is this really a Redis server?)";
  }
  return UnavailableError("redis at " + endpoint_.Display() + ": " + why + " while " + doing);
}

Status RedisConn::ReplyError(const std::string& doing, const std::string& text) const {
  const std::string where = "redis at " + endpoint_.Display();
  if (StartsWith(text, "NOAUTH")) {
    return UnauthenticatedError(where + " requires a password (" + text + ")" +
                                (auth_.hint.empty() ? "" : ": " + auth_.hint));
  }
  if (StartsWith(text, "WRONGPASS") || text.find("invalid password") != std::string::npos ||
      text.find("invalid username-password") != std::string::npos) {
    std::string who = auth_.username.empty() ? "" : " for user '" + auth_.username + "'";
    std::string from = auth_.password_origin.empty() ? "" : " from " + auth_.password_origin;
    return UnauthenticatedError(where + " refused the password" + from + who + " (" + text + ")");
  }
  if (StartsWith(text, "NOPERM")) {
    return PermissionDeniedError(where + ": the user may not do this while " + doing + " (" + text +
                                 "); grant it in the server's ACL");
  }
  if (StartsWith(text, "LOADING") || StartsWith(text, "MASTERDOWN") ||
      StartsWith(text, "NOMASTERLINK") || StartsWith(text, "BUSY ")) {
    return UnavailableError(where + " is not ready while " + doing + " (" + text +
                            "); retry later");
  }
  return FailedPreconditionError(where + " refused while " + doing + ": " + text);
}

}  // namespace ward::source
