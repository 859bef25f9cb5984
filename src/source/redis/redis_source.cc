// RedisSource: the replication handshake and the streamed, validated RDB
// payload (see redis.h).
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "base/sync.h"
#include "base/time.h"
#include "source/redis/redis.h"
#include "source/redis/redis_conn.h"

namespace ward::source {

namespace {

constexpr size_t kMarkSize = 40;  // RDB_EOF_MARK_SIZE
constexpr size_t kChunk = 1 << 20;
constexpr size_t kValidatorQueue = 32u << 20;
constexpr size_t kMaxLine = 1024;

std::string Printable(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 80)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
  if (s.size() > 80) out += "...";
  return out;
}

// What a finished transfer found; shared by the source and its reader.
struct SyncState {
  std::string repl_id;
  int64_t repl_offset = -1;
  bool diskless = false;
  bool used_sync = false;  // the server did not know PSYNC
  RdbInfo info;
  bool complete = false;
};

// Parses bytes handed to it on a thread of its own, so that the RDB is
// validated while it streams past without the source holding it.
class RdbValidator {
 public:
  RdbValidator() : queue_(kValidatorQueue) {
    thread_ = std::thread([this] { Run(); });
  }
  ~RdbValidator() {
    queue_.Close();
    if (thread_.joinable()) thread_.join();
  }

  // False if the parser has already stopped (Finish() says why).
  bool Push(ByteView data) { return queue_.Push(Bytes(data.begin(), data.end()), data.size()); }

  // Marks the end of the stream and returns the parse result.
  Result<RdbInfo> Finish() {
    queue_.Close();
    if (thread_.joinable()) thread_.join();
    return *result_;
  }

 private:
  class QueueReader : public Reader {
   public:
    explicit QueueReader(BoundedQueue<Bytes>& q) : q_(q) {}
    Result<size_t> Read(std::span<uint8_t> out) override {
      while (pos_ == cur_.size()) {
        auto next = q_.Pop();
        if (!next) return size_t{0};
        cur_ = std::move(*next);
        pos_ = 0;
      }
      size_t n = std::min(out.size(), cur_.size() - pos_);
      std::memcpy(out.data(), cur_.data() + pos_, n);
      pos_ += n;
      return n;
    }

   private:
    BoundedQueue<Bytes>& q_;
    Bytes cur_;
    size_t pos_ = 0;
  };

  void Run() {
    QueueReader r(queue_);
    result_.emplace(ParseRdb(r, nullptr));
    queue_.Close();  // wakes a producer blocked on a full queue
  }

  BoundedQueue<Bytes> queue_;
  std::optional<Result<RdbInfo>> result_;
  std::thread thread_;
};

// The replication connection after the handshake: yields the RDB payload.
class RdbReader : public Reader {
 public:
  RdbReader(std::unique_ptr<RedisConn> conn, std::shared_ptr<SyncState> state, int io_timeout_ms)
      : conn_(std::move(conn)),
        address_(conn_->endpoint().Display()),
        state_(std::move(state)),
        io_timeout_ms_(io_timeout_ms) {}

  // Sends the sync request and reads up to the start of the payload.
  Status Start() {
    WARD_RETURN_IF_ERROR(WriteRaw("PSYNC ? -1\r\n"));
    std::string line;
    WARD_RETURN_IF_ERROR(ReadLine(&line, "waiting for the answer to PSYNC"));
    if (line[0] == '-') {
      if (line.find("unknown command") != std::string::npos) {
        state_->used_sync = true;
        WARD_RETURN_IF_ERROR(WriteRaw("SYNC\r\n"));
        WARD_RETURN_IF_ERROR(ReadLine(&line, "waiting for the answer to SYNC"));
        if (line[0] == '-') return conn_->ReplyError("starting a full sync (SYNC)", line.substr(1));
      } else {
        return conn_->ReplyError("starting a full sync (PSYNC)", line.substr(1));
      }
    } else if (line.rfind("+FULLRESYNC ", 0) == 0) {
      std::string rest = line.substr(12);
      size_t sp = rest.find(' ');
      int64_t off = -1;
      if (sp != std::string::npos) {
        std::string o = rest.substr(sp + 1);
        auto r = std::from_chars(o.data(), o.data() + o.size(), off);
        if (r.ec != std::errc()) off = -1;
      }
      if (sp == std::string::npos || off < 0) return Garbage("+FULLRESYNC", line);
      state_->repl_id = rest.substr(0, sp);
      state_->repl_offset = off;
      WARD_RETURN_IF_ERROR(ReadLine(&line, "waiting for the RDB"));
      if (line[0] == '-') return conn_->ReplyError("starting a full sync (PSYNC)", line.substr(1));
    } else if (line[0] == '+') {
      return Garbage("PSYNC ? -1", line);
    }
    if (line[0] != '$') return Garbage("PSYNC ? -1", line);
    if (line.rfind("$EOF:", 0) == 0) {
      if (line.size() != 5 + kMarkSize) return Garbage("the diskless transfer header", line);
      mark_ = line.substr(5);
      state_->diskless = true;
      return Status::OK();
    }
    uint64_t len = 0;
    auto r = std::from_chars(line.data() + 1, line.data() + line.size(), len);
    if (r.ec != std::errc() || r.ptr != line.data() + line.size() || len == 0) {
      return Garbage("the RDB length", line);
    }
    remaining_ = len;
    return Status::OK();
  }

  // Fills `out` completely unless the payload ends first (some callers
  // take a short read for the end of the stream).
  Result<size_t> Read(std::span<uint8_t> out) override {
    size_t n = 0;
    while (n < out.size()) {
      if (stash_pos_ == stash_.size()) {
        if (done_) break;
        WARD_RETURN_IF_ERROR(mark_.empty() ? ReceiveCounted() : ReceiveUntilMark());
        continue;
      }
      size_t k = std::min(out.size() - n, stash_.size() - stash_pos_);
      std::memcpy(out.data() + n, stash_.data() + stash_pos_, k);
      stash_pos_ += k;
      n += k;
    }
    if (n > 0 && !validator_.Push(ByteView(out.data(), n))) {
      auto v = validator_.Finish();
      if (!v.ok()) return Damaged(v.status());
      return DataLossError("the RDB from redis at " + address_ +
                           " goes on after its end; nothing was stored");
    }
    return n;
  }

  Status Finish() override {
    if (!done_ || stash_pos_ != stash_.size()) {
      return FailedPreconditionError("RDB from redis at " + address_ + " not read to its end");
    }
    auto v = validator_.Finish();
    conn_.reset();  // the master may go on with the replication stream: hang up
    if (!v.ok()) return Damaged(v.status());
    state_->info = std::move(*v);
    state_->complete = true;
    return Status::OK();
  }

 private:
  Status Damaged(const Status& s) const {
    return Status(s.code() == StatusCode::kUnimplemented ? s.code() : StatusCode::kDataLoss,
                  "the RDB received from redis at " + address_ +
                      " is not usable, so nothing was stored: " + s.message());
  }

  Status Garbage(const std::string& what, const std::string& line) const {
    return UnavailableError("redis at " + address_ + " answered " + what + " with '" +
                            Printable(line) + "', which is not the Redis replication protocol");
  }

  Status WriteRaw(std::string_view s) {
    const int fd = conn_->context()->fd;
    while (!s.empty()) {
      ssize_t n = ::write(fd, s.data(), s.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return SocketError(errno, "sending the sync request");
      s.remove_prefix(size_t(n));
    }
    return Status::OK();
  }

  Status SocketError(int err, const std::string& doing) const {
    std::string why = (err == EAGAIN || err == EWOULDBLOCK)
                          ? "no data for " + std::to_string(io_timeout_ms_ / 1000) + "s"
                          : std::strerror(err);
    return UnavailableError("redis at " + address_ + ": " + why + " while " + doing);
  }

  // Reads from the socket (after what ReadLine buffered beyond its line).
  // 0 means the server closed the connection.
  Result<size_t> ReceiveSome(uint8_t* dst, size_t n, const std::string& doing) {
    if (pre_pos_ < pre_.size()) {
      size_t k = std::min(n, pre_.size() - pre_pos_);
      std::memcpy(dst, pre_.data() + pre_pos_, k);
      pre_pos_ += k;
      return k;
    }
    return SocketRead(dst, n, doing);
  }

  Result<size_t> SocketRead(uint8_t* dst, size_t n, const std::string& doing) {
    for (;;) {
      ssize_t got = ::read(conn_->context()->fd, dst, n);
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) return SocketError(errno, doing);
      return size_t(got);
    }
  }

  // One protocol line without its "\r\n"; empty lines (the newlines a
  // master sends as keepalive while it prepares the RDB) are skipped.
  Status ReadLine(std::string* line, const std::string& doing) {
    line->clear();
    for (;;) {
      if (pre_pos_ == pre_.size()) {
        pre_.resize(16384);
        pre_pos_ = 0;
        WARD_ASSIGN_OR_RETURN(size_t got, SocketRead(pre_.data(), pre_.size(), doing));
        pre_.resize(got);
        if (got == 0) {
          return UnavailableError("redis at " + address_ + " closed the connection while " + doing);
        }
      }
      char c = char(pre_[pre_pos_++]);
      if (c == '\n') {
        if (!line->empty() && line->back() == '\r') line->pop_back();
        if (!line->empty()) return Status::OK();
        continue;
      }
      *line += c;
      if (line->size() > kMaxLine) return Garbage("the sync request", *line);
    }
  }

  Status Truncated() const {
    return DataLossError(
        "redis at " + address_ + " closed the connection after " + std::to_string(received_) +
        " bytes of the RDB" +
        (mark_.empty() ? " (of " + std::to_string(received_ + remaining_) + ")" : "") +
        "; the transfer is incomplete and nothing was stored");
  }

  // `$<length>` payload: exactly that many bytes.
  Status ReceiveCounted() {
    stash_.resize(size_t(std::min<uint64_t>(kChunk, remaining_)));
    stash_pos_ = 0;
    WARD_ASSIGN_OR_RETURN(size_t got,
                          ReceiveSome(stash_.data(), stash_.size(), "receiving the RDB"));
    if (got == 0) return Truncated();
    stash_.resize(got);
    remaining_ -= got;
    received_ += got;
    if (remaining_ == 0) done_ = true;
    return Status::OK();
  }

  // `$EOF:<mark>` payload: everything up to the 40-byte mark, which ends
  // the stream. The last 40 bytes received are held back until it is clear
  // they are not the mark.
  Status ReceiveUntilMark() {
    stash_.resize(kMarkSize + kChunk);
    std::memcpy(stash_.data(), tail_, tail_len_);
    WARD_ASSIGN_OR_RETURN(size_t got,
                          ReceiveSome(stash_.data() + tail_len_, kChunk, "receiving the RDB"));
    if (got == 0) return Truncated();
    const size_t total = tail_len_ + got;
    stash_pos_ = 0;
    if (total >= kMarkSize &&
        std::memcmp(stash_.data() + total - kMarkSize, mark_.data(), kMarkSize) == 0) {
      stash_.resize(total - kMarkSize);
      tail_len_ = 0;
      done_ = true;
    } else {
      tail_len_ = std::min(total, kMarkSize);
      std::memcpy(tail_, stash_.data() + total - tail_len_, tail_len_);
      stash_.resize(total - tail_len_);
    }
    received_ += stash_.size();
    return Status::OK();
  }

  std::unique_ptr<RedisConn> conn_;
  const std::string address_;  // for messages, also after conn_ is closed
  std::shared_ptr<SyncState> state_;
  int io_timeout_ms_;
  Bytes pre_;  // bytes read while looking for line ends
  size_t pre_pos_ = 0;
  std::string mark_;        // diskless: the end mark
  uint64_t remaining_ = 0;  // counted: bytes still to come
  uint64_t received_ = 0;
  uint8_t tail_[kMarkSize];
  size_t tail_len_ = 0;
  Bytes stash_;  // received bytes not yet handed out
  size_t stash_pos_ = 0;
  bool done_ = false;
  RdbValidator validator_;
};

class RedisSource : public Source {
 public:
  RedisSource(RedisSourceOptions o, RedisEndpoint e)
      : options_(std::move(o)), endpoint_(std::move(e)), created_ns_(NowNanos()) {}

  Result<std::vector<Entry>> List(const std::string& path, std::vector<Status>*) override {
    return SingleFileListing("redis", path, options_.filename, created_ns_);
  }

  Result<std::unique_ptr<Reader>> Open(const std::string& path, const Entry&) override {
    if (path != options_.filename) return NotFoundError("redis source has no file " + path);
    RedisAuth auth;
    auth.username = options_.username;
    auth.password = options_.password;
    auth.password_origin = options_.password_origin;
    auth.hint = "name the environment variable that holds it with password_env in the plan";
    WARD_ASSIGN_OR_RETURN(
        std::unique_ptr<RedisConn> conn,
        RedisConn::Connect(endpoint_, auth, options_.connect_timeout_ms, options_.io_timeout_ms));
    WARD_ASSIGN_OR_RETURN(RedisReplyPtr r,
                          conn->Command({"REPLCONF", "capa", "eof", "capa", "psync2"}));
    // Servers before 2.8 do not know REPLCONF; SYNC still works there.
    if (r->type == REDIS_REPLY_ERROR &&
        ReplyText(*r).find("unknown command") == std::string::npos) {
      return conn->ReplyError("starting replication (REPLCONF)", *r);
    }
    // Redis 7+: no replication stream after the RDB, and no backlog kept for
    // us. Older servers refuse the option; that is fine.
    WARD_ASSIGN_OR_RETURN(r, conn->Command({"REPLCONF", "rdb-only", "1"}));
    state_ = std::make_shared<SyncState>();
    auto reader = std::make_unique<RdbReader>(std::move(conn), state_, options_.io_timeout_ms);
    WARD_RETURN_IF_ERROR(reader->Start());
    return std::unique_ptr<Reader>(std::move(reader));
  }

  bool PartialOk() const override { return false; }
  std::vector<std::string> Paths() const override { return {"/" + options_.filename}; }
  std::string Kind() const override { return "redis"; }

  nlohmann::json Position() const override {
    nlohmann::json j = nlohmann::json::object();
    j["address"] = endpoint_.Display();
    if (!state_ || !state_->complete) return j;
    const RdbInfo& info = state_->info;
    std::string id = state_->repl_id.empty() ? info.Aux("repl-id") : state_->repl_id;
    int64_t offset = state_->repl_offset;
    if (offset < 0 && !info.Aux("repl-offset").empty())
      offset = std::atoll(info.Aux("repl-offset").c_str());
    if (!id.empty()) j["repl_id"] = id;
    if (offset >= 0) j["repl_offset"] = offset;
    j["rdb_version"] = info.version;
    j["keys"] = info.keys;
    j["bytes"] = info.bytes;
    if (!info.Aux("redis-ver").empty()) j["redis_version"] = info.Aux("redis-ver");
    j["transfer"] = state_->diskless ? "diskless" : "disk";
    j["checksum"] = info.checksum_verified ? "verified" : "absent";
    return j;
  }

 private:
  RedisSourceOptions options_;
  RedisEndpoint endpoint_;
  int64_t created_ns_;
  std::shared_ptr<SyncState> state_;
};

Result<int> DurationMs(const plan::PlanSource& ps, const std::string& key, int fallback) {
  WARD_ASSIGN_OR_RETURN(std::string text, ps.String(key));
  if (text.empty()) return fallback;
  auto d = ParseDuration(text);
  if (!d.ok() || *d <= 0) {
    return InvalidArgumentError("source '" + ps.name + "': " + key + " = \"" + text +
                                "\" is not a duration (write e.g. \"10s\" or \"2m\")");
  }
  return int(std::min<int64_t>(*d / 1000000, 24 * 3600 * 1000));
}

}  // namespace

Result<std::unique_ptr<Source>> NewRedisSource(const RedisSourceOptions& options) {
  WARD_ASSIGN_OR_RETURN(RedisEndpoint e, ParseRedisAddress(options.address));
  if (options.filename.empty() || options.filename.find('/') != std::string::npos) {
    return InvalidArgumentError("redis source: file name '" + options.filename +
                                "' must be a plain name");
  }
  return std::unique_ptr<Source>(std::make_unique<RedisSource>(options, std::move(e)));
}

Result<std::unique_ptr<Source>> MakeRedisSource(const plan::PlanSource& ps) {
  auto fail = [&](const Status& s) {
    return Status(s.code(), "source '" + ps.name + "': " + s.message());
  };
  if (ps.config.contains("password")) {
    return InvalidArgumentError(
        "source '" + ps.name +
        "': a password does not belong in the plan; put it in an environment "
        "variable and name that with password_env");
  }
  RedisSourceOptions o;
  WARD_ASSIGN_OR_RETURN(o.address, ps.String("address", true));
  WARD_ASSIGN_OR_RETURN(o.username, ps.String("username"));
  WARD_ASSIGN_OR_RETURN(std::string env, ps.String("password_env"));
  if (!env.empty()) {
    const char* v = std::getenv(env.c_str());
    if (v == nullptr || *v == '\0') {
      return InvalidArgumentError("source '" + ps.name + "': password_env names " + env +
                                  ", which is not set in the environment");
    }
    o.password = v;
    o.password_origin = "$" + env;
  }
  WARD_ASSIGN_OR_RETURN(o.connect_timeout_ms,
                        DurationMs(ps, "connect_timeout", o.connect_timeout_ms));
  WARD_ASSIGN_OR_RETURN(o.io_timeout_ms, DurationMs(ps, "timeout", o.io_timeout_ms));
  auto s = NewRedisSource(o);
  if (!s.ok()) return fail(s.status());
  return std::move(*s);
}

const SourceKind& RedisKind() {
  static const SourceKind kind{
      "redis", {"address", "username", "password_env", "connect_timeout", "timeout"}, &MakeRedisSource};
  return kind;
}

}  // namespace ward::source
