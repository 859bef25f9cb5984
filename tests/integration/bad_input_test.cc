// The hostile-user report (issue 14) as end-to-end tests: what ward did with
// input it should have refused, and what it must do instead — refuse with one
// line naming the input, exit non-zero, store nothing.
#include <filesystem>

#include "harness.h"

namespace ward::testing {
namespace {

namespace fs = std::filesystem;

class BadInputTest : public WardTest {
 protected:
  size_t SnapshotCount() {
    auto r = Ward({"snapshots", "--json"});
    EXPECT_EQ(r.code, 0) << r.err;
    return r.Json().size();
  }

  std::string Plan(const std::string& source_keys) {
    std::string plan = dir_ + "/plan.toml";
    WriteFile(plan,
              "service = \"shop\"\n\n[[source]]\nname = \"web\"\nkind = \"files\"\npaths = [\"" +
                  dir_ + "/www\"]\n" + source_keys);
    return plan;
  }
};

std::string OneLine(const std::string& err) {
  std::string s = err;
  while (!s.empty() && s.back() == '\n') s.pop_back();
  return s;
}

TEST_F(BadInputTest, BackupTimeOutsideTheCalendarOrTheRangeIsRefused) {
  Init();
  WriteFile(dir_ + "/www/index.html", "<html>\n");
  // 1000-01-01 was stored as 2169-02-08 (int64 nanoseconds wrapped), and
  // February 30 as March 2.
  auto old = Ward({"backup", "--time", "1000-01-01T00:00:00Z", dir_ + "/www"});
  EXPECT_EQ(old.code, 2) << old.err;
  EXPECT_EQ(
      OneLine(old.err),
      "ward: --time: invalid time '1000-01-01T00:00:00Z': the year must be between 1678 and 2261");
  auto feb30 = Ward({"backup", "--time", "2026-02-30T00:00:00Z", dir_ + "/www"});
  EXPECT_EQ(feb30.code, 2) << feb30.err;
  EXPECT_EQ(OneLine(feb30.err),
            "ward: --time: invalid time '2026-02-30T00:00:00Z': February 2026 has 28 days");
  auto hour = Ward({"backup", "--time", "2026-01-01T25:00:00Z", dir_ + "/www"});
  EXPECT_EQ(hour.code, 2);
  EXPECT_NE(hour.err.find("hour must be 00-23"), std::string::npos) << hour.err;
  EXPECT_EQ(SnapshotCount(), 0u);

  auto leap = Ward({"backup", "--time", "2028-02-29T12:00:00Z", dir_ + "/www"});
  ASSERT_EQ(leap.code, 0) << leap.err;
  auto snaps = Ward({"snapshots", "--json"}).Json();
  ASSERT_EQ(snaps.size(), 1u);
  EXPECT_EQ(snaps[0]["time"], "2028-02-29T12:00:00Z");
}

TEST_F(BadInputTest, PlanWithAnUnknownKeyFailsNamingItAndStoresNothing) {
  Init();
  WriteFile(dir_ + "/www/index.html", "<html>\n");
  WriteFile(dir_ + "/www/big.bin", RandomBytes(4096, 1));
  // `excludes` was ignored: the .bin files were backed up and ward exited 0.
  std::string plan = Plan("excludes = [\"*.bin\"]\n");
  auto typo = Ward({"backup", "--plan", plan});
  EXPECT_EQ(typo.code, 2) << typo.err;
  EXPECT_EQ(
      OneLine(typo.err),
      "ward: " + plan + ":7: unknown key 'excludes' in [[source]] 'web' (did you mean 'exclude'?)");
  EXPECT_EQ(SnapshotCount(), 0u);

  // A source not chosen with --source is checked all the same.
  WriteFile(plan,
            "service = \"shop\"\n[[source]]\nname = \"web\"\nkind = \"files\"\npaths = [\"" + dir_ +
                "/www\"]\n[[source]]\nname = \"dump\"\nkind = \"command\"\ncommand = [\"true\"]\n"
                "filname = \"x\"\n");
  auto other = Ward({"backup", "--plan", plan, "--source", "web"});
  EXPECT_EQ(other.code, 2) << other.err;
  EXPECT_NE(
      other.err.find(":10: unknown key 'filname' in [[source]] 'dump' (did you mean 'filename'?)"),
      std::string::npos)
      << other.err;

  auto schedule =
      Ward({"backup", "--plan", Plan("exclude = [\"*.bin\"]\nschedule = \"every tuesday\"\n")});
  EXPECT_EQ(schedule.code, 2) << schedule.err;
  EXPECT_NE(schedule.err.find(":8: [[source]] 'web': schedule 'every tuesday': "),
            std::string::npos)
      << schedule.err;
  EXPECT_NE(schedule.err.find("@every DURATION"), std::string::npos) << schedule.err;
  EXPECT_EQ(SnapshotCount(), 0u);

  auto fixed =
      Ward({"backup", "--plan", Plan("exclude = [\"*.bin\"]\nschedule = \"0 3 * * mon\"\n")});
  ASSERT_EQ(fixed.code, 0) << fixed.err;
  ASSERT_EQ(Ward({"restore", "latest", "--target", dir_ + "/r"}).code, 0);
  EXPECT_TRUE(fs::exists(dir_ + "/r/web" + dir_ + "/www/index.html"));
  EXPECT_FALSE(fs::exists(dir_ + "/r/web" + dir_ + "/www/big.bin"));
}

TEST_F(BadInputTest, ChildrenGetNoRepositoryOrAwsSecretsUnlessThePlanNamesThem) {
  Init();
  const std::map<std::string, std::string> env = {{"AWS_SECRET_ACCESS_KEY", "aws-secret-4f2a"},
                                                  {"AWS_SESSION_TOKEN", "aws-token-9c1d"},
                                                  {"WARD_PASSWORD_FILE", dir_ + "/no-such-file"},
                                                  {"AWS_REGION", "eu-test-1"}};
  std::map<std::string, std::string> with_password = env;
  with_password["WARD_PASSWORD"] = password_;
  std::string plan = dir_ + "/plan.toml";
  auto write_plan = [&](const std::string& extra) {
    WriteFile(plan,
              "service = \"shop\"\n[[source]]\nname = \"envdump\"\nkind = \"command\"\n"
              "filename = \"env.txt\"\ncommand = [\"env\"]\n" +
                  extra);
  };
  write_plan("");
  // WARD_PASSWORD_FILE would win over WARD_PASSWORD; the plain password is
  // what this backup opens the repository with.
  std::map<std::string, std::string> backup_env = with_password;
  backup_env.erase("WARD_PASSWORD_FILE");
  auto b = Ward({"backup", "--plan", plan}, backup_env);
  ASSERT_EQ(b.code, 0) << b.err;
  ASSERT_EQ(Ward({"restore", "latest", "--target", dir_ + "/r1"}).code, 0);
  std::string out = ReadFile(dir_ + "/r1/envdump/env.txt");
  EXPECT_EQ(out.find(password_), std::string::npos) << out;
  EXPECT_EQ(out.find("aws-secret-4f2a"), std::string::npos) << out;
  EXPECT_EQ(out.find("aws-token-9c1d"), std::string::npos) << out;
  EXPECT_EQ(out.find("WARD_PASSWORD"), std::string::npos) << out;
  EXPECT_NE(out.find("AWS_REGION=eu-test-1"), std::string::npos) << out;  // not a secret
  EXPECT_NE(out.find("PATH="), std::string::npos) << out;

  // Named on purpose: that variable passes, the others still do not.
  write_plan("env = [\"AWS_SESSION_TOKEN\"]\n");
  b = Ward({"backup", "--plan", plan}, backup_env);
  ASSERT_EQ(b.code, 0) << b.err;
  ASSERT_EQ(Ward({"restore", "latest", "--target", dir_ + "/r2"}).code, 0);
  out = ReadFile(dir_ + "/r2/envdump/env.txt");
  EXPECT_NE(out.find("AWS_SESSION_TOKEN=aws-token-9c1d"), std::string::npos) << out;
  EXPECT_EQ(out.find("aws-secret-4f2a"), std::string::npos) << out;
  EXPECT_EQ(out.find(password_), std::string::npos) << out;

  // --stdin-from-command and --password-command children too.
  b = Ward({"backup", "--stdin-from-command", "--stdin-filename", "env.txt", "--", "sh", "-c",
            "echo \"[$WARD_PASSWORD][$AWS_SECRET_ACCESS_KEY]\""},
           backup_env);
  ASSERT_EQ(b.code, 0) << b.err;
  ASSERT_EQ(Ward({"restore", "latest", "--target", dir_ + "/r3"}).code, 0);
  EXPECT_EQ(ReadFile(dir_ + "/r3/env.txt"), "[][]\n");
  WriteFile(dir_ + "/pw", password_ + "\n");
  auto pc =
      Ward({"--password-command", "env > " + dir_ + "/pwcmd.env; cat " + dir_ + "/pw", "snapshots"},
           with_password);
  ASSERT_EQ(pc.code, 0) << pc.err;
  std::string pwenv = ReadFile(dir_ + "/pwcmd.env");
  EXPECT_EQ(pwenv.find("WARD_PASSWORD"), std::string::npos) << pwenv;
  EXPECT_EQ(pwenv.find("aws-secret-4f2a"), std::string::npos) << pwenv;
  EXPECT_NE(pwenv.find("AWS_REGION=eu-test-1"), std::string::npos) << pwenv;
}

}  // namespace
}  // namespace ward::testing
