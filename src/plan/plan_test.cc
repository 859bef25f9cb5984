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

// Issue 14: unknown keys were ignored, so `excludes = [...]` backed up what it
// meant to exclude and `schedule = "every tuesday"` was accepted.
TEST(PlanTest, UnknownKeysAreErrorsNamingTheLineAndTheClosestKey) {
  struct Case {
    const char* text;
    const char* expect;
  } cases[] = {
      {"service = \"x\"\nrepo = \"/srv\"\n[[source]]\nname=\"a\"\nkind=\"files\"",
       "p.toml:2: unknown key 'repo' at the top level; it takes service, repository,"},
      {"service = \"x\"\nrepositroy = \"/srv\"\n[[source]]\nname=\"a\"\nkind=\"files\"",
       "p.toml:2: unknown key 'repositroy' at the top level (did you mean 'repository'?)"},
      {"service = \"x\"\n[[sources]]\nname=\"a\"\nkind=\"files\"",
       "p.toml:2: unknown key 'sources' at the top level (did you mean 'source'?)"},
      {"service = \"x\"\n[defaults]\nrpo = \"1h\"\nrtp = \"2h\"\n[[source]]\nname=\"a\"\nkind=\"files\"",
       "p.toml:4: unknown key 'rtp' in [defaults] (did you mean 'rto'?)"},
      {"service = \"x\"\n[[source]]\nname=\"a\"\nkind=\"files\"\n[retention]\nkeep_dayly = 7",
       "p.toml:6: unknown key 'keep_dayly' in [retention] (did you mean 'keep_daily'?)"},
  };
  for (const auto& c : cases) {
    auto p = ParsePlan(c.text, "p.toml");
    ASSERT_FALSE(p.ok()) << c.text;
    EXPECT_NE(p.status().message().find(c.expect), std::string::npos) << p.status().message();
  }
}

TEST(PlanTest, SourceKeysAreCheckedAgainstTheCommonAndTheKindsKeys) {
  auto p = ParsePlan("service = \"x\"\n\n[[source]]\nname = \"web\"\nkind = \"files\"\npaths = [\"/srv\"]\n"
                     "excludes = [\"*.bin\"]\nshedule = \"@daily\"\nflavour = 1\n",
                     "plan.toml");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  const PlanSource& web = p->sources[0];
  EXPECT_EQ(web.line, 3);
  EXPECT_EQ(web.key_lines.at("excludes"), 7);
  const std::vector<std::string> files_keys = {"paths", "exclude", "one_file_system"};
  Status st = CheckSourceKeys(web, files_keys);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(st.message(), "plan.toml:7: unknown key 'excludes' in [[source]] 'web' (did you mean 'exclude'?)");
  PlanSource fixed = web;
  fixed.config.erase("excludes");
  EXPECT_EQ(CheckSourceKeys(fixed, files_keys).message(),
            "plan.toml:8: unknown key 'shedule' in [[source]] 'web' (did you mean 'schedule'?)");
  fixed.config.erase("shedule");
  EXPECT_EQ(CheckSourceKeys(fixed, files_keys).message(),
            "plan.toml:9: unknown key 'flavour' in [[source]] 'web'; it takes name, kind, schedule, rpo, rto, "
            "verify_to, paths, exclude, one_file_system");
  fixed.config.erase("flavour");
  EXPECT_TRUE(CheckSourceKeys(fixed, files_keys).ok());
}

TEST(PlanTest, DidYouMeanPicksTheClosestKeyWithinTwoEdits) {
  const std::vector<std::string> keys = {"exclude", "paths", "schedule", "rpo", "rto", "one_file_system"};
  EXPECT_EQ(DidYouMean("excludes", keys), "exclude");
  EXPECT_EQ(DidYouMean("exlcude", keys), "exclude");  // a transposition is one edit
  EXPECT_EQ(DidYouMean("path", keys), "paths");
  EXPECT_EQ(DidYouMean("schedual", keys), "schedule");
  EXPECT_EQ(DidYouMean("one_filesystem", keys), "one_file_system");
  EXPECT_EQ(DidYouMean("rpx", keys), "rpo");
  EXPECT_EQ(DidYouMean("xyz", keys), "");  // short words: one edit at most
  EXPECT_EQ(DidYouMean("paths_from", keys), "");
  EXPECT_EQ(DidYouMean("flavour", keys), "");
}

TEST(PlanTest, SchedulesAreParsedAndABadOneNamesItsLine) {
  auto p = ParsePlan(kSpecExample, "plan.toml");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  ASSERT_TRUE(p->Find("redis")->schedule.has_value());
  EXPECT_EQ(p->Find("redis")->schedule->text(), "*/15 * * * *");
  EXPECT_FALSE(p->Find("audit")->schedule.has_value());
  auto bad = ParsePlan("service = \"x\"\n[[source]]\nname = \"web\"\nkind = \"files\"\nschedule = \"every tuesday\"\n",
                       "plan.toml");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  const std::string m = bad.status().message();
  EXPECT_EQ(m.rfind("plan.toml:5: [[source]] 'web': schedule 'every tuesday': 2 fields where cron has 5; use 5-field cron", 0),
            0u)
      << m;
  EXPECT_NE(m.find("@every DURATION"), std::string::npos) << m;
  auto not_string = ParsePlan("service = \"x\"\n[[source]]\nname = \"web\"\nkind = \"files\"\nschedule = 5\n", "p");
  EXPECT_FALSE(not_string.ok());
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
