// End to end through the engine: a Redis holding every type backed up with
// RunBackup into a local repository, restored with RunRestoreToTarget into a
// second, empty redis-server, and compared key by key.
#include <chrono>
#include <cstdio>
#include <random>

#include "crypto/crypto.h"
#include "engine/backup.h"
#include "engine/restore.h"
#include "io/file.h"
#include "source/redis/redis_test_util.h"
#include "storage/local/local_backend.h"

namespace ward::source::testing {
namespace {

std::string Tmp() {
  char t[] = "/tmp/ward-redis-engine-XXXXXX";
  return ::mkdtemp(t);
}

double Since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

constexpr int kShortTtlKeys = 100;
constexpr int kShortTtlMs = 5000;  // the backup must be done by then

// About 100k keys of every type, some with expiries, in databases 0, 1, 2.
void FillDataset(RedisConn& c) {
  std::mt19937_64 rng(99);
  Pipe p(c);
  for (int i = 0; i < 92000; ++i) {
    // Every third value is an integer (int-encoded in the RDB).
    p.Add({"SET", "str:" + std::to_string(i),
           i % 3 == 0 ? std::to_string(i * 7) : "value-" + std::to_string(i)});
  }
  for (int i = 0; i < 3000; ++i) {
    p.Add({"SET", "ttl:" + std::to_string(i), "expiring", "PX", std::to_string(3600000 + i)});
  }
  std::string random(4 << 20, '\0');
  for (auto& ch : random) ch = char(rng());
  p.Add({"SET", "big:random", random});
  p.Add({"SET", "big:text", std::string(3 << 20, 'w') + "end"});
  for (int i = 0; i < 1000; ++i) {
    p.Add({"RPUSH", "list:" + std::to_string(i), "a", std::to_string(i), "c"});
  }
  for (int l = 0; l < 3; ++l) {
    std::vector<std::string> cmd = {"RPUSH", "biglist:" + std::to_string(l)};
    for (int i = 0; i < 20000; ++i) cmd.push_back("item-" + std::to_string(i));
    p.Add(cmd);
  }
  for (int i = 0; i < 1000; ++i) {
    p.Add({"SADD", "intset:" + std::to_string(i), "1", std::to_string(i), "-5"});
    p.Add({"SADD", "set:" + std::to_string(i), "x", "y" + std::to_string(i)});
  }
  for (int s = 0; s < 2; ++s) {
    std::vector<std::string> cmd = {"SADD", "bigset:" + std::to_string(s)};
    for (int i = 0; i < 5000; ++i) cmd.push_back("member-" + std::to_string(i));
    p.Add(cmd);
  }
  for (int i = 0; i < 1000; ++i) {
    p.Add({"ZADD", "zset:" + std::to_string(i), "1.5", "a", std::to_string(i), "b"});
    p.Add({"HSET", "hash:" + std::to_string(i), "name", "n" + std::to_string(i), "n",
           std::to_string(i)});
  }
  for (int z = 0; z < 2; ++z) {
    std::vector<std::string> zc = {"ZADD", "bigzset:" + std::to_string(z)};
    std::vector<std::string> hc = {"HSET", "bighash:" + std::to_string(z)};
    for (int i = 0; i < 5000; ++i) {
      zc.push_back(std::to_string(i * 0.5));
      zc.push_back("m" + std::to_string(i));
      hc.push_back("field-" + std::to_string(i));
      hc.push_back("value-" + std::to_string(i));
    }
    p.Add(zc);
    p.Add(hc);
  }
  for (int s = 0; s < 3; ++s) {
    const std::string key = "stream:" + std::to_string(s);
    for (int i = 0; i < 1000; ++i) p.Add({"XADD", key, "*", "i", std::to_string(i), "s", "x"});
    p.Add({"XGROUP", "CREATE", key, "workers", "0"});
    p.Add({"XGROUP", "CREATE", key, "audit", "$"});
    p.Add({"XREADGROUP", "GROUP", "workers", "alice", "COUNT", "20", "STREAMS", key, ">"});
    p.Add({"XREADGROUP", "GROUP", "workers", "bob", "COUNT", "5", "STREAMS", key, ">"});
  }
  p.Add({"SELECT", "1"});
  for (int i = 0; i < 500; ++i) p.Add({"SET", "db1:" + std::to_string(i), "one"});
  p.Add({"SELECT", "2"});
  p.Add({"HSET", "db2:hash", "a", "b"});
  p.Add({"SELECT", "0"});
  // Last: keys that will have expired by the time the restore runs.
  for (int i = 0; i < kShortTtlKeys; ++i) {
    p.Add({"SET", "short:" + std::to_string(i), "gone-soon", "PX", std::to_string(kShortTtlMs)});
  }
  p.Sync();
  Cmd(c, {"FUNCTION", "LOAD",
          "#!lua name=wardtest\nredis.register_function('ward_hi', function() return 'hi' end)"});
}

class RedisEngineTest : public RedisTest {
 protected:
  void SetUp() override {
    RedisTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    ASSERT_TRUE(crypto::Init().ok());
    base_ = Tmp();
    repo_dir_ = base_ + "/repo";
    repo::OpenOptions o;
    crypto::KdfParams k = crypto::DefaultKdfParams();
    k.memory = 1 << 20;
    k.ops = 1;
    o.kdf = k;
    auto r = repo::Repository::Init(storage::NewLocalBackend(repo_dir_), "pw", o);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }
  void TearDown() override {
    std::error_code ec;
    if (!base_.empty()) std::filesystem::remove_all(base_, ec);
  }

  std::unique_ptr<repo::Repository> OpenRepo() {
    auto r = repo::Repository::Open(storage::NewLocalBackend(repo_dir_), "pw", repo::OpenOptions());
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (!r.ok()) return nullptr;
    EXPECT_TRUE((*r)->LoadIndex().ok());
    return std::move(*r);
  }

  Result<engine::BackupResult> Backup(const RedisSourceOptions& o) {
    auto repo = OpenRepo();
    WARD_ASSIGN_OR_RETURN(std::unique_ptr<Source> src, NewRedisSource(o));
    engine::BackupOptions bo;
    bo.hostname = "test-host";
    return engine::RunBackup(*repo, *src, bo, nullptr);
  }

  Result<nlohmann::json> Restore(const repo::Snapshot& snap, const std::string& url,
                                 const RedisRestoreOptions& options = {}) {
    auto repo = OpenRepo();
    WARD_ASSIGN_OR_RETURN(std::unique_ptr<RestoreTarget> t, MakeRedisRestoreTarget(url, options));
    return engine::RunRestoreToTarget(*repo, snap, "", *t, nullptr);
  }

  std::string base_, repo_dir_;
};

TEST_F(RedisEngineTest, BackupAndRestoreEveryTypeWith100kKeys) {
  auto src_server = Start();
  auto dst_server = Start();
  ASSERT_TRUE(src_server && dst_server);
  auto src = Connect(*src_server);
  auto t0 = std::chrono::steady_clock::now();
  FillDataset(*src);
  const auto short_keys_set = std::chrono::steady_clock::now();
  const uint64_t keys0 = uint64_t(Cmd(*src, {"DBSIZE"})->integer);
  std::printf("[ measure ] filled %llu keys in db 0 in %.2fs\n", (unsigned long long)keys0,
              Since(t0));

  RedisSourceOptions o;
  o.address = src_server->address();
  t0 = std::chrono::steady_clock::now();
  auto b = Backup(o);
  const double backup_s = Since(t0);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  const repo::Snapshot& snap = b->snapshot;
  EXPECT_EQ(snap.source, "redis");
  const nlohmann::json& pos = snap.sources;
  EXPECT_EQ(pos["keys"], keys0 + 500 + 1) << pos.dump();
  EXPECT_EQ(pos["repl_id"].get<std::string>().size(), 40u);
  auto node = engine::FindNode(*OpenRepo(), snap.tree, "/dump.rdb");
  ASSERT_TRUE(node.ok()) << node.status().ToString();
  EXPECT_EQ(node->mode, 0600u);
  std::printf("[ measure ] backup of %llu keys (%.1f MB RDB): %.2fs\n",
              (unsigned long long)pos["keys"].get<uint64_t>(), node->size / 1e6, backup_s);

  // Let the short-lived keys expire: the restore must skip them.
  ASSERT_LT(Since(short_keys_set), kShortTtlMs / 1000.0) << "backup too slow for this test's short TTLs";
  std::this_thread::sleep_until(short_keys_set + std::chrono::milliseconds(kShortTtlMs + 100));
  t0 = std::chrono::steady_clock::now();
  auto report = Restore(snap, "redis://" + dst_server->address());
  const double restore_s = Since(t0);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  std::printf("[ measure ] restore of %llu keys: %.2fs (%.0f keys/s)\n",
              (unsigned long long)(*report)["keys_restored"].get<uint64_t>(), restore_s,
              (*report)["keys_restored"].get<double>() / restore_s);
  EXPECT_TRUE((*report)["ok"].get<bool>());
  EXPECT_EQ((*report)["expired_skipped"], kShortTtlKeys) << report->dump();
  EXPECT_EQ((*report)["keys_restored"], keys0 - kShortTtlKeys + 500 + 1);
  EXPECT_EQ((*report)["functions_restored"], 1);
  EXPECT_EQ((*report)["dbsize"]["0"], keys0 - kShortTtlKeys);
  EXPECT_EQ((*report)["dbsize"]["1"], 500);
  EXPECT_EQ((*report)["dbsize"]["2"], 1);
  EXPECT_LT(restore_s, 30.0);

  // Key by key: type, value, TTL.
  auto dst = Connect(*dst_server);
  for (int db : {0, 1, 2}) {
    auto want = DumpKeyspace(*src, db);
    auto got = DumpKeyspace(*dst, db);
    ASSERT_EQ(want.size(), got.size()) << "db " << db;
    size_t ttl_keys = 0;
    for (const auto& [key, w] : want) {
      auto it = got.find(key);
      ASSERT_NE(it, got.end()) << key;
      ASSERT_EQ(w.type, it->second.type) << key;
      ASSERT_EQ(w.value, it->second.value) << key;
      if (w.pttl < 0) {
        ASSERT_EQ(it->second.pttl, w.pttl) << key;
        continue;
      }
      ++ttl_keys;
      EXPECT_LT(std::abs(it->second.pttl - w.pttl), 5000) << key;
    }
    if (db == 0) {
      EXPECT_EQ(ttl_keys, 3000u);
    }
  }
  auto fn = Cmd(*dst, {"FCALL", "ward_hi", "0"});
  ASSERT_TRUE(fn);
  EXPECT_EQ(std::string(fn->str, fn->len), "hi");

  // A second restore into the same (now full) server is refused up front.
  auto again = Restore(snap, "redis://" + dst_server->address());
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(again.status().message().find("already holds"), std::string::npos)
      << again.status().message();
  // ...unless asked; REPLACE makes it idempotent.
  RedisRestoreOptions replace;
  replace.allow_nonempty = true;
  auto forced = Restore(snap, "redis://" + dst_server->address(), replace);
  ASSERT_TRUE(forced.ok()) << forced.status().ToString();
  EXPECT_EQ((*forced)["dbsize"]["0"], keys0 - kShortTtlKeys);
}

TEST_F(RedisEngineTest, PasswordProtectedSourceAndTarget) {
  auto src_server = Start({"src-secret", {}});
  auto dst_server = Start({"dst-secret", {}});
  ASSERT_TRUE(src_server && dst_server);
  auto src = Connect(*src_server);
  for (int i = 0; i < 1000; ++i) Cmd(*src, {"SET", "k" + std::to_string(i), "v"});

  RedisSourceOptions o;
  o.address = src_server->address();
  o.password = "bad";
  auto denied = Backup(o);
  ASSERT_FALSE(denied.ok());
  EXPECT_EQ(denied.status().code(), StatusCode::kUnauthenticated) << denied.status().ToString();
  EXPECT_TRUE(OpenRepo()->ListSnapshots()->empty()) << "a failed backup left a snapshot";

  o.password = "src-secret";
  auto b = Backup(o);
  ASSERT_TRUE(b.ok()) << b.status().ToString();

  const std::string url = "redis://" + dst_server->address();
  ::unsetenv("WARD_TEST_REDIS_PW");
  RedisRestoreOptions ro;
  ro.password_env = "WARD_TEST_REDIS_PW";
  auto noauth = Restore(b->snapshot, url, ro);
  ASSERT_FALSE(noauth.ok());
  EXPECT_EQ(noauth.status().code(), StatusCode::kUnauthenticated);
  EXPECT_NE(noauth.status().message().find("WARD_TEST_REDIS_PW"), std::string::npos)
      << noauth.status().message();
  ::setenv("WARD_TEST_REDIS_PW", "nope", 1);
  auto wrong = Restore(b->snapshot, url, ro);
  EXPECT_EQ(wrong.status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(wrong.status().message().find("nope"), std::string::npos);
  ::setenv("WARD_TEST_REDIS_PW", "dst-secret", 1);
  auto ok = Restore(b->snapshot, url, ro);
  ::unsetenv("WARD_TEST_REDIS_PW");
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ((*ok)["keys_restored"], 1000);

  EXPECT_FALSE(MakeRedisRestoreTarget("redis://user:pw@" + dst_server->address()).ok());
  EXPECT_FALSE(MakeRedisRestoreTarget("http://" + dst_server->address()).ok());
}

TEST_F(RedisEngineTest, UnreachableSourceFailsFastAndLeavesNoSnapshot) {
  auto gone = Start();
  ASSERT_TRUE(gone);
  RedisSourceOptions o;
  o.address = gone->address();
  gone.reset();
  o.connect_timeout_ms = 2000;
  auto t0 = std::chrono::steady_clock::now();
  auto b = Backup(o);
  ASSERT_FALSE(b.ok());
  EXPECT_LT(Since(t0), 5.0);
  EXPECT_NE(b.status().message().find("cannot connect to redis at " + o.address), std::string::npos)
      << b.status().message();
  EXPECT_TRUE(OpenRepo()->ListSnapshots()->empty());
}

// A reader over a file, for feeding RDB files to the restore target.
class FileReader : public Reader {
 public:
  explicit FileReader(Bytes data) : data_(std::move(data)) {}
  Result<size_t> Read(std::span<uint8_t> out) override {
    size_t n = std::min(out.size(), data_.size() - pos_);
    std::memcpy(out.data(), data_.data() + pos_, n);
    pos_ += n;
    return n;
  }

 private:
  Bytes data_;
  size_t pos_ = 0;
};

TEST_F(RedisEngineTest, DamagedRdbIntoTheRestoreTargetFailsClearly) {
  auto src_server = Start();
  auto dst_server = Start();
  ASSERT_TRUE(src_server && dst_server);
  auto src = Connect(*src_server);
  {
    Pipe p(*src);
    for (int i = 0; i < 5000; ++i)
      p.Add({"HSET", "h" + std::to_string(i), "f", "v" + std::to_string(i)});
  }
  Save(*src);
  auto rdb = io::ReadWholeFile(src_server->dir() + "/dump.rdb");
  ASSERT_TRUE(rdb.ok());
  // Damage the structure of one listpack late in the file, with the checksum
  // switched off so that the structure check is what finds it.
  Bytes bad = *rdb;
  for (size_t i = bad.size() - 8; i < bad.size(); ++i) bad[i] = 0;
  const size_t victim = bad.size() * 3 / 4;
  size_t at = victim;
  while (at < bad.size() && bad[at] != 0xFF) ++at;  // a listpack terminator
  ASSERT_LT(at, bad.size() - 9);
  bad[at] = 0x01;

  auto t = MakeRedisRestoreTarget("redis://" + dst_server->address());
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  FileReader r(bad);
  repo::Node node;
  Status s = (*t)->RestoreFile("dump.rdb", node, r);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kDataLoss);
  EXPECT_NE(s.message().find("dump.rdb: RDB damaged at byte "), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("hash (listpack)"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("keys were restored before this"), std::string::npos) << s.message();

  // A truncated file: the same, and the target's Finish does not pretend.
  auto t2 = MakeRedisRestoreTarget("redis://" + dst_server->address(), {.allow_nonempty = true});
  ASSERT_TRUE(t2.ok());
  FileReader cut(Bytes(rdb->begin(), rdb->begin() + rdb->size() / 2));
  Status s2 = (*t2)->RestoreFile("dump.rdb", node, cut);
  EXPECT_NE(s2.message().find("RDB truncated at byte " + std::to_string(rdb->size() / 2)),
            std::string::npos)
      << s2.message();

  // Something that is not an RDB at all.
  auto t3 = MakeRedisRestoreTarget("redis://" + dst_server->address(), {.allow_nonempty = true});
  FileReader text(ToBytes("SELECT * FROM users;\n"));
  Status s3 = (*t3)->RestoreFile("dump.rdb", node, text);
  EXPECT_NE(s3.message().find("not an RDB file"), std::string::npos) << s3.message();
  FileReader other(ToBytes("x"));
  EXPECT_EQ((*t3)->RestoreFile("notes.txt", node, other).code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace ward::source::testing
