#include "source/secrets/env_file_target.h"

#include <gtest/gtest.h>

namespace ward::source {
namespace {

TEST(EnvFileTest, VaultKvV2AndV1AndFlat) {
  auto v2 = ParseSecretsExport(R"({"request_id":"x","data":{"data":{"DB_PASSWORD":"p@ss w0rd","PORT":5432},
                                  "metadata":{"version":3}}})");
  ASSERT_TRUE(v2.ok()) << v2.status().ToString();
  ASSERT_EQ(v2->size(), 2u);
  EXPECT_EQ((*v2)[0], std::make_pair(std::string("DB_PASSWORD"), std::string("p@ss w0rd")));
  EXPECT_EQ((*v2)[1].second, "5432");
  auto v1 = ParseSecretsExport(R"({"data":{"API_KEY":"abc"}})");
  ASSERT_TRUE(v1.ok());
  EXPECT_EQ((*v1)[0].second, "abc");
  auto flat = ParseSecretsExport(R"({"A":"1","B":true})");
  ASSERT_TRUE(flat.ok());
  EXPECT_EQ((*flat)[1].second, "true");
  EXPECT_FALSE(ParseSecretsExport("not json").ok());
  EXPECT_FALSE(ParseSecretsExport(R"({"data":{"bad-name":"x"}})").ok());
  EXPECT_FALSE(ParseSecretsExport(R"({"A":{"nested":1}})").ok());
  EXPECT_FALSE(ParseSecretsExport("[1,2]").ok());
}

TEST(EnvFileTest, QuotingKeepsValuesIntact) {
  EXPECT_EQ(EnvLine("A", "plain-value_1.2"), "A=plain-value_1.2\n");
  EXPECT_EQ(EnvLine("B", "has space"), "B=\"has space\"\n");
  EXPECT_EQ(EnvLine("C", "q\"uote$HOME`x`\\\nnl"), "C=\"q\\\"uote\\$HOME\\`x\\`\\\\\\nnl\"\n");
  EXPECT_EQ(EnvLine("D", ""), "D=\"\"\n");
}

}  // namespace
}  // namespace ward::source
