#include "plan/plan.h"

#include <gtest/gtest.h>
#include <stdlib.h>

namespace ward::plan {
namespace {

constexpr char kSpecExample[] = R"(
service = "aura-sign"
repository = "s3:https://eu2.contabostorage.com/aura-backups/ward"
password_file = "/etc/ward/password"

[defaults]
rpo = "1h"
rto = "2h"

[[source]]
name = "postgres"
kind = "postgres"
dsn = "postgresql://backup@db:5432/aura_sign"
mode = "logical"
schedule = "0 * * * *"
rpo = "1h"
rto = "2h"

[[source]]
name = "redis"
kind = "redis"
address = "127.0.0.1:6379"
password_env = "REDIS_PASSWORD"
schedule = "*/15 * * * *"
rpo = "15m"

[[source]]
name = "audit"
kind = "files"
paths = ["/var/log/audit"]
exclude = ["*.tmp"]

[[source]]
name = "metadata"
kind = "command"
command = ["mongodump", "--archive", "--uri", "${MONGODB_URI}"]
filename = "mongo.archive"

[retention]
keep_hourly = 24
keep_daily = 30

[[check]]
source = "postgres"
sql = "SELECT count(*) > 0 FROM identity"
expect = "t"
)";

TEST(PlanTest, ParsesTheSpecExample) {
  auto p = ParsePlan(kSpecExample, "plan.toml");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->service, "aura-sign");
  ASSERT_EQ(p->sources.size(), 4u);
  const PlanSource* redis = p->Find("redis");
  ASSERT_NE(redis, nullptr);
  EXPECT_EQ(*redis->objectives.rpo_ns, 15ll * 60 * 1000000000);
  EXPECT_EQ(*redis->objectives.rto_ns, 2ll * 3600 * 1000000000);  // from [defaults]
  EXPECT_EQ(*redis->String("address"), "127.0.0.1:6379");
  EXPECT_EQ(p->Find("audit")->Strings("paths")->at(0), "/var/log/audit");
  EXPECT_EQ(p->Find("metadata")->Strings("command")->size(), 4u);
  EXPECT_EQ(p->retention["keep_daily"], 30);
  ASSERT_EQ(p->checks.size(), 1u);
  EXPECT_FALSE(p->Find("postgres")->String("nope", true).ok());
  EXPECT_EQ(p->Find("postgres")->Strings("dsn")->size(), 1u);
}

TEST(PlanTest, RejectsBadPlansWithOneLineErrors) {
  struct Case {
    const char* text;
    const char* expect;
  } cases[] = {
      {"service = \"x\"\n[[source]]\nname=\"a\"\nkind=\"files\"\n[[source]]\nname=\"a\"\nkind=\"files\"", "two sources"},
      {"service = \"x\"\n[[source]]\nname=\"a/b\"\nkind=\"files\"", "name"},
      {"service = \"x\"\n[[source]]\nname=\"a\"\nkind=\"ftp\"", "kind"},
      {"service = \"x\"", "no [[source]]"},
      {"[[source]]\nname=\"a\"\nkind=\"files\"", "service"},
      {"service = \"x\"\n[[source]]\nname=\"a\"\nkind=\"redis\"\npassword=\"hunter2\"", "must not be in a plan"},
      {"service = \"x\"\n[[source]]\nname=\"a\"\nkind=\"files\"\nrpo=\"soon\"", "rpo"},
      {"service = \"x\"\n[[source]\nname=", "line"},
      {"service = \"x\"\n[[source]]\nname=\"a\"\nkind=\"files\"\n[[check]]\nsource=\"b\"", "does not have"},
  };
  for (const auto& c : cases) {
    auto p = ParsePlan(c.text, "p.toml");
    ASSERT_FALSE(p.ok()) << c.text;
    EXPECT_NE(p.status().message().find(c.expect), std::string::npos) << p.status().message();
    EXPECT_EQ(p.status().message().find('\n'), std::string::npos);
  }
  EXPECT_EQ(LoadPlan("/nonexistent/plan.toml").status().code(), StatusCode::kNotFound);
}

TEST(PlanTest, ExpandEnv) {
  ::setenv("WARD_TEST_URI", "mongodb://u@h/db", 1);
  EXPECT_EQ(*ExpandEnv("--uri=${WARD_TEST_URI}"), "--uri=mongodb://u@h/db");
  EXPECT_EQ(*ExpandEnv("cost $$5 and $HOME"), "cost $5 and $HOME");
  ::unsetenv("WARD_TEST_UNSET");
  auto bad = ExpandEnv("${WARD_TEST_UNSET}");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("WARD_TEST_UNSET"), std::string::npos);
  EXPECT_FALSE(ExpandEnv("${OPEN").ok());
}

}  // namespace
}  // namespace ward::plan
