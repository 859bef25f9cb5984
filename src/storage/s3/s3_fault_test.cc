// The conformance suite against the real S3 server THROUGH the fault proxy:
// about 5% of all requests are dropped, lose their reply, are reset half-way
// or answered 500/503 SlowDown, and the S3 backend wrapped in the retry
// wrapper must still pass every test. Set FAULT_SEED to replay a run.
#include <gtest/gtest.h>

#include <cstdlib>

#include "storage/backend_conformance.h"
#include "storage/retry/retry_backend.h"
#include "storage/s3/s3_backend.h"
#include "storage/s3/s3_test_env.h"
#include "tests/tools/fault_proxy.h"

namespace ward::storage::s3 {
namespace {

testing::FaultProxy* g_proxy = nullptr;
std::atomic<int64_t> g_retries{0};

class FaultProxyEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {
    const S3TestServer& s = TestServer();
    if (s.endpoint.empty()) return;  // S3Environment has skipped or failed the run
    auto url = ParseS3Url("s3:" + s.endpoint + "/x");
    ASSERT_TRUE(url.ok());
    testing::FaultProxyOptions o;
    o.upstream_host = url->host;
    o.upstream_port = url->port == 0 ? 80 : url->port;
    o.rate = 0.05;
    const char* seed = std::getenv("FAULT_SEED");
    o.seed = seed != nullptr ? std::strtoull(seed, nullptr, 10) : 20261122;
    std::printf("fault proxy: rate %.2f, seed %llu (FAULT_SEED)\n", o.rate,
                static_cast<unsigned long long>(o.seed));
    proxy_ = std::make_unique<testing::FaultProxy>(o);
    ASSERT_TRUE(proxy_->Start().ok());
    g_proxy = proxy_.get();
  }

  void TearDown() override {
    if (proxy_ == nullptr) return;
    auto st = proxy_->stats();
    std::printf("fault proxy: %lld requests, %lld forwarded, %lld faults (",
                static_cast<long long>(st.requests), static_cast<long long>(st.forwarded),
                static_cast<long long>(st.TotalFaults()));
    for (int k = 0; k < 5; ++k) {
      std::printf("%s%s=%lld", k ? " " : "",
                  testing::FaultKindName(static_cast<testing::FaultKind>(k)),
                  static_cast<long long>(st.faults[k]));
    }
    std::printf("); %lld retries\n", static_cast<long long>(g_retries.load()));
    // The suite proves something only if faults really happened, of each kind.
    if (st.requests > 1000) {
      EXPECT_GT(st.TotalFaults(), st.requests / 40);
      for (int k = 0; k < 5; ++k) EXPECT_GT(st.faults[k], 0) << k;
    }
    proxy_->Stop();
    g_proxy = nullptr;
  }

 private:
  std::unique_ptr<testing::FaultProxy> proxy_;
};

[[maybe_unused]] ::testing::Environment* const kS3Environment =
    ::testing::AddGlobalTestEnvironment(new S3Environment);
[[maybe_unused]] ::testing::Environment* const kProxyEnvironment =
    ::testing::AddGlobalTestEnvironment(new FaultProxyEnvironment);

// Counts the retries of one backend into g_retries when it is destroyed.
class CountingRetryBackend : public RetryBackend {
 public:
  using RetryBackend::RetryBackend;
  ~CountingRetryBackend() override { g_retries += retries(); }
};

std::unique_ptr<Backend> MakeFaultyBackend(S3Options o) {
  const S3TestServer& s = TestServer();
  std::string endpoint = "http://127.0.0.1:" + std::to_string(g_proxy->port());
  auto s3 = NewTestBackendAt(endpoint, s.bucket, RandomPrefix(), o, s.credentials);
  RetryOptions ro;
  ro.max_attempts = 12;  // 0.05^12: a test never runs out of attempts by chance
  ro.base = std::chrono::milliseconds(5);
  ro.cap = std::chrono::milliseconds(200);
  return std::make_unique<CountingRetryBackend>(std::move(s3), ro);
}

INSTANTIATE_TEST_SUITE_P(
    S3ThroughFaults, BackendConformance,
    ::testing::Values(BackendFactory{"rgw_faults_5pct", [] { return MakeFaultyBackend({}); }},
                      BackendFactory{"rgw_faults_5pct_multipart",
                                     [] {
                                       S3Options o;
                                       o.multipart_threshold = 8 << 20;
                                       o.part_size = 5 << 20;
                                       return MakeFaultyBackend(o);
                                     }}),
    [](const ::testing::TestParamInfo<BackendFactory>& p) { return p.param.name; });

}  // namespace
}  // namespace ward::storage::s3
