// Shared by the Redis integration tests: the fixture that demands a real
// redis-server (a failure in CI, a skip with the install hint elsewhere),
// command helpers, a canonical dump of a server's whole keyspace for
// comparisons, and FakeMaster, a scripted TCP peer that plays a master's side
// of the sync for protocol and damage cases a real server will not produce.
//
// Thread safety: test code; FakeMaster runs its script on its own thread.
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "source/redis/redis.h"
#include "source/redis/redis_conn.h"
#include "source/redis/test_server.h"

namespace ward::source::testing {

class RedisTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!RedisTestServer::Installed()) {
      // The two wordings differ on purpose: CTest reports a skip when the
      // output matches "Redis integration tests skipped:" (CMakeLists.txt).
      if (std::getenv("CI") != nullptr) {
        FAIL() << "Redis integration tests cannot run (CI is set, so this is a failure): "
                  "redis-server not found; "
               << RedisTestServer::kInstallHint;
      }
      GTEST_SKIP() << "Redis integration tests skipped: redis-server not found; "
                   << RedisTestServer::kInstallHint;
    }
  }

  static std::unique_ptr<RedisTestServer> Start(const RedisTestServerOptions& o = {}) {
    auto s = RedisTestServer::Start(o);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(*s) : nullptr;
  }
};

inline std::unique_ptr<RedisConn> Connect(const RedisTestServer& s) {
  auto c = s.Connect();
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return c.ok() ? std::move(*c) : nullptr;
}

// Runs a command that must succeed; returns the reply.
inline RedisReplyPtr Cmd(RedisConn& c, const std::vector<std::string>& argv) {
  std::vector<std::string_view> v(argv.begin(), argv.end());
  auto r = c.Command(v);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  if (!r.ok()) return nullptr;
  EXPECT_NE((*r)->type, REDIS_REPLY_ERROR) << argv[0] << ": " << ReplyText(**r);
  return std::move(*r);
}

// SAVE, once a background save (a sync's BGSAVE) has finished.
inline void Save(RedisConn& c) {
  for (int i = 0; i < 500; ++i) {
    auto r = c.Command({"SAVE"});
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    if ((*r)->type != REDIS_REPLY_ERROR) return;
    ASSERT_NE(ReplyText(**r).find("in progress"), std::string::npos) << ReplyText(**r);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  FAIL() << "SAVE: a background save never finished";
}

// Pipelines commands (all must succeed).
class Pipe {
 public:
  explicit Pipe(RedisConn& c) : c_(c) {}
  ~Pipe() { Sync(); }
  void Add(const std::vector<std::string>& argv) {
    std::vector<std::string_view> v(argv.begin(), argv.end());
    ASSERT_TRUE(c_.Append(v).ok());
    if (++pending_ >= 1000) Sync();
  }
  void Sync() {
    for (; pending_ > 0; --pending_) {
      auto r = c_.GetReply();
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      ASSERT_NE((*r)->type, REDIS_REPLY_ERROR) << ReplyText(**r);
    }
  }

 private:
  RedisConn& c_;
  int pending_ = 0;
};

// A reply as text, recursively; `skip(index)` drops elements of arrays
// (times that differ between servers).
inline std::string Flatten(const redisReply* r, const std::function<bool(size_t)>& skip = nullptr) {
  switch (r->type) {
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_ERROR:
      return "'" + std::string(r->str, r->len) + "'";
    case REDIS_REPLY_INTEGER:
      return std::to_string(r->integer);
    case REDIS_REPLY_NIL:
      return "nil";
    case REDIS_REPLY_ARRAY: {
      std::string s = "[";
      for (size_t i = 0; i < r->elements; ++i) {
        if (skip && skip(i)) continue;
        s += Flatten(r->element[i]) + ",";
      }
      return s + "]";
    }
    default:
      return "?";
  }
}

struct KeyState {
  std::string type;
  std::string value;  // canonical
  long long pttl = -1;
};

// Every key of database `db`, with type, canonical value and PTTL.
inline std::map<std::string, KeyState> DumpKeyspace(RedisConn& c, int db) {
  std::map<std::string, KeyState> out;
  Cmd(c, {"SELECT", std::to_string(db)});
  std::vector<std::string> keys;
  std::string cursor = "0";
  do {
    auto r = Cmd(c, {"SCAN", cursor, "COUNT", "5000"});
    if (!r) return out;
    cursor = std::string(r->element[0]->str, r->element[0]->len);
    for (size_t i = 0; i < r->element[1]->elements; ++i) {
      keys.emplace_back(r->element[1]->element[i]->str, r->element[1]->element[i]->len);
    }
  } while (cursor != "0");
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  for (size_t start = 0; start < keys.size(); start += 500) {
    size_t end = std::min(keys.size(), start + 500);
    for (size_t i = start; i < end; ++i) {
      EXPECT_TRUE(c.Append({"TYPE", keys[i]}).ok());
      EXPECT_TRUE(c.Append({"PTTL", keys[i]}).ok());
    }
    for (size_t i = start; i < end; ++i) {
      KeyState& k = out[keys[i]];
      auto t = c.GetReply();
      auto p = c.GetReply();
      if (!t.ok() || !p.ok()) return out;
      k.type = std::string((*t)->str, (*t)->len);
      k.pttl = (*p)->integer;
    }
    // The value, by type.
    std::vector<int> counts;
    for (size_t i = start; i < end; ++i) {
      const std::string& key = keys[i];
      const std::string& type = out[key].type;
      std::vector<std::vector<std::string>> cmds;
      if (type == "string") {
        cmds = {{"GET", key}};
      } else if (type == "list") {
        cmds = {{"LRANGE", key, "0", "-1"}};
      } else if (type == "set") {
        cmds = {{"SORT", key, "ALPHA"}};
      } else if (type == "zset") {
        cmds = {{"ZRANGE", key, "0", "-1", "WITHSCORES"}};
      } else if (type == "hash") {
        cmds = {{"HGETALL", key}};
      } else if (type == "stream") {
        cmds = {{"XRANGE", key, "-", "+"}, {"XINFO", "GROUPS", key}};
      }
      counts.push_back(int(cmds.size()));
      for (auto& cmd : cmds) {
        std::vector<std::string_view> v(cmd.begin(), cmd.end());
        EXPECT_TRUE(c.Append(v).ok());
      }
    }
    for (size_t i = start; i < end; ++i) {
      KeyState& k = out[keys[i]];
      for (int j = 0; j < counts[i - start]; ++j) {
        auto r = c.GetReply();
        if (!r.ok()) return out;
        if (k.type == "hash") {
          // Field order depends on the table: sort the pairs.
          std::vector<std::string> pairs;
          for (size_t e = 0; e + 1 < (*r)->elements; e += 2) {
            pairs.push_back(Flatten((*r)->element[e]) + "=" + Flatten((*r)->element[e + 1]));
          }
          std::sort(pairs.begin(), pairs.end());
          for (auto& p : pairs) k.value += p + ";";
        } else {
          k.value += Flatten(r->get());
        }
      }
    }
  }
  // Pending entries of every stream group: IDs, owners and delivery counts.
  for (auto& [key, k] : out) {
    if (k.type != "stream") continue;
    auto groups = Cmd(c, {"XINFO", "GROUPS", key});
    for (size_t g = 0; groups && g < groups->elements; ++g) {
      const redisReply* info = groups->element[g];
      std::string name(info->element[1]->str, info->element[1]->len);
      auto pel = Cmd(c, {"XPENDING", key, name, "-", "+", "100000"});
      for (size_t e = 0; pel && e < pel->elements; ++e) {
        k.value += Flatten(pel->element[e], [](size_t i) { return i == 2; });  // idle time
      }
    }
  }
  return out;
}

// Reads one RESP command (array of bulk strings) or inline line from fd.
inline bool ReadFdLine(int fd, std::string* line) {
  line->clear();
  char ch;
  while (::read(fd, &ch, 1) == 1) {
    if (ch == '\n') {
      if (!line->empty() && line->back() == '\r') line->pop_back();
      return true;
    }
    *line += ch;
  }
  return false;
}

inline std::vector<std::string> ReadFdCommand(int fd) {
  std::string line;
  if (!ReadFdLine(fd, &line)) return {};
  if (line.empty() || line[0] != '*') return {line};  // inline command
  int n = std::atoi(line.c_str() + 1);
  std::vector<std::string> argv;
  for (int i = 0; i < n; ++i) {
    std::string len, data;
    if (!ReadFdLine(fd, &len) || !ReadFdLine(fd, &data)) return {};
    argv.push_back(data);
  }
  return argv;
}

inline void WriteFd(int fd, std::string_view s) {
  while (!s.empty()) {
    ssize_t n = ::write(fd, s.data(), s.size());
    if (n <= 0) return;
    s.remove_prefix(size_t(n));
  }
}

// A TCP server on 127.0.0.1 that accepts one connection and runs `script`
// on it; closes it when the script returns.
class FakeMaster {
 public:
  explicit FakeMaster(std::function<void(int fd)> script) {
    listen_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    ::bind(listen_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::getsockname(listen_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    ::listen(listen_, 1);
    thread_ = std::thread([this, script] {
      int fd = ::accept(listen_, nullptr, nullptr);
      if (fd < 0) return;
      script(fd);
      ::close(fd);
    });
  }
  ~FakeMaster() {
    ::shutdown(listen_, SHUT_RDWR);
    ::close(listen_);
    thread_.join();
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  int listen_ = -1;
  int port_ = 0;
  std::thread thread_;
};

// Answers the two REPLCONF commands of the handshake with +OK, then reads
// the PSYNC line.
inline void FakeHandshake(int fd) {
  for (int i = 0; i < 2; ++i) {
    ReadFdCommand(fd);
    WriteFd(fd, "+OK\r\n");
  }
  ReadFdCommand(fd);
}

// Reads a source's single file to the end, then Finish(); returns the bytes
// or the first error.
inline Result<Bytes> ReadAll(Source& src) {
  std::vector<Status> skipped;
  WARD_ASSIGN_OR_RETURN(std::vector<Entry> entries, src.List("", &skipped));
  if (entries.size() != 1) return InternalError("expected one entry");
  WARD_ASSIGN_OR_RETURN(std::unique_ptr<Reader> r, src.Open(entries[0].node.name, entries[0]));
  Bytes out;
  Bytes buf(1 << 16);
  for (;;) {
    WARD_ASSIGN_OR_RETURN(size_t n, r->Read(buf));
    if (n == 0) break;
    out.insert(out.end(), buf.begin(), buf.begin() + n);
  }
  WARD_RETURN_IF_ERROR(r->Finish());
  return out;
}

}  // namespace ward::source::testing
