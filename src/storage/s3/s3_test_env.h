// Shared setup of the S3 integration tests: the server they run against and
// fresh places in it.
//
// The server comes from the environment that `scripts/start-rgw.sh env`
// prints: S3_ENDPOINT (http://127.0.0.1:7480), AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY, AWS_DEFAULT_REGION. S3_TEST_BUCKET names the bucket
// (default "ward-test"; created if missing). Every backend a test makes lives
// under a fresh random prefix, so tests never see each other's objects.
//
// When the server is not configured or does not answer, S3Environment fails
// the whole test program if the CI variable is set (a missing server in CI is
// a failure, never a silent skip) and otherwise skips every test, in both
// cases with the command that starts one.
//
// Thread safety: tests only; the accessors may be called from any thread
// after S3Environment::SetUp.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "storage/s3/credentials.h"
#include "storage/s3/s3_backend.h"

namespace ward::storage::s3 {

struct S3TestServer {
  std::string endpoint;  // "http://127.0.0.1:7480"
  std::string bucket;
  Credentials credentials;
  std::string region;
};

// The server, once S3Environment::SetUp has checked it.
const S3TestServer& TestServer();

// "t-<16 random hex digits>".
std::string RandomPrefix();

// "s3:<endpoint>/<bucket>/<prefix>" on the test server.
std::string TestUrl(const std::string& bucket, const std::string& prefix);

// A backend on a fresh prefix of the test bucket (Create() not yet run).
std::unique_ptr<S3Backend> NewTestBackend(const S3Options& options = {});
// A backend on `bucket`/`prefix` of the test server, with the given endpoint
// override ("http://127.0.0.1:PORT", for the fault proxy) and credentials.
std::unique_ptr<S3Backend> NewTestBackendAt(const std::string& endpoint, const std::string& bucket,
                                            const std::string& prefix, const S3Options& options,
                                            const Credentials& credentials);

class S3Environment : public ::testing::Environment {
 public:
  void SetUp() override;
};

}  // namespace ward::storage::s3
