// Integration tests of the RDB parser and RedisSource against real
// redis-server processes (started by the tests), plus FakeMaster for
// protocol damage a real server will not produce.
#include <sys/stat.h>

#include <chrono>
#include <fstream>

#include "io/file.h"
#include "source/redis/redis_test_util.h"

namespace ward::source::testing {
namespace {

class BytesReader : public Reader {
 public:
  explicit BytesReader(ByteView d) : d_(d) {}
  Result<size_t> Read(std::span<uint8_t> out) override {
    size_t n = std::min(out.size(), d_.size() - pos_);
    std::memcpy(out.data(), d_.data() + pos_, n);
    pos_ += n;
    return n;
  }

 private:
  ByteView d_;
  size_t pos_ = 0;
};

struct KeyCollector : RdbVisitor {
  std::map<std::string, RdbKey> keys;
  Status OnKey(RdbKey& k) override {
    keys[std::to_string(k.db) + "/" + k.key] = k;
    return Status::OK();
  }
};

// One key of every type and encoding, in databases 0 and 5.
void FillEveryType(RedisConn& c) {
  Pipe p(c);
  p.Add({"SET", "s:short", "hello"});
  p.Add({"SET", "s:int", "-123456"});
  p.Add({"SET", "s:lzf", std::string(5000, 'a') + "tail"});
  std::string random(300000, '\0');
  for (size_t i = 0; i < random.size(); ++i) random[i] = char((i * 2654435761u) >> 13);
  p.Add({"SET", "s:random", random});
  p.Add({"RPUSH", "l:small", "a", "b", "7"});
  std::vector<std::string> big = {"RPUSH", "l:big"};
  for (int i = 0; i < 5000; ++i) big.push_back("element-" + std::to_string(i));
  p.Add(big);
  p.Add({"SADD", "set:int", "1", "2", "3"});
  std::vector<std::string> bigset = {"SADD", "set:big"};
  for (int i = 0; i < 1000; ++i) bigset.push_back("m" + std::to_string(i));
  p.Add(bigset);
  p.Add({"ZADD", "z:small", "1", "a", "2", "b"});
  std::vector<std::string> bigz = {"ZADD", "z:big"};
  for (int i = 0; i < 1000; ++i) {
    bigz.push_back(std::to_string(i) + ".25");
    bigz.push_back("zm" + std::to_string(i));
  }
  p.Add(bigz);
  p.Add({"HSET", "h:small", "f", "v", "g", "1"});
  std::vector<std::string> bigh = {"HSET", "h:big"};
  for (int i = 0; i < 1000; ++i) {
    bigh.push_back("f" + std::to_string(i));
    bigh.push_back("v" + std::to_string(i));
  }
  p.Add(bigh);
  for (int i = 1; i <= 300; ++i) p.Add({"XADD", "x:stream", "*", "n", std::to_string(i)});
  p.Add({"XGROUP", "CREATE", "x:stream", "g", "0"});
  p.Add({"XREADGROUP", "GROUP", "g", "alice", "COUNT", "10", "STREAMS", "x:stream", ">"});
  p.Add({"SET", "s:ttl", "v", "PX", "3600000"});
  p.Add({"SELECT", "5"});
  p.Add({"SET", "db5", "five"});
  p.Add({"SELECT", "0"});
}

// Our DUMP payloads, built from the RDB, are byte for byte what the server's
// DUMP answers, and the parser's counts match the server's.
TEST_F(RedisTest, SavedRdbParsesAndRebuildsDumpPayloadsExactly) {
  auto server = Start();
  ASSERT_TRUE(server);
  auto c = Connect(*server);
  ASSERT_TRUE(c);
  FillEveryType(*c);
  Save(*c);
  auto data = io::ReadWholeFile(server->dir() + "/dump.rdb");
  ASSERT_TRUE(data.ok()) << data.status().ToString();
  BytesReader r(*data);
  KeyCollector keys;
  RdbParseOptions o;
  o.capture_values = true;
  auto info = ParseRdb(r, &keys, o);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->keys, 15u);
  EXPECT_EQ(info->keys_per_db.at(5), 1u);
  for (auto& [id, k] : keys.keys) {
    Cmd(*c, {"SELECT", std::to_string(k.db)});
    auto dump = Cmd(*c, {"DUMP", k.key});
    ASSERT_TRUE(dump && dump->type == REDIS_REPLY_STRING) << id;
    Bytes ours = MakeDumpPayload(k.value, info->version);
    EXPECT_EQ(std::string(AsString(ours)), std::string(dump->str, dump->len))
        << id << " " << RdbTypeName(k.type);
  }
  Cmd(*c, {"SELECT", "0"});
  auto count = [&](const std::vector<std::string>& cmd) { return uint64_t(Cmd(*c, cmd)->integer); };
  EXPECT_EQ(keys.keys["0/l:big"].elements, count({"LLEN", "l:big"}));
  EXPECT_EQ(keys.keys["0/set:big"].elements, count({"SCARD", "set:big"}));
  EXPECT_EQ(keys.keys["0/set:int"].elements, count({"SCARD", "set:int"}));
  EXPECT_EQ(keys.keys["0/z:big"].elements, count({"ZCARD", "z:big"}));
  EXPECT_EQ(keys.keys["0/z:small"].elements, count({"ZCARD", "z:small"}));
  EXPECT_EQ(keys.keys["0/h:big"].elements, count({"HLEN", "h:big"}));
  EXPECT_EQ(keys.keys["0/h:small"].elements, count({"HLEN", "h:small"}));
  EXPECT_EQ(keys.keys["0/x:stream"].elements, count({"XLEN", "x:stream"}));
  EXPECT_TRUE(keys.keys["0/s:ttl"].expire_ms.has_value());
}

// The source yields the same dataset as the server holds, over both
// transfer forms, and reports where it was taken.
class SourceTransfer : public RedisTest, public ::testing::WithParamInterface<bool> {};

TEST_P(SourceTransfer, StreamsAValidatedRdbAndRecordsItsPosition) {
  const bool diskless = GetParam();
  auto server = Start({"", {diskless ? "repl-diskless-sync yes" : "repl-diskless-sync no"}});
  ASSERT_TRUE(server);
  auto c = Connect(*server);
  FillEveryType(*c);
  RedisSourceOptions o;
  o.address = server->address();
  auto src = NewRedisSource(o);
  ASSERT_TRUE(src.ok()) << src.status().ToString();
  EXPECT_EQ((*src)->Kind(), "redis");
  std::vector<Status> skipped;
  auto entries = (*src)->List("", &skipped);
  ASSERT_TRUE(entries.ok());
  ASSERT_EQ(entries->size(), 1u);
  EXPECT_EQ((*entries)[0].node.name, "dump.rdb");
  EXPECT_EQ((*entries)[0].node.mode, 0600u);
  EXPECT_FALSE((*entries)[0].cacheable);

  auto bytes = ReadAll(**src);
  ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
  BytesReader r(*bytes);
  KeyCollector got;
  RdbParseOptions po;
  po.capture_values = true;
  auto info = ParseRdb(r, &got, po);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->keys, 15u);

  nlohmann::json pos = (*src)->Position();
  EXPECT_EQ(pos["transfer"], diskless ? "diskless" : "disk");
  EXPECT_EQ(pos["repl_id"].get<std::string>().size(), 40u) << pos.dump();
  EXPECT_GE(pos["repl_offset"].get<int64_t>(), 0);
  EXPECT_EQ(pos["rdb_version"], 10);
  EXPECT_EQ(pos["keys"], 15);
  EXPECT_EQ(pos["checksum"], "verified");
  EXPECT_EQ(pos["bytes"], bytes->size());
  EXPECT_EQ(pos["address"], server->address());

  // The values equal those of a SAVE of the same data.
  Save(*c);
  auto saved = io::ReadWholeFile(server->dir() + "/dump.rdb");
  ASSERT_TRUE(saved.ok());
  BytesReader sr(*saved);
  KeyCollector want;
  ASSERT_TRUE(ParseRdb(sr, &want, po).ok());
  ASSERT_EQ(got.keys.size(), want.keys.size());
  for (auto& [id, k] : want.keys) {
    ASSERT_TRUE(got.keys.count(id)) << id;
    if (RdbTypeKind(k.type) == "set" || RdbTypeKind(k.type) == "hash") continue;  // table order
    EXPECT_EQ(got.keys[id].value, k.value) << id;
  }
}

INSTANTIATE_TEST_SUITE_P(DiskAndDiskless, SourceTransfer, ::testing::Bool(),
                         [](const auto& p) { return p.param ? "Diskless" : "Disk"; });

// A master that takes its time (slow BGSAVE, or a diskless delay) sends
// newlines as keepalive before the payload.
TEST_F(RedisTest, KeepaliveNewlinesBeforeThePayloadAreSkipped) {
  for (bool diskless : {false, true}) {
    std::vector<std::string> conf = {diskless ? "repl-diskless-sync yes" : "repl-diskless-sync no"};
    if (diskless) {
      conf.push_back("repl-diskless-sync-delay 2");
    } else {
      conf.push_back("rdb-key-save-delay 1000000");  // 1 s per key
    }
    auto server = Start({"", conf});
    ASSERT_TRUE(server);
    auto c = Connect(*server);
    Cmd(*c, {"SET", "a", "1"});
    Cmd(*c, {"SET", "b", "2"});
    RedisSourceOptions o;
    o.address = server->address();
    auto src = NewRedisSource(o);
    auto t0 = std::chrono::steady_clock::now();
    auto bytes = ReadAll(**src);
    ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
    EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(1500))
        << "no wait: no keepalive";
    EXPECT_EQ((*src)->Position()["keys"], 2);
  }
}

TEST_F(RedisTest, PasswordsAndAclUsers) {
  auto server = Start({"s3cret-pw", {}});
  ASSERT_TRUE(server);
  auto c = Connect(*server);
  Cmd(*c, {"SET", "k", "v"});
  Cmd(*c, {"ACL", "SETUSER", "backup", "on", ">backup-pw", "~*", "&*", "+@all"});

  RedisSourceOptions o;
  o.address = server->address();
  o.password = "s3cret-pw";
  o.password_origin = "$REDIS_PASSWORD";
  auto ok = ReadAll(**NewRedisSource(o));
  EXPECT_TRUE(ok.ok()) << ok.status().ToString();

  o.password = "wrong-pw";
  auto wrong = ReadAll(**NewRedisSource(o));
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.status().code(), StatusCode::kUnauthenticated);
  EXPECT_NE(wrong.status().message().find(server->address()), std::string::npos)
      << wrong.status().message();
  EXPECT_NE(wrong.status().message().find("$REDIS_PASSWORD"), std::string::npos)
      << wrong.status().message();
  EXPECT_EQ(wrong.status().message().find("wrong-pw"), std::string::npos) << "password leaked";

  o.password.clear();
  auto none = ReadAll(**NewRedisSource(o));
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), StatusCode::kUnauthenticated);
  EXPECT_NE(none.status().message().find("requires a password"), std::string::npos)
      << none.status().message();
  EXPECT_NE(none.status().message().find("password_env"), std::string::npos)
      << none.status().message();

  o.username = "backup";
  o.password = "backup-pw";
  auto user = ReadAll(**NewRedisSource(o));
  EXPECT_TRUE(user.ok()) << user.status().ToString();
  o.password = "nope";
  auto bad_user = ReadAll(**NewRedisSource(o));
  EXPECT_EQ(bad_user.status().code(), StatusCode::kUnauthenticated);
  EXPECT_NE(bad_user.status().message().find("user 'backup'"), std::string::npos)
      << bad_user.status().message();

  // A user without the right to sync.
  Cmd(*c, {"ACL", "SETUSER", "reader", "on", ">reader-pw", "~*", "+@read", "+auth"});
  o.username = "reader";
  o.password = "reader-pw";
  auto denied = ReadAll(**NewRedisSource(o));
  EXPECT_EQ(denied.status().code(), StatusCode::kPermissionDenied) << denied.status().ToString();
}

TEST_F(RedisTest, UnreachableServersFailFastNamingTheAddress) {
  // A port nobody listens on: refused at once.
  auto server = Start();
  ASSERT_TRUE(server);
  std::string address = server->address();
  server.reset();
  RedisSourceOptions o;
  o.address = address;
  o.connect_timeout_ms = 1000;
  auto t0 = std::chrono::steady_clock::now();
  auto r = ReadAll(**NewRedisSource(o));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(r.status().message().find("cannot connect to redis at " + address), std::string::npos)
      << r.status().message();
  // An address that does not answer (TEST-NET-1): the connect timeout.
  o.address = "192.0.2.1:6379";
  auto blackhole = ReadAll(**NewRedisSource(o));
  ASSERT_FALSE(blackhole.ok());
  EXPECT_EQ(blackhole.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(blackhole.status().message().find("192.0.2.1:6379"), std::string::npos);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
}

TEST_F(RedisTest, AReplicaWithoutItsMasterRefusesToSync) {
  auto server = Start({"", {"replicaof 127.0.0.1 1"}});
  ASSERT_TRUE(server);
  RedisSourceOptions o;
  o.address = server->address();
  auto r = ReadAll(**NewRedisSource(o));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable) << r.status().ToString();
  EXPECT_NE(r.status().message().find("NOMASTERLINK"), std::string::npos) << r.status().message();
}

TEST(RedisProtocol, NotARedisServer) {
  FakeMaster http([](int fd) {
    char buf[256];
    (void)::read(fd, buf, sizeof buf);
    WriteFd(fd, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
  });
  RedisSourceOptions o;
  o.address = http.address();
  o.io_timeout_ms = 3000;
  auto r = ReadAll(**NewRedisSource(o));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("not the Redis protocol"), std::string::npos)
      << r.status().message();
  EXPECT_NE(r.status().message().find(http.address()), std::string::npos);
}

TEST(RedisProtocol, GarbageAnswerToPsync) {
  FakeMaster m([](int fd) {
    FakeHandshake(fd);
    WriteFd(fd, "\n\nhello there\r\n");
  });
  RedisSourceOptions o;
  o.address = m.address();
  auto r = ReadAll(**NewRedisSource(o));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("'hello there', which is not the Redis replication protocol"),
            std::string::npos)
      << r.status().message();
}

// A valid small RDB as a master would send it.
Bytes SmallRdb() {
  auto server = RedisTestServer::Start();
  EXPECT_TRUE(server.ok());
  if (!server.ok()) return {};
  auto c = (*server)->Connect();
  for (int i = 0; i < 200; ++i)
    Cmd(**c, {"SET", "key" + std::to_string(i), std::string(100, char('a' + i % 26))});
  Cmd(**c, {"SAVE"});
  return *io::ReadWholeFile((*server)->dir() + "/dump.rdb");
}

TEST_F(RedisTest, OldServersWithoutPsyncGetSync) {
  Bytes rdb = SmallRdb();
  std::string seen;
  FakeMaster m([&](int fd) {
    FakeHandshake(fd);
    WriteFd(fd, "-ERR unknown command 'PSYNC'\r\n");
    seen = ReadFdCommand(fd)[0];
    WriteFd(fd, "$" + std::to_string(rdb.size()) + "\r\n");
    WriteFd(fd, AsString(rdb));
  });
  RedisSourceOptions o;
  o.address = m.address();
  auto src = NewRedisSource(o);
  auto r = ReadAll(**src);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(seen, "SYNC");
  EXPECT_EQ(*r, rdb);
  EXPECT_EQ((*src)->Position()["keys"], 200);
}

TEST_F(RedisTest, TruncatedOrDamagedTransfersFailTheBackup) {
  Bytes rdb = SmallRdb();
  ASSERT_GT(rdb.size(), 1000u);
  const std::string mark(40, 'M');
  struct Case {
    std::string name;
    std::function<void(int)> script;
    std::string expect;
  };
  std::vector<Case> cases = {
      {"counted, cut short",
       [&](int fd) {
         FakeHandshake(fd);
         WriteFd(fd, "+FULLRESYNC 0123456789012345678901234567890123456789 0\r\n$" +
                         std::to_string(rdb.size()) + "\r\n");
         WriteFd(fd, AsString(rdb).substr(0, rdb.size() / 2));
       },
       "closed the connection after " + std::to_string(rdb.size() / 2) + " bytes of the RDB (of " +
           std::to_string(rdb.size()) + ")"},
      {"diskless, no end mark",
       [&](int fd) {
         FakeHandshake(fd);
         WriteFd(fd,
                 "+FULLRESYNC 0123456789012345678901234567890123456789 0\r\n$EOF:" + mark + "\r\n");
         WriteFd(fd, AsString(rdb));
       },
       "closed the connection after"},
      {"counted, one byte changed",
       [&](int fd) {
         FakeHandshake(fd);
         Bytes bad = rdb;
         // A letter of a key name: the structure stays sound, the checksum catches it.
         const std::string_view text = AsString(bad);
         bad[text.find("key100") + 1] ^= 0x20;
         WriteFd(fd, "+FULLRESYNC 0123456789012345678901234567890123456789 0\r\n$" +
                         std::to_string(bad.size()) + "\r\n");
         WriteFd(fd, AsString(bad));
       },
       "is not usable, so nothing was stored: RDB damaged at byte"},
      {"diskless, mark too early",
       [&](int fd) {
         FakeHandshake(fd);
         WriteFd(fd,
                 "+FULLRESYNC 0123456789012345678901234567890123456789 0\r\n$EOF:" + mark + "\r\n");
         WriteFd(fd, AsString(rdb).substr(0, 700));
         WriteFd(fd, mark);
       },
       "RDB truncated at byte 700"},
  };
  for (const auto& c : cases) {
    FakeMaster m(c.script);
    RedisSourceOptions o;
    o.address = m.address();
    o.io_timeout_ms = 5000;
    auto r = ReadAll(**NewRedisSource(o));
    ASSERT_FALSE(r.ok()) << c.name;
    EXPECT_EQ(r.status().code(), StatusCode::kDataLoss) << c.name << ": " << r.status().ToString();
    EXPECT_NE(r.status().message().find(c.expect), std::string::npos)
        << c.name << ": " << r.status().message();
  }
  // And the good diskless form, with keepalives, delivered in small pieces.
  FakeMaster good([&](int fd) {
    FakeHandshake(fd);
    WriteFd(fd,
            "+FULLRESYNC 0123456789012345678901234567890123456789 77\r\n\n\n$EOF:" + mark + "\r\n");
    for (size_t i = 0; i < rdb.size(); i += 97) WriteFd(fd, AsString(rdb).substr(i, 97));
    WriteFd(fd, mark);
  });
  RedisSourceOptions o;
  o.address = good.address();
  auto src = NewRedisSource(o);
  auto r = ReadAll(**src);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, rdb);
  EXPECT_EQ((*src)->Position()["repl_offset"], 77);
}

TEST(RedisPlan, PlanKeysAndSecrets) {
  plan::PlanSource ps;
  ps.name = "cache";
  ps.kind = "redis";
  ps.config = {{"address", "127.0.0.1:6379"}, {"password_env", "WARD_TEST_UNSET_VAR_42"}};
  ::unsetenv("WARD_TEST_UNSET_VAR_42");
  auto unset = MakeRedisSource(ps);
  ASSERT_FALSE(unset.ok());
  EXPECT_NE(
      unset.status().message().find("source 'cache': password_env names WARD_TEST_UNSET_VAR_42"),
      std::string::npos)
      << unset.status().message();
  ::setenv("WARD_TEST_UNSET_VAR_42", "pw", 1);
  EXPECT_TRUE(MakeRedisSource(ps).ok());
  ::unsetenv("WARD_TEST_UNSET_VAR_42");

  ps.config = {{"address", "127.0.0.1:6379"}, {"password", "in-the-plan"}};
  auto inline_pw = MakeRedisSource(ps);
  ASSERT_FALSE(inline_pw.ok());
  EXPECT_NE(inline_pw.status().message().find("does not belong in the plan"), std::string::npos);
  EXPECT_EQ(inline_pw.status().message().find("in-the-plan"), std::string::npos);

  ps.config = nlohmann::json::object();
  EXPECT_FALSE(MakeRedisSource(ps).ok());  // address is required
  ps.config = {{"address", "db:notaport"}};
  EXPECT_NE(MakeRedisSource(ps).status().message().find("port must be a number"),
            std::string::npos);
  ps.config = {{"address", "[::1]:7000"}, {"timeout", "30s"}, {"db", 3}};
  EXPECT_TRUE(MakeRedisSource(ps).ok());
  ps.config = {{"address", "h:1"}, {"timeout", "soon"}};
  EXPECT_FALSE(MakeRedisSource(ps).ok());
}

}  // namespace
}  // namespace ward::source::testing
