// The Redis restore target: dump.rdb -> RESTORE commands (see redis.h).
#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <deque>
#include <map>
#include <set>

#include "base/time.h"
#include "source/redis/redis.h"
#include "source/redis/redis_conn.h"

namespace ward::source {

namespace {

int64_t NowMs() { return NowNanos() / 1000000; }

std::string Printable(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 60)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
  if (s.size() > 60) out += "...";
  return out;
}

// Keys whose expiry falls within this long after the restore started are
// remembered, so that DBSIZE may lack them at the end without that being a
// failure.
constexpr int64_t kExpiryWindowMs = 3600 * 1000;

struct RedisUrl {
  RedisEndpoint endpoint;
  std::string username;
};

Result<RedisUrl> ParseRedisUrl(const std::string& url) {
  RedisUrl u;
  std::string rest;
  if (url.rfind("redis://", 0) == 0) {
    rest = url.substr(8);
  } else if (url.rfind("rediss://", 0) == 0) {
    return UnimplementedError("--to " + url +
                              ": TLS (rediss://) is not supported by this build; "
                              "reach the server through a TLS tunnel and use redis://");
  } else {
    return InvalidArgumentError("--to " + url +
                                ": not a redis:// URL (write redis://[user@]host:port)");
  }
  size_t slash = rest.find('/');
  if (slash != std::string::npos) {
    if (slash + 1 != rest.size()) {
      return InvalidArgumentError("--to " + url +
                                  ": a Redis restore loads every database of the dump; leave the "
                                  "database number out of the URL");
    }
    rest.resize(slash);
  }
  size_t at = rest.rfind('@');
  if (at != std::string::npos) {
    u.username = rest.substr(0, at);
    rest = rest.substr(at + 1);
    if (u.username.find(':') != std::string::npos) {
      return InvalidArgumentError(
          "--to: the URL holds a password; put it in the REDISCLI_AUTH "
          "environment variable instead (command lines are visible to every user)");
    }
  }
  auto e = ParseRedisAddress(rest);
  if (!e.ok()) return InvalidArgumentError("--to " + url + ": " + e.status().message());
  u.endpoint = std::move(*e);
  return u;
}

using Keyspaces = std::map<uint64_t, uint64_t>;  // db -> keys

// "# Keyspace\r\ndb0:keys=3,expires=0,avg_ttl=0\r\n" -> {0: 3}
std::map<uint64_t, uint64_t> ParseKeyspace(std::string_view info) {
  std::map<uint64_t, uint64_t> out;
  size_t pos = 0;
  while (pos < info.size()) {
    size_t eol = info.find('\n', pos);
    if (eol == std::string_view::npos) eol = info.size();
    std::string_view line = info.substr(pos, eol - pos);
    pos = eol + 1;
    if (line.rfind("db", 0) != 0) continue;
    uint64_t db = 0, keys = 0;
    auto r = std::from_chars(line.data() + 2, line.data() + line.size(), db);
    size_t k = line.find("keys=");
    if (r.ec != std::errc() || k == std::string_view::npos) continue;
    std::from_chars(line.data() + k + 5, line.data() + line.size(), keys);
    out[db] = keys;
  }
  return out;
}

std::string InfoField(std::string_view info, std::string_view name) {
  std::string key = std::string(name) + ":";
  size_t p = info.find(key);
  if (p == std::string_view::npos) return "";
  size_t e = info.find_first_of("\r\n", p);
  return std::string(info.substr(p + key.size(), e - p - key.size()));
}

class RedisRestoreTarget : public RestoreTarget, private RdbVisitor {
 public:
  RedisRestoreTarget(std::unique_ptr<RedisConn> conn, RedisRestoreOptions options)
      : conn_(std::move(conn)), options_(std::move(options)), started_ms_(NowMs()) {}

  // Learns the server's version and limits, and checks that it is empty.
  Status Prepare() {
    WARD_ASSIGN_OR_RETURN(RedisReplyPtr r, conn_->Command({"INFO", "server"}));
    if (r->type == REDIS_REPLY_ERROR) return conn_->ReplyError("reading INFO", *r);
    if (r->type == REDIS_REPLY_STRING) {
      server_version_ = InfoField(std::string_view(r->str, r->len), "redis_version");
      server_major_ = std::atoi(server_version_.c_str());
    }
    WARD_ASSIGN_OR_RETURN(r, conn_->Command({"CONFIG", "GET", "proto-max-bulk-len"}));
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
        r->element[1]->type == REDIS_REPLY_STRING) {
      max_bulk_ = std::strtoull(r->element[1]->str, nullptr, 10);
    }
    WARD_ASSIGN_OR_RETURN(Keyspaces ks, Keyspace());
    if (!ks.empty() && !options_.allow_nonempty) {
      uint64_t total = 0;
      for (auto& [db, n] : ks) total += n;
      return FailedPreconditionError(
          "redis at " + conn_->endpoint().Display() + " already holds " + std::to_string(total) +
          " keys (in " + std::to_string(ks.size()) +
          " database(s)); restore into an empty Redis, so that DBSIZE can prove the restore "
          "(empty it with FLUSHALL if that is really what you want)");
    }
    return Status::OK();
  }

  Status RestoreFile(const std::string& path, const repo::Node&, Reader& content) override {
    const std::string base = path.substr(path.rfind('/') + 1);
    if (base.size() < 4 || base.substr(base.size() - 4) != ".rdb") {
      return InvalidArgumentError("redis restore: the snapshot holds '" + path +
                                  "', which is not an RDB file; restore it with --target DIR");
    }
    if (!file_.empty()) {
      return InvalidArgumentError("redis restore: the snapshot holds two RDB files ('" + file_ +
                                  "' and '" + path + "'); restore one at a time");
    }
    file_ = path;
    RdbParseOptions o;
    o.capture_values = true;
    auto info = ParseRdb(content, this, o);
    if (!info.ok()) {
      if (target_failed_) return info.status();  // already says what and how far
      Flush().IgnoreError();                     // count what was sent before the damage
      return Status(info.status().code(), path + ": " + info.status().message() + Partial());
    }
    WARD_RETURN_IF_ERROR(Flush());
    WARD_RETURN_IF_ERROR(content.Finish());
    info_ = std::move(*info);
    if (!functions_.empty() && options_.restore_functions) {
      Bytes payload = MakeDumpPayload(functions_, rdb_version_);
      WARD_ASSIGN_OR_RETURN(RedisReplyPtr r,
                            conn_->Command({"FUNCTION", "RESTORE", AsString(payload), "REPLACE"}));
      if (r->type == REDIS_REPLY_ERROR) {
        Status s = conn_->ReplyError(
            "restoring " + std::to_string(info_.functions) + " function libraries", *r);
        return Status(s.code(), s.message() + Partial());
      }
      functions_restored_ = info_.functions;
    }
    return Status::OK();
  }

  Result<nlohmann::json> Finish() override {
    WARD_RETURN_IF_ERROR(Flush());
    if (file_.empty()) {
      return NotFoundError("redis restore: the snapshot path holds no RDB file (dump.rdb)");
    }
    const int64_t now = NowMs();
    WARD_ASSIGN_OR_RETURN(Keyspaces ks, Keyspace());
    std::set<uint64_t> dbs;
    for (auto& [db, n] : restored_per_db_) dbs.insert(db);
    for (auto& [db, n] : ks) dbs.insert(db);
    nlohmann::json report = nlohmann::json::object();
    nlohmann::json dbsize = nlohmann::json::object(), expected = nlohmann::json::object();
    std::string mismatch;
    // Past the window, unremembered keys may have expired too: only an excess counts.
    const bool window_ok = now < started_ms_ + kExpiryWindowMs - 60000;
    for (uint64_t db : dbs) {
      WARD_RETURN_IF_ERROR(Select(db));
      WARD_ASSIGN_OR_RETURN(RedisReplyPtr r, conn_->Command({"DBSIZE"}));
      if (r->type != REDIS_REPLY_INTEGER) return conn_->ReplyError("reading DBSIZE", *r);
      const uint64_t have = uint64_t(r->integer);
      const uint64_t want = restored_per_db_[db];
      uint64_t may_expire = 0;
      for (const auto& [second, n] : soon_expiring_[db]) {
        if (second * 1000 <= now + 1000) may_expire += n;
      }
      dbsize[std::to_string(db)] = have;
      expected[std::to_string(db)] = want;
      bool ok = options_.allow_nonempty ? have + may_expire >= want
                                        : have <= want && (!window_ok || have + may_expire >= want);
      if (!ok && mismatch.empty()) {
        mismatch = "db " + std::to_string(db) + " has " + std::to_string(have) + " keys after " +
                   std::to_string(want) + " were restored into it";
        if (may_expire)
          mismatch += " (" + std::to_string(may_expire) + " of them may have expired since)";
      }
    }
    report["target"] = "redis://" + conn_->endpoint().Display();
    report["keys_restored"] = keys_restored_;
    report["expired_skipped"] = expired_skipped_;
    report["empty_skipped"] = empty_skipped_;
    report["functions_restored"] = functions_restored_;
    report["module_aux_skipped"] = info_.module_aux;
    report["rdb_version"] = rdb_version_;
    report["dbsize"] = dbsize;
    report["expected"] = expected;
    report["seconds"] = double(NowMs() - started_ms_) / 1000.0;
    report["ok"] = mismatch.empty();
    if (!mismatch.empty()) {
      return DataLossError(
          "redis at " + conn_->endpoint().Display() + ": DBSIZE check failed: " + mismatch + " (" +
          std::to_string(expired_skipped_) +
          " expired keys were skipped); something else writes to this server, or keys were lost");
    }
    return report;
  }

  std::string Summary() const override {
    std::string s = std::to_string(keys_restored_) + " keys into redis://" +
                    conn_->endpoint().Display() + ", DBSIZE matches";
    if (functions_restored_ > 0) {
      s += ", " + std::to_string(functions_restored_) + " function libraries";
    }
    if (expired_skipped_ > 0) {
      s += " (" + std::to_string(expired_skipped_) + " expired keys skipped)";
    }
    return s;
  }

 private:
  Status OnHeader(int version) override {
    rdb_version_ = version;
    return Status::OK();
  }

  Status OnFunction(ByteView record) override {
    functions_.insert(functions_.end(), record.begin(), record.end());
    return Status::OK();
  }

  Status OnAux(const std::string& name, const std::string& value) override {
    if (name == "redis-ver") source_version_ = value;
    return Status::OK();
  }

  Status OnKey(RdbKey& k) override {
    Status s = RestoreKey(k);
    if (!s.ok()) target_failed_ = true;
    return s;
  }

  Status RestoreKey(RdbKey& k) {
    const int64_t now = NowMs();
    if (k.expire_ms && *k.expire_ms <= now) {
      ++expired_skipped_;
      return Status::OK();
    }
    std::string_view kind = RdbTypeKind(k.type);
    if (k.elements == 0 && (kind == "list" || kind == "set" || kind == "zset" || kind == "hash")) {
      ++empty_skipped_;  // Redis refuses empty collections (and drops them on load)
      return Status::OK();
    }
    if (k.db != selected_db_) {
      WARD_RETURN_IF_ERROR(conn_->Append({"SELECT", std::to_string(k.db)}));
      pending_.push_back({k.db, "", true});
      selected_db_ = k.db;
    }
    payload_ = MakeDumpPayload(k.value, rdb_version_);
    if (max_bulk_ != 0 && payload_.size() > max_bulk_) {
      return FailedPreconditionError(
          "key '" + Printable(k.key) + "' (db " + std::to_string(k.db) + ") is " +
          std::to_string(payload_.size()) + " bytes serialized, more than redis at " +
          conn_->endpoint().Display() + " accepts (proto-max-bulk-len " +
          std::to_string(max_bulk_) + "); raise that setting and restore again");
    }
    std::string ttl = "0";
    const bool abs_ttl = server_major_ >= 5;
    if (k.expire_ms) {
      ttl = std::to_string(abs_ttl ? *k.expire_ms : std::max<int64_t>(1, *k.expire_ms - now));
      if (*k.expire_ms < started_ms_ + kExpiryWindowMs) {
        ++soon_expiring_[k.db][*k.expire_ms / 1000];
      }
    }
    std::vector<std::string_view> argv = {"RESTORE", k.key, ttl, AsString(payload_), "REPLACE"};
    if (abs_ttl && k.expire_ms) argv.push_back("ABSTTL");
    std::string idle, freq;
    if (k.lru_idle_s) {
      idle = std::to_string(*k.lru_idle_s);
      argv.push_back("IDLETIME");
      argv.push_back(idle);
    }
    if (k.lfu_freq) {
      freq = std::to_string(*k.lfu_freq);
      argv.push_back("FREQ");
      argv.push_back(freq);
    }
    WARD_RETURN_IF_ERROR(conn_->Append(argv));
    const size_t bytes = payload_.size() + k.key.size();
    pending_.push_back({k.db, std::move(k.key), false, k.type, k.module, bytes});
    pending_bytes_ += bytes;
    // Two batches in flight: the server restores one while we read the next.
    if (pending_.size() >= 2 * options_.batch_keys || pending_bytes_ >= 2 * options_.batch_bytes) {
      return Flush(options_.batch_keys, options_.batch_bytes);
    }
    return Status::OK();
  }

  // Reads replies, oldest first, until at most `keep_keys` commands and
  // `keep_bytes` of payload await theirs (all, by default).
  Status Flush(size_t keep_keys = 0, size_t keep_bytes = 0) {
    Status first;
    while (!pending_.empty() &&
           (pending_.size() > keep_keys || pending_bytes_ > keep_bytes || !first.ok())) {
      const Pending p = std::move(pending_.front());
      pending_.pop_front();
      pending_bytes_ -= p.bytes;
      auto r = conn_->GetReply();
      if (!r.ok()) {
        pending_.clear();
        pending_bytes_ = 0;
        return Status(r.status().code(), r.status().message() + Partial());
      }
      if ((*r)->type != REDIS_REPLY_ERROR) {
        if (!p.select) {
          ++keys_restored_;
          ++restored_per_db_[p.db];
        }
        continue;
      }
      if (!first.ok()) continue;
      if (p.select) {
        first = conn_->ReplyError("selecting database " + std::to_string(p.db) +
                                      " (the dump uses more databases than the target has?)",
                                  **r);
        continue;
      }
      std::string text = ReplyText(**r);
      Status s = conn_->ReplyError("restoring key '" + Printable(p.key) + "' (db " +
                                       std::to_string(p.db) + ", " + RdbTypeName(p.type) + ")",
                                   **r);
      std::string hint;
      if (text.find("payload version or checksum") != std::string::npos) {
        hint = "; the dump is RDB version " + std::to_string(rdb_version_) +
               (source_version_.empty() ? "" : " from Redis " + source_version_) +
               " and the target runs Redis " + server_version_ +
               ": restore into the same or a newer Redis";
      } else if (text.rfind("MOVED", 0) == 0 || text.rfind("CROSSSLOT", 0) == 0 ||
                 text.rfind("CLUSTERDOWN", 0) == 0) {
        hint = "; the target is a Redis Cluster node: restore into a standalone Redis";
      } else if (!p.module.empty()) {
        hint = "; the value belongs to module type '" + p.module +
               "': load that module into the target first";
      }
      first = Status(s.code(), s.message() + hint);
    }
    if (!first.ok()) return Status(first.code(), first.message() + Partial());
    return Status::OK();
  }

  Status Select(uint64_t db) {
    WARD_ASSIGN_OR_RETURN(RedisReplyPtr r, conn_->Command({"SELECT", std::to_string(db)}));
    if (r->type == REDIS_REPLY_ERROR)
      return conn_->ReplyError("selecting database " + std::to_string(db), *r);
    selected_db_ = db;
    return Status::OK();
  }

  Result<Keyspaces> Keyspace() {
    WARD_ASSIGN_OR_RETURN(RedisReplyPtr r, conn_->Command({"INFO", "keyspace"}));
    if (r->type == REDIS_REPLY_ERROR) return conn_->ReplyError("reading INFO keyspace", *r);
    if (r->type != REDIS_REPLY_STRING) return Keyspaces{};
    return ParseKeyspace(std::string_view(r->str, r->len));
  }

  std::string Partial() const {
    if (keys_restored_ == 0) return "";
    return " (" + std::to_string(keys_restored_) + " keys were restored before this: redis at " +
           conn_->endpoint().Display() + " holds an incomplete dataset)";
  }

  struct Pending {
    uint64_t db = 0;
    std::string key;
    bool select = false;
    uint8_t type = 0;
    std::string module;
    size_t bytes = 0;  // of the command, for the batch limits
  };

  std::unique_ptr<RedisConn> conn_;
  RedisRestoreOptions options_;
  const int64_t started_ms_;
  std::string server_version_;
  std::string source_version_;
  int server_major_ = 0;
  uint64_t max_bulk_ = 0;
  int rdb_version_ = 0;
  std::string file_;
  bool target_failed_ = false;  // the visitor (not the RDB) stopped the parse
  RdbInfo info_;
  Bytes payload_;
  Bytes functions_;
  std::deque<Pending> pending_;
  size_t pending_bytes_ = 0;
  uint64_t selected_db_ = 0;
  uint64_t keys_restored_ = 0, expired_skipped_ = 0, empty_skipped_ = 0, functions_restored_ = 0;
  std::map<uint64_t, uint64_t> restored_per_db_;
  // Restored keys expiring within kExpiryWindowMs: db -> second -> count.
  std::map<uint64_t, std::map<int64_t, uint64_t>> soon_expiring_;
};

}  // namespace

Result<std::unique_ptr<RestoreTarget>> MakeRedisRestoreTarget(const std::string& url,
                                                              const RedisRestoreOptions& options) {
  WARD_ASSIGN_OR_RETURN(RedisUrl u, ParseRedisUrl(url));
  RedisAuth auth;
  auth.username = u.username;
  if (!options.password_env.empty()) {
    const char* pw = std::getenv(options.password_env.c_str());
    if (pw != nullptr && *pw != '\0') {
      auth.password = pw;
      auth.password_origin = "$" + options.password_env;
    }
  }
  auth.hint = "put it in the " + options.password_env + " environment variable";
  WARD_ASSIGN_OR_RETURN(
      std::unique_ptr<RedisConn> conn,
      RedisConn::Connect(u.endpoint, auth, options.connect_timeout_ms, options.io_timeout_ms));
  auto t = std::make_unique<RedisRestoreTarget>(std::move(conn), options);
  WARD_RETURN_IF_ERROR(t->Prepare());
  return std::unique_ptr<RestoreTarget>(std::move(t));
}

}  // namespace ward::source
