#include "io/child_env.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>

namespace ward::io {
namespace {

bool Has(const ChildEnv& env, const std::string& entry) {
  return std::find(env.entries().begin(), env.entries().end(), entry) != env.entries().end();
}

bool HasName(const ChildEnv& env, const std::string& name) {
  return std::any_of(env.entries().begin(), env.entries().end(),
                     [&](const std::string& e) { return e.rfind(name + "=", 0) == 0; });
}

TEST(ChildEnvTest, SecretsAreKeptFromChildrenUnlessNamed) {
  ::setenv("WARD_PASSWORD", "repo-secret", 1);
  ::setenv("WARD_PASSWORD_FILE", "/etc/ward/pw", 1);
  ::setenv("AWS_SECRET_ACCESS_KEY", "aws-secret", 1);
  ::setenv("AWS_ACCESS_KEY_ID", "AKIA", 1);
  ::setenv("AWS_SESSION_TOKEN", "tok", 1);
  ::setenv("AWS_REGION", "eu-central-1", 1);
  ::setenv("PGPASSWORD", "pg-secret", 1);
  ::setenv("WARD_REPOSITORY", "/srv/repo", 1);
  ChildEnv plain;
  for (const char* name : {"WARD_PASSWORD", "WARD_PASSWORD_FILE", "AWS_SECRET_ACCESS_KEY",
                           "AWS_ACCESS_KEY_ID", "AWS_SESSION_TOKEN"}) {
    EXPECT_FALSE(HasName(plain, name)) << name;
  }
  // Not ward's secrets: the region, the PostgreSQL password pg_dump needs,
  // the repository location.
  EXPECT_TRUE(Has(plain, "AWS_REGION=eu-central-1"));
  EXPECT_TRUE(Has(plain, "PGPASSWORD=pg-secret"));
  EXPECT_TRUE(Has(plain, "WARD_REPOSITORY=/srv/repo"));
  EXPECT_TRUE(HasName(plain, "PATH"));

  ChildEnv named({"AWS_SECRET_ACCESS_KEY"}, {"EXTRA=1", "AWS_REGION=us-east-1"});
  EXPECT_TRUE(Has(named, "AWS_SECRET_ACCESS_KEY=aws-secret"));
  EXPECT_FALSE(HasName(named, "WARD_PASSWORD"));
  EXPECT_TRUE(Has(named, "EXTRA=1"));
  EXPECT_TRUE(Has(named, "AWS_REGION=us-east-1"));
  EXPECT_FALSE(Has(named, "AWS_REGION=eu-central-1"));

  char* const* envp = named.envp();
  size_t n = 0;
  while (envp[n] != nullptr) ++n;
  EXPECT_EQ(n, named.entries().size());
  for (const char* name :
       {"WARD_PASSWORD", "WARD_PASSWORD_FILE", "AWS_SECRET_ACCESS_KEY", "AWS_ACCESS_KEY_ID",
        "AWS_SESSION_TOKEN", "AWS_REGION", "PGPASSWORD", "WARD_REPOSITORY"}) {
    ::unsetenv(name);
  }
}

TEST(ChildEnvTest, WhichVariablesAreSecret) {
  EXPECT_TRUE(IsSecretVariable("WARD_PASSWORD"));
  EXPECT_TRUE(IsSecretVariable("AWS_SECURITY_TOKEN"));
  EXPECT_TRUE(IsSecretVariable("AWS_CONTAINER_AUTHORIZATION_TOKEN"));
  EXPECT_TRUE(IsSecretVariable("AWS_SHARED_CREDENTIALS_FILE"));
  EXPECT_FALSE(IsSecretVariable("AWS_REGION"));
  EXPECT_FALSE(IsSecretVariable("AWS_PROFILE"));
  EXPECT_FALSE(IsSecretVariable("HOME"));
  EXPECT_FALSE(IsSecretVariable("MY_AWS_SECRET"));
}

}  // namespace
}  // namespace ward::io
