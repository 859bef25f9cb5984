// A backup, a restore and a check through a proxy that injects faults
// (dropped and reset connections, 500 and 503 SlowDown) into 5% of the
// requests between ward and the S3 server: transient failures are retried,
// and the repository passes `check --read-data`.
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <thread>
#include <iostream>

#include "harness.h"
#include "storage/s3/client.h"
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

// The S3 bucket source and restore target from the command line: a plan
// with an s3 source, backups that download only what changed and (with the
// HEAD cache) ask nothing of unchanged objects, --force that asks again, and
// a restore into another prefix with every object's bytes and metadata.
TEST_F(S3FaultsCliTest, BucketSourceFromAPlanAndBackIntoABucket) {
  ASSERT_TRUE(UseS3()) << "run with WARD_TEST_BACKEND=s3 (ctest does)";
  Init();
  const std::string endpoint = std::getenv("S3_ENDPOINT");
  const std::string hostport = endpoint.substr(endpoint.find("://") + 3);
  storage::s3::ClientConfig cc;
  cc.scheme = "http";
  cc.host = hostport.substr(0, hostport.rfind(':'));
  cc.port = std::stoi(hostport.substr(hostport.rfind(':') + 1));
  cc.credentials.access_key_id = std::getenv("AWS_ACCESS_KEY_ID");
  cc.credentials.secret_access_key = std::getenv("AWS_SECRET_ACCESS_KEY");
  auto client = storage::s3::S3Client::Create(cc);
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  // repo_ is s3:<endpoint>/<bucket>/<prefix>: the source lives beside it.
  const std::string rest = repo_.substr(("s3:" + endpoint + "/").size());
  const std::string bucket = rest.substr(0, rest.find('/'));
  const std::string src_prefix = rest.substr(rest.find('/') + 1) + "-bucket";
  const std::string dst_prefix = rest.substr(rest.find('/') + 1) + "-restored";
  auto send = [&](const std::string& method, const std::string& key, const std::string& body,
                  storage::s3::HeaderList headers = {}) {
    storage::s3::S3Request rq;
    rq.method = method;
    rq.bucket = bucket;
    rq.key = key;
    rq.headers = std::move(headers);
    rq.body = AsBytes(body);
    rq.max_body = 64 << 20;
    auto r = (*client)->Send(rq);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? std::move(*r) : storage::s3::S3Response{};
  };
  constexpr int kObjects = 24;
  auto body = [](int i) { return i == 0 ? RandomBytes(20 << 20, 7) : CompressibleText(3000 + 100 * i, i); };
  for (int i = 0; i < kObjects; ++i) {
    auto r = send("PUT", src_prefix + "/docs/" + std::to_string(i) + ".txt", body(i),
                  {{"content-type", "text/x-ward-" + std::to_string(i)}, {"x-amz-meta-owner", "team " + std::to_string(i)}});
    ASSERT_EQ(r.status, 200);
  }

  FaultProxyOptions po;
  po.upstream_host = cc.host;
  po.upstream_port = cc.port;
  FaultProxy proxy(po);  // rate 0: a request counter
  ASSERT_TRUE(proxy.Start().ok());
  const std::string via_proxy = "s3:http://127.0.0.1:" + std::to_string(proxy.port()) + "/" + bucket + "/" + src_prefix;
  const std::string plan = dir_ + "/plan.toml";
  WriteFile(plan, "service = \"uploads\"\n[[source]]\nname = \"cvs\"\nkind = \"s3\"\nurl = \"" + via_proxy + "\"\n");

  auto b1 = Ward({"--json", "backup", "--plan", plan});
  ASSERT_EQ(b1.code, 0) << b1.err;
  const int64_t first = proxy.stats().requests;
  EXPECT_GE(first, 1 + 2 * kObjects) << "a listing, a HEAD and a GET per object";
  auto b2 = Ward({"--json", "backup", "--plan", plan});
  ASSERT_EQ(b2.code, 0) << b2.err;
  EXPECT_EQ(proxy.stats().requests - first, 1) << "an unchanged bucket: its listing alone";
  EXPECT_EQ(b2.Json()["files_unmodified"], kObjects) << b2.out;

  // One object changes: one HEAD and its GET.
  ASSERT_EQ(send("PUT", src_prefix + "/docs/3.txt", "changed\n", {{"content-type", "text/x-changed"}}).status, 200);
  int64_t before = proxy.stats().requests;
  auto b3 = Ward({"--json", "backup", "--plan", plan});
  ASSERT_EQ(b3.code, 0) << b3.err;
  EXPECT_EQ(proxy.stats().requests - before, 3);
  // --force trusts no cache: every object asked and read again.
  before = proxy.stats().requests;
  auto b4 = Ward({"--json", "backup", "--plan", plan, "--force"});
  ASSERT_EQ(b4.code, 0) << b4.err;
  EXPECT_GE(proxy.stats().requests - before, 1 + 2 * kObjects);
  proxy.Stop();

  // Back into the bucket under another prefix: bytes and metadata as stored.
  const std::string target = "s3:" + endpoint + "/" + bucket + "/" + dst_prefix;
  auto r = Ward({"restore", "latest:cvs", "--to", target, "--storage-class", "STANDARD"});
  ASSERT_EQ(r.code, 0) << r.err << r.out;
  // One line for people (the report is for --json).
  EXPECT_NE(r.out.find(":cvs: " + std::to_string(kObjects) + " object(s) ("), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("; ETags checked: " + std::to_string(kObjects) + " after upload, "), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find('{'), std::string::npos) << r.out;
  for (int i = 0; i < kObjects; ++i) {
    auto got = send("GET", dst_prefix + "/docs/" + std::to_string(i) + ".txt", "");
    ASSERT_EQ(got.status, 200) << i;
    EXPECT_EQ(std::string(got.body.begin(), got.body.end()), i == 3 ? "changed\n" : body(i)) << i;
    EXPECT_EQ(got.Header("content-type").value_or(""), i == 3 ? "text/x-changed" : "text/x-ward-" + std::to_string(i));
    if (i != 3) {
      EXPECT_EQ(got.Header("x-amz-meta-owner").value_or(""), "team " + std::to_string(i));
    }
  }
  // Over the live source (reached without the proxy: the same bucket by
  // another name): refused, nothing written; --allow-overwrite puts the
  // snapshot's objects back, and deletes nothing.
  ASSERT_EQ(send("PUT", src_prefix + "/docs/3.txt", "changed again\n").status, 200);
  ASSERT_EQ(send("PUT", src_prefix + "/new.txt", "not in the snapshot\n").status, 200);
  const std::string live = "s3:" + endpoint + "/" + bucket + "/" + src_prefix;
  auto over = Ward({"restore", "latest:cvs", "--to", live});
  EXPECT_EQ(over.code, 1) << over.err;
  EXPECT_NE(over.err.find("--allow-overwrite"), std::string::npos) << over.err;
  auto now = send("GET", src_prefix + "/docs/3.txt", "");
  EXPECT_EQ(std::string(now.body.begin(), now.body.end()), "changed again\n");
  auto back = Ward({"restore", "latest:cvs", "--to", live, "--allow-overwrite"});
  ASSERT_EQ(back.code, 0) << back.err;
  now = send("GET", src_prefix + "/docs/3.txt", "");
  EXPECT_EQ(std::string(now.body.begin(), now.body.end()), "changed\n");
  EXPECT_EQ(send("GET", src_prefix + "/new.txt", "").status, 200);
  send("DELETE", src_prefix + "/new.txt", "");
  for (const std::string& p : {src_prefix, dst_prefix}) {
    for (int i = 0; i < kObjects; ++i) send("DELETE", p + "/docs/" + std::to_string(i) + ".txt", "");
  }
}

TEST_F(S3FaultsCliTest, ObjectLockProtectsEveryObjectAndPruneWorksAroundIt) {
  ASSERT_TRUE(UseS3()) << "run with WARD_TEST_BACKEND=s3 (ctest does)";
  // A bucket with Object Lock (init creates it so when asked for a lock).
  std::string endpoint = std::getenv("S3_ENDPOINT");
  repo_ = "s3:" + endpoint + "/ward-it-locked/" + std::filesystem::path(dir_).filename().string();
  auto init = Ward({"init", "--kdf-memory", "8", "--object-lock-days", "1", "--object-lock-mode", "governance"});
  ASSERT_EQ(init.code, 0) << init.err;
  std::string data = dir_ + "/data";
  WriteFile(data + "/a.bin", RandomBytes(5 << 20, 1));
  ASSERT_EQ(Ward({"backup", data}).code, 0);
  WriteFile(data + "/a.bin", RandomBytes(5 << 20, 2));
  ASSERT_EQ(Ward({"backup", data}).code, 0);
  // Forgetting a snapshot whose object is locked is reported, not hidden.
  auto f = Ward({"forget", "--keep-last", "1"});
  EXPECT_NE(f.code, 0);
  EXPECT_NE(f.err.find("Object Lock"), std::string::npos) << f.err;
  EXPECT_EQ(Ward({"snapshots", "--json"}).Json().size(), 2u);
  // A killed backup leaves packs no index lists: garbage, but locked. It is
  // killed when its first pack is stored; a backup that finishes first (a
  // fast machine) is counted, and another one is killed.
  auto backend = RepoBackend();
  ASSERT_NE(backend, nullptr);
  auto count_packs = [&] {
    size_t n = 0;
    EXPECT_TRUE(backend->List(storage::FileType::kPack, [&](const storage::FileInfo&) {
      ++n;
      return Status::OK();
    }).ok());
    return n;
  };
  size_t finished = 0;
  bool killed = false;
  for (int attempt = 0; attempt < 4 && !killed; ++attempt) {
    WriteFile(data + "/big.bin", RandomBytes(96 << 20, 9 + attempt));
    const size_t packs_before = count_packs();
    int pid = StartProcess({WARD_BINARY, "-r", repo_, "backup", data},
                           {{"WARD_PASSWORD", password_}, {"XDG_CACHE_HOME", dir_ + "/cache"}}, dir_ + "/killed.log");
    for (int i = 0; i < 3000 && count_packs() <= packs_before; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ::kill(pid, SIGKILL);
    if (WaitProcess(pid) == 128 + SIGKILL) {
      killed = true;
    } else {
      ++finished;
    }
  }
  ASSERT_TRUE(killed) << "four backups of 96 MiB each finished before their first pack was listed";
  // Prune cannot delete locked packs: it says so, keeps them for later, and
  // extends the retention of what is still in use.
  auto p = Ward({"--json", "prune"});
  ASSERT_EQ(p.code, 0) << p.err;
  auto pj = p.Json();
  EXPECT_GT(pj["packs_condemned"].get<int>(), 0) << p.out;
  EXPECT_FALSE(pj["retained"].empty()) << p.out;
  EXPECT_NE(pj["retained"].dump().find("Object Lock"), std::string::npos) << p.out;
  EXPECT_GT(pj["objects_retention_extended"].get<int>(), 0) << p.out;
  // The locked leftovers stay in a plan for a later prune, which retries them.
  auto p2 = Ward({"--json", "prune"});
  ASSERT_EQ(p2.code, 0) << p2.err;
  EXPECT_FALSE(p2.Json()["retained"].empty()) << p2.out;
  auto chk = Ward({"check", "--read-data"});
  EXPECT_EQ(chk.code, 0) << chk.err;
  // The lock binds every later writer, even without the flag.
  WriteFile(data + "/b.bin", RandomBytes(1 << 20, 3));
  ASSERT_EQ(Ward({"backup", data}).code, 0);
  auto again = Ward({"forget", "--keep-last", "1"});
  EXPECT_NE(again.code, 0);
  EXPECT_EQ(Ward({"snapshots", "--json"}).Json().size(), 3u + finished);
}

TEST_F(S3FaultsCliTest, AppendOnlyNeverDeletes) {
  ASSERT_TRUE(UseS3()) << "run with WARD_TEST_BACKEND=s3 (ctest does)";
  Init();
  std::string data = dir_ + "/data";
  WriteFile(data + "/a.bin", RandomBytes(1 << 20, 1));
  ASSERT_EQ(Ward({"--append-only", "backup", data}).code, 0);
  ASSERT_EQ(Ward({"--append-only", "backup", data}).code, 0);
  auto f = Ward({"--append-only", "forget", "--keep-last", "1"});
  EXPECT_NE(f.code, 0);
  EXPECT_NE(f.err.find("append-only"), std::string::npos) << f.err;
  EXPECT_EQ(Ward({"snapshots", "--json"}).Json().size(), 2u);
}

}  // namespace
}  // namespace ward::testing
