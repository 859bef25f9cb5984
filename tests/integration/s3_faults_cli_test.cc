// A backup, a restore and a check through a proxy that injects faults
// (dropped and reset connections, 500 and 503 SlowDown) into 5% of the
// requests between ward and the S3 server: transient failures are retried,
// and the repository passes `check --read-data`.
#include <filesystem>
#include <iostream>

#include "harness.h"
#include "tests/tools/fault_proxy.h"

namespace ward::testing {
namespace {

class S3FaultsCliTest : public WardTest {};

TEST_F(S3FaultsCliTest, BackupRestoreAndCheckThroughFivePercentFaults) {
  ASSERT_TRUE(UseS3()) << "run with WARD_TEST_BACKEND=s3 (ctest does)";
  std::string endpoint = std::getenv("S3_ENDPOINT");
  std::string hostport = endpoint.substr(endpoint.find("://") + 3);
  FaultProxyOptions po;
  po.upstream_host = hostport.substr(0, hostport.rfind(':'));
  po.upstream_port = std::stoi(hostport.substr(hostport.rfind(':') + 1));
  po.rate = 0.05;
  po.seed = 20261122;
  FaultProxy proxy(po);
  ASSERT_TRUE(proxy.Start().ok());
  // The same repository, reached through the proxy.
  std::string direct = repo_;
  repo_.replace(repo_.find(hostport), hostport.size(), "127.0.0.1:" + std::to_string(proxy.port()));

  Init();
  std::string data = dir_ + "/data";
  for (int i = 0; i < 6; ++i) WriteFile(data + "/big" + std::to_string(i), RandomBytes(12 << 20, i));
  for (int i = 0; i < 300; ++i) WriteFile(data + "/small/" + std::to_string(i), CompressibleText(20000, 100 + i));
  auto b = Ward({"backup", data});
  ASSERT_EQ(b.code, 0) << b.err;
  for (int i = 0; i < 8; ++i) {  // more commands, more requests, more faults
    WriteFile(data + "/big" + std::to_string(i % 6), RandomBytes(12 << 20, 99 + i));
    auto b2 = Ward({"backup", data});
    ASSERT_EQ(b2.code, 0) << b2.err;
    ASSERT_EQ(Ward({"snapshots"}).code, 0);
  }
  auto r = Ward({"restore", "latest", "--target", dir_ + "/out"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(DiffTrees(data, dir_ + "/out" + data), "");
  auto c = Ward({"check", "--read-data"});
  EXPECT_EQ(c.code, 0) << c.err;
  auto stats = proxy.stats();
  proxy.Stop();
  EXPECT_GE(stats.TotalFaults(), 8) << "the proxy should have injected faults (" << stats.requests << " requests)";
  std::cout << "fault proxy: " << stats.requests << " requests, " << stats.TotalFaults() << " faults injected\n";
  // And directly, without faults: the same verdict.
  repo_ = direct;
  auto c2 = Ward({"check", "--read-data"});
  EXPECT_EQ(c2.code, 0) << c2.err;
}

}  // namespace
}  // namespace ward::testing
