// One plan, one snapshot of a whole service — PostgreSQL, Redis, files and a
// secrets export — and each part restored the way the runbook needs it, from
// the command line, against real servers started on loopback.
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "harness.h"

namespace ward::testing {
namespace {

namespace fs = std::filesystem;

class ServiceCliTest : public WardTest {
 protected:
  void SetUp() override {
    WardTest::SetUp();
    for (const char* bin : {"/usr/lib/postgresql/15/bin/initdb", "/usr/bin/redis-server", "/usr/bin/psql"}) {
      if (::access(bin, X_OK) != 0) {
        if (std::getenv("CI")) FAIL() << bin << " is missing: run scripts/install-deps.sh --test";
        GTEST_SKIP() << "service tests skipped: " << bin << " is missing (scripts/install-deps.sh --test)";
      }
    }
    int base = 20000 + (::getpid() * 7) % 20000;
    pg_port_ = std::to_string(base);
    redis_port_ = std::to_string(base + 1);
    redis2_port_ = std::to_string(base + 2);
    ::chmod(dir_.c_str(), 0755);  // the cluster belongs to the postgres OS user
    pg_env_ = {{"PG_BASE", dir_ + "/pg"}, {"PG_PORT", pg_port_}, {"PG_PASSWORD", "pg-secret"}};
    auto pg = RunProcess({WARD_SOURCE_DIR "/scripts/start-postgres.sh", "start"}, pg_env_);
    ASSERT_EQ(pg.code, 0) << pg.err << pg.out;
    for (auto port : {redis_port_, redis2_port_}) {
      auto r = RunProcess({WARD_SOURCE_DIR "/scripts/start-redis.sh", "start", port},
                          {{"REDIS_PASSWORD", "redis-secret"}, {"REDIS_BASE", dir_ + "/redis-" + port}});
      ASSERT_EQ(r.code, 0) << r.err << r.out;
      // Replicas (and ward) would otherwise wait 5 s for the RDB to start.
      Redis(port, {"CONFIG", "SET", "repl-diskless-sync-delay", "0"});
    }
    Psql("postgres", "CREATE DATABASE shop");
    Psql("shop",
         "CREATE TABLE orders (id serial PRIMARY KEY, item text, price numeric, photo bytea);"
         "INSERT INTO orders (item, price, photo) SELECT 'item ' || g || ' ✓', g * 1.5, decode(md5(g::text), 'hex')"
         "  FROM generate_series(1, 2500) g;"
         "CREATE TABLE customers (id int PRIMARY KEY, doc jsonb);"
         "INSERT INTO customers SELECT g, jsonb_build_object('n', g) FROM generate_series(1, 700) g;");
    for (int i = 0; i < 200; ++i) {
      Redis(redis_port_, {"SET", "key:" + std::to_string(i), "value " + std::to_string(i)});
    }
    Redis(redis_port_, {"HSET", "cart:1", "apple", "3", "pear", "1"});
    Redis(redis_port_, {"SET", "session:x", "short-lived", "EX", "3600"});
  }

  void TearDown() override {
    RunProcess({WARD_SOURCE_DIR "/scripts/start-postgres.sh", "purge"}, pg_env_);
    for (auto port : {redis_port_, redis2_port_}) {
      RunProcess({WARD_SOURCE_DIR "/scripts/start-redis.sh", "stop", port}, {{"REDIS_BASE", dir_ + "/redis-" + port}});
    }
    WardTest::TearDown();
  }

  std::string Psql(const std::string& db, const std::string& sql) {
    auto r = RunProcess({"psql", "-h", "127.0.0.1", "-p", pg_port_, "-U", "postgres", "-d", db, "-v", "ON_ERROR_STOP=1",
                         "-tAc", sql},
                        {{"PGPASSWORD", "pg-secret"}});
    EXPECT_EQ(r.code, 0) << sql << ": " << r.err;
    std::string out = r.out;
    while (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
  }
  std::string Redis(const std::string& port, const std::vector<std::string>& cmd) {
    std::vector<std::string> argv = {"redis-cli", "-p", port, "--no-auth-warning"};
    argv.insert(argv.end(), cmd.begin(), cmd.end());
    auto r = RunProcess(argv, {{"REDISCLI_AUTH", "redis-secret"}});
    EXPECT_EQ(r.code, 0) << r.err;
    std::string out = r.out;
    while (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
  }
  std::string WritePlan(const std::string& pg_dsn, const std::string& redis_addr) {
    std::string plan = dir_ + "/plan.toml";
    WriteFile(dir_ + "/etc/shop.conf", "port = 8080\n");
    WriteFile(plan, "service = \"shop\"\nrepository = \"" + repo_ + "\"\n\n[defaults]\nrpo = \"1h\"\n\n"
              "[[source]]\nname = \"postgres\"\nkind = \"postgres\"\ndsn = \"" + pg_dsn + "\"\nmode = \"logical\"\n\n"
              "[[source]]\nname = \"redis\"\nkind = \"redis\"\naddress = \"" + redis_addr +
              "\"\npassword_env = \"REDIS_PASSWORD\"\n\n"
              "[[source]]\nname = \"config\"\nkind = \"files\"\npaths = [\"" + dir_ + "/etc\"]\n\n"
              "[[source]]\nname = \"secrets\"\nkind = \"command\"\nfilename = \"vault.json\"\n"
              "command = [\"sh\", \"-c\", \"echo '{\\\"data\\\":{\\\"API_KEY\\\":\\\"k-123\\\"}}'\"]\n");
    return plan;
  }
  std::map<std::string, std::string> Secrets() {
    return {{"PGPASSWORD", "pg-secret"}, {"REDIS_PASSWORD", "redis-secret"}, {"REDISCLI_AUTH", "redis-secret"}};
  }

  std::map<std::string, std::string> pg_env_;
  std::string pg_port_, redis_port_, redis2_port_;
};

TEST_F(ServiceCliTest, PlanSnapshotRestoresEachPartWhereTheRunbookNeedsIt) {
  Init();
  std::string plan = WritePlan("postgresql://postgres@127.0.0.1:" + pg_port_ + "/shop", "127.0.0.1:" + redis_port_);
  auto b = Ward({"--json", "backup", "--plan", plan}, Secrets());
  ASSERT_EQ(b.code, 0) << b.err;
  auto snap = Ward({"snapshots", "--json"}).Json()[0];
  EXPECT_EQ(snap["service"], "shop");
  auto pos = snap["sources"];
  EXPECT_FALSE(pos["postgres"]["position"]["lsn"].get<std::string>().empty()) << pos.dump();
  EXPECT_EQ(pos["postgres"]["position"]["row_counts"]["public.orders"], 2500) << pos.dump();
  EXPECT_TRUE(pos["redis"]["position"].contains("repl_offset")) << pos.dump();
  // Secrets never reach the snapshot's metadata.
  EXPECT_EQ(snap.dump().find("pg-secret"), std::string::npos);
  EXPECT_EQ(snap.dump().find("redis-secret"), std::string::npos);

  // PostgreSQL into a new database, row counts checked, then swapped live.
  Psql("shop", "DELETE FROM orders WHERE id > 100");  // the accident
  auto pg = Ward({"--json", "restore", "latest:postgres", "--to",
                  "postgresql://postgres@127.0.0.1:" + pg_port_ + "/shop_restored", "--swap"},
                 Secrets());
  ASSERT_EQ(pg.code, 0) << pg.err << pg.out;
  auto pj = pg.Json();
  EXPECT_TRUE(pj["ok"].get<bool>()) << pg.out;
  EXPECT_TRUE(pj["swapped"].get<bool>()) << pg.out;
  EXPECT_EQ(Psql("shop", "SELECT count(*) FROM orders"), "2500");
  EXPECT_EQ(Psql("shop", "SELECT item FROM orders WHERE id = 42"), "item 42 ✓");
  EXPECT_EQ(Psql("postgres", "SELECT count(*) FROM pg_database WHERE datname LIKE 'shop_old_%'"), "1");
  // Without --json: one line for people, not the report.
  auto copy = Ward({"restore", "latest:postgres", "--to", "postgresql://postgres@127.0.0.1:" + pg_port_ + "/shop_copy"},
                   Secrets());
  ASSERT_EQ(copy.code, 0) << copy.err << copy.out;
  EXPECT_NE(copy.out.find(":postgres: 2 table(s) into database 'shop_copy' at "), std::string::npos) << copy.out;
  EXPECT_NE(copy.out.find(", row counts match the snapshot, in "), std::string::npos) << copy.out;
  EXPECT_EQ(copy.out.find('{'), std::string::npos) << copy.out;
  EXPECT_EQ(Psql("shop_copy", "SELECT count(*) FROM orders"), "2500");

  // Redis into a running, empty server.
  auto rd = Ward({"--json", "restore", "latest:redis", "--to", "redis://127.0.0.1:" + redis2_port_}, Secrets());
  ASSERT_EQ(rd.code, 0) << rd.err << rd.out;
  EXPECT_TRUE(rd.Json()["ok"].get<bool>()) << rd.out;
  EXPECT_EQ(Redis(redis2_port_, {"DBSIZE"}), "202");
  EXPECT_EQ(Redis(redis2_port_, {"GET", "key:7"}), "value 7");
  EXPECT_EQ(Redis(redis2_port_, {"HGET", "cart:1", "apple"}), "3");
  EXPECT_GT(std::stoi(Redis(redis2_port_, {"TTL", "session:x"})), 3000);
  // Or as the dump.rdb file a Redis server loads.
  ASSERT_EQ(Ward({"restore", "latest:redis", "--target", dir_ + "/rdb"}).code, 0);
  EXPECT_EQ(ReadFile(dir_ + "/rdb/dump.rdb").substr(0, 5), "REDIS");

  // Files and secrets.
  ASSERT_EQ(Ward({"restore", "latest:secrets/vault.json", "--to-env", dir_ + "/.env"}).code, 0);
  EXPECT_EQ(ReadFile(dir_ + "/.env"), "API_KEY=k-123\n");
  // A --to that does not fit the part is a usage error.
  EXPECT_EQ(Ward({"restore", "latest:config", "--to", "redis://127.0.0.1:" + redis2_port_}, Secrets()).code, 2);
}

TEST_F(ServiceCliTest, AFailingServiceFailsTheRunAndNamesIt) {
  Init();
  // Wrong database: the postgres source fails; nothing is saved.
  std::string plan = WritePlan("postgresql://postgres@127.0.0.1:" + pg_port_ + "/no_such_db", "127.0.0.1:" + redis_port_);
  auto b = Ward({"backup", "--plan", plan}, Secrets());
  EXPECT_EQ(b.code, 1);
  EXPECT_NE(b.err.find("source 'postgres'"), std::string::npos) << b.err;
  EXPECT_NE(b.err.find("no_such_db"), std::string::npos) << b.err;
  EXPECT_EQ(Ward({"snapshots", "--json"}).Json().size(), 0u);
  // An unreachable Redis.
  plan = WritePlan("postgresql://postgres@127.0.0.1:" + pg_port_ + "/shop", "127.0.0.1:1");
  auto r = Ward({"backup", "--plan", plan}, Secrets());
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("source 'redis'"), std::string::npos) << r.err;
  EXPECT_EQ(Ward({"snapshots", "--json"}).Json().size(), 0u);
  // A wrong Redis password.
  plan = WritePlan("postgresql://postgres@127.0.0.1:" + pg_port_ + "/shop", "127.0.0.1:" + redis_port_);
  auto env = Secrets();
  env["REDIS_PASSWORD"] = "wrong";
  auto w = Ward({"backup", "--plan", plan}, env);
  EXPECT_EQ(w.code, 1);
  EXPECT_NE(w.err.find("redis"), std::string::npos) << w.err;
  EXPECT_EQ(w.err.find("wrong"), std::string::npos) << "the password leaked into the message: " << w.err;
  // A password in the DSN is refused, not used.
  plan = WritePlan("postgresql://postgres:pg-secret@127.0.0.1:" + pg_port_ + "/shop", "127.0.0.1:" + redis_port_);
  auto dsn = Ward({"backup", "--plan", plan}, Secrets());
  EXPECT_NE(dsn.code, 0);
  EXPECT_EQ(dsn.err.find("pg-secret"), std::string::npos) << dsn.err;
  EXPECT_EQ(Ward({"snapshots", "--json"}).Json().size(), 0u);
}

}  // namespace
}  // namespace ward::testing
