#include "storage/s3/s3_test_env.h"

#include <cstdlib>
#include <random>

#include "storage/s3/client.h"

namespace ward::storage::s3 {

namespace {

S3TestServer g_server;

constexpr char kHowToStart[] =
    "start one with `scripts/start-rgw.sh start` and export its settings with "
    "`eval \"$(scripts/start-rgw.sh env)\"`";

std::string Env(const char* name, const char* fallback = "") {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? v : fallback;
}

}  // namespace

const S3TestServer& TestServer() { return g_server; }

std::string RandomPrefix() {
  static std::mutex mu;
  static std::mt19937_64 rng(std::random_device{}());
  std::lock_guard lock(mu);
  uint64_t v = rng();
  return "t-" + HexEncode(ByteView(reinterpret_cast<const uint8_t*>(&v), sizeof v));
}

std::string TestUrl(const std::string& bucket, const std::string& prefix) {
  return "s3:" + g_server.endpoint + "/" + bucket + (prefix.empty() ? "" : "/" + prefix);
}

std::unique_ptr<S3Backend> NewTestBackendAt(const std::string& endpoint, const std::string& bucket,
                                            const std::string& prefix, const S3Options& options,
                                            const Credentials& credentials) {
  auto url = ParseS3Url("s3:" + endpoint + "/" + bucket + (prefix.empty() ? "" : "/" + prefix));
  EXPECT_TRUE(url.ok()) << url.status().ToString();
  if (!url.ok()) return nullptr;
  auto b = NewS3Backend(*url, options, credentials, g_server.region);
  EXPECT_TRUE(b.ok()) << b.status().ToString();
  if (!b.ok()) return nullptr;
  return std::move(*b);
}

std::unique_ptr<S3Backend> NewTestBackend(const S3Options& options) {
  return NewTestBackendAt(g_server.endpoint, g_server.bucket, RandomPrefix(), options,
                          g_server.credentials);
}

void S3Environment::SetUp() {
  const bool ci = !Env("CI").empty();
  // The two wordings differ on purpose: CTest marks a test skipped when its
  // output matches "S3 integration tests skipped:" (CMakeLists.txt).
  auto unavailable = [&](const std::string& why) {
    if (ci) {
      FAIL() << "S3 integration tests cannot run (CI is set, so this is a failure): " << why << "; "
             << kHowToStart;
    } else {
      GTEST_SKIP() << "S3 integration tests skipped: " << why << "; " << kHowToStart;
    }
  };
  g_server.endpoint = Env("S3_ENDPOINT");
  g_server.bucket = Env("S3_TEST_BUCKET", "ward-test");
  if (g_server.endpoint.empty()) return unavailable("S3_ENDPOINT is not set");
  auto creds = LoadCredentials(ProcessEnv());
  if (!creds.ok()) return unavailable(creds.status().message());
  g_server.credentials = *creds;
  g_server.region = LoadRegion(ProcessEnv());

  // One request to the bucket tells both whether the server answers and
  // whether the credentials work; Create() makes the bucket if needed.
  auto b =
      NewTestBackendAt(g_server.endpoint, g_server.bucket, "", S3Options{}, g_server.credentials);
  if (b == nullptr) return unavailable("S3_ENDPOINT=" + g_server.endpoint + " is not a usable URL");
  Status s = b->Create();
  if (s.code() == StatusCode::kUnavailable) {
    return unavailable("no answer from S3_ENDPOINT=" + g_server.endpoint + " (" + s.message() +
                       ")");
  }
  ASSERT_TRUE(s.ok()) << "the S3 server answers, but the test bucket is unusable: " << s.ToString();
}

}  // namespace ward::storage::s3
