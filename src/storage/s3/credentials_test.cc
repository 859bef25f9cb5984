#include "storage/s3/credentials.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <fstream>
#include <map>

namespace ward::storage::s3 {
namespace {

// An environment made of a map, so tests never touch the real one.
EnvLookup FakeEnv(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

class CredentialsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/ward-creds-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  std::string Write(const std::string& name, const std::string& text) {
    std::string path = dir_ + "/" + name;
    std::ofstream(path) << text;
    return path;
  }
  std::string dir_;
};

constexpr char kCredentialsFile[] =
    "# a comment\n"
    "[default]\n"
    "aws_access_key_id = AKIDDEFAULT\n"
    "aws_secret_access_key=secret/default+key\r\n"
    "\n"
    "; another comment\n"
    "[ backup ]\n"
    "AWS_ACCESS_KEY_ID = AKIDBACKUP\n"
    "aws_secret_access_key = secret=with=equals \n"
    "aws_session_token = token123\n"
    "[incomplete]\n"
    "aws_access_key_id = AKIDONLY\n";

TEST_F(CredentialsTest, EnvironmentWins) {
  auto c =
      LoadCredentials(FakeEnv({{"AWS_ACCESS_KEY_ID", "AKIDENV"},
                               {"AWS_SECRET_ACCESS_KEY", "envsecret"},
                               {"AWS_SESSION_TOKEN", "tok"},
                               {"AWS_SHARED_CREDENTIALS_FILE", Write("c", kCredentialsFile)}}));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->access_key_id, "AKIDENV");
  EXPECT_EQ(c->secret_access_key, "envsecret");
  EXPECT_EQ(c->session_token, "tok");
  EXPECT_EQ(c->Describe(), "access key AKIDENV from environment");
}

TEST_F(CredentialsTest, HalfAnEnvironmentIsAnError) {
  auto c = LoadCredentials(FakeEnv({{"AWS_ACCESS_KEY_ID", "AKIDENV"}}));
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(c.status().message().find("AWS_SECRET_ACCESS_KEY"), std::string::npos);
  auto d = LoadCredentials(FakeEnv({{"AWS_SECRET_ACCESS_KEY", "s3cr3t-value"}}));
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().message().find("s3cr3t-value"), std::string::npos) << "secret leaked";
}

TEST_F(CredentialsTest, DefaultProfileFromSharedFile) {
  auto c =
      LoadCredentials(FakeEnv({{"AWS_SHARED_CREDENTIALS_FILE", Write("c", kCredentialsFile)}}));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->access_key_id, "AKIDDEFAULT");
  EXPECT_EQ(c->secret_access_key, "secret/default+key");
  EXPECT_EQ(c->session_token, "");
  EXPECT_NE(c->Describe().find("profile 'default'"), std::string::npos);
  EXPECT_EQ(c->Describe().find("secret"), std::string::npos);
}

TEST_F(CredentialsTest, NamedProfileWithTokenAndOddSpacing) {
  auto c = LoadCredentials(FakeEnv(
      {{"AWS_SHARED_CREDENTIALS_FILE", Write("c", kCredentialsFile)}, {"AWS_PROFILE", "backup"}}));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->access_key_id, "AKIDBACKUP");
  EXPECT_EQ(c->secret_access_key, "secret=with=equals");
  EXPECT_EQ(c->session_token, "token123");
}

TEST_F(CredentialsTest, HomeDirectoryDefault) {
  ASSERT_EQ(::mkdir((dir_ + "/.aws").c_str(), 0700), 0);
  Write(".aws/credentials", kCredentialsFile);
  auto c = LoadCredentials(FakeEnv({{"HOME", dir_}}));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->access_key_id, "AKIDDEFAULT");
}

TEST_F(CredentialsTest, MissingProfileFileOrKeysAreClearErrors) {
  std::string path = Write("c", kCredentialsFile);
  auto missing_profile =
      LoadCredentials(FakeEnv({{"AWS_SHARED_CREDENTIALS_FILE", path}, {"AWS_PROFILE", "nope"}}));
  ASSERT_FALSE(missing_profile.ok());
  EXPECT_NE(missing_profile.status().message().find("no profile 'nope'"), std::string::npos);

  auto incomplete = LoadCredentials(
      FakeEnv({{"AWS_SHARED_CREDENTIALS_FILE", path}, {"AWS_PROFILE", "incomplete"}}));
  ASSERT_FALSE(incomplete.ok());
  EXPECT_NE(incomplete.status().message().find("lacks"), std::string::npos);

  auto no_file = LoadCredentials(FakeEnv({{"HOME", dir_ + "/nowhere"}}));
  ASSERT_FALSE(no_file.ok());
  EXPECT_EQ(no_file.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(no_file.status().message().find("AWS_ACCESS_KEY_ID"), std::string::npos);

  // No message ever quotes a secret from the file.
  for (const auto& s : {missing_profile.status(), incomplete.status()}) {
    EXPECT_EQ(s.message().find("secret/default+key"), std::string::npos);
    EXPECT_EQ(s.message().find("secret=with=equals"), std::string::npos);
  }
}

TEST_F(CredentialsTest, ConfigFileSectionsUseTheProfileKeyword) {
  const char* config =
      "[default]\nregion = eu-west-1\n[profile backup]\nregion=ap-south-1\n[backup]\n"
      "region = wrong\n";
  auto d = ParseAwsIniSection(config, "default", true);
  ASSERT_TRUE(d.has_value());
  ASSERT_EQ(d->size(), 1u);
  EXPECT_EQ((*d)[0].second, "eu-west-1");
  auto b = ParseAwsIniSection(config, "backup", true);
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ((*b)[0].second, "ap-south-1");
  EXPECT_FALSE(ParseAwsIniSection(config, "other", true).has_value());
  // Later values override earlier ones; keys are case-insensitive.
  auto dup = ParseAwsIniSection("[x]\nKey=1\nkey = 2\n", "x", false);
  ASSERT_TRUE(dup.has_value());
  ASSERT_EQ(dup->size(), 1u);
  EXPECT_EQ((*dup)[0].second, "2");
}

TEST_F(CredentialsTest, RegionPrecedence) {
  std::string config = Write("config",
                             "[default]\nregion = eu-west-1\n[profile b]\nregion = "
                             "us-west-2\n");
  EXPECT_EQ(LoadRegion(FakeEnv({{"AWS_DEFAULT_REGION", "eu-central-1"},
                                {"AWS_REGION", "ap-east-1"},
                                {"AWS_CONFIG_FILE", config}})),
            "eu-central-1");
  EXPECT_EQ(LoadRegion(FakeEnv({{"AWS_REGION", "ap-east-1"}, {"AWS_CONFIG_FILE", config}})),
            "ap-east-1");
  EXPECT_EQ(LoadRegion(FakeEnv({{"AWS_CONFIG_FILE", config}})), "eu-west-1");
  EXPECT_EQ(LoadRegion(FakeEnv({{"AWS_CONFIG_FILE", config}, {"AWS_PROFILE", "b"}})), "us-west-2");
  EXPECT_EQ(LoadRegion(FakeEnv({{"HOME", dir_ + "/nowhere"}})), "us-east-1");
  EXPECT_EQ(LoadRegion(FakeEnv({{"AWS_DEFAULT_REGION", ""}, {"HOME", dir_ + "/nowhere"}})),
            "us-east-1");
}

}  // namespace
}  // namespace ward::storage::s3
