// Integration tests of the S3 backend against a real S3 server (Ceph RGW from
// scripts/start-rgw.sh): the conformance suite, plus what only S3 has —
// multipart uploads, credentials, missing buckets, Object Lock, storage
// classes, append-only mode.
#include "storage/s3/s3_backend.h"

#include <gtest/gtest.h>

#include <chrono>
#include <random>
#include <thread>

#include "base/time.h"
#include "storage/backend_conformance.h"
#include "storage/retry/retry_backend.h"
#include "storage/s3/client.h"
#include "storage/s3/s3_test_env.h"
#include "storage/s3/xml.h"
#include "tests/tools/fault_proxy.h"

namespace ward::storage::s3 {
namespace {

[[maybe_unused]] ::testing::Environment* const kEnvironment =
    ::testing::AddGlobalTestEnvironment(new S3Environment);

Bytes RandomData(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  Bytes b(n);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t v = rng();
    std::memcpy(b.data() + i, &v, 8);
  }
  for (; i < n; ++i) b[i] = static_cast<uint8_t>(rng());
  return b;
}

Handle RandomHandle(FileType t) {
  static std::mt19937_64 rng(std::random_device{}());
  Bytes b(32);
  for (auto& c : b) c = static_cast<uint8_t>(rng());
  return Handle{t, HexEncode(b)};
}

// A raw client on the test server, for what the backend does not expose.
std::unique_ptr<S3Client> RawClient() {
  const S3TestServer& s = TestServer();
  auto url = ParseS3Url("s3:" + s.endpoint + "/x");
  ClientConfig cc;
  cc.scheme = url->scheme;
  cc.host = url->host;
  cc.port = url->port;
  cc.region = s.region;
  cc.credentials = s.credentials;
  return std::move(*S3Client::Create(cc));
}

// Keys of multipart uploads in progress under `prefix` of `bucket`.
std::vector<std::string> PendingUploads(const std::string& bucket, const std::string& prefix) {
  S3Request req;
  req.bucket = bucket;
  req.query = {{"uploads", ""}, {"prefix", prefix}};
  auto r = RawClient()->Send(req);
  EXPECT_TRUE(r.ok());
  if (!r.ok()) return {};
  EXPECT_EQ(r->status, 200) << AsString(r->body);
  auto doc = ParseXml(AsString(r->body));
  EXPECT_TRUE(doc.ok());
  std::vector<std::string> keys;
  if (doc.ok()) {
    for (const XmlElement* u : doc->Children("Upload")) keys.push_back(u->ChildText("Key"));
  }
  return keys;
}

std::string PrefixOf(const S3Backend& b) {
  std::string loc = b.Location();
  std::string head = "s3:" + TestServer().endpoint + "/" + TestServer().bucket + "/";
  return loc.substr(head.size());
}

// A bucket with versioning enabled (made once per run): some servers (Ceph
// RGW 16) ignore If-None-Match there, so the backend must verify its saves.
const std::string& VersionedBucket() {
  static const std::string bucket = [] {
    std::string name = "ward-versioned-test";
    const S3TestServer& s = TestServer();
    auto b = NewTestBackendAt(s.endpoint, name, "", S3Options{}, s.credentials);
    Status st = b->Create();
    EXPECT_TRUE(st.ok()) << st.ToString();
    S3Request req;
    req.method = "PUT";
    req.bucket = name;
    req.query.emplace_back("versioning", "");
    std::string body =
        "<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>";
    req.body = AsBytes(body);
    auto r = RawClient()->Send(req);
    EXPECT_TRUE(r.ok() && r->status == 200);
    return name;
  }();
  return bucket;
}

// --- The conformance suite ------------------------------------------------

S3Options SmallMultipart() {
  S3Options o;
  o.multipart_threshold = 8 << 20;
  o.part_size = 5 << 20;
  return o;
}

INSTANTIATE_TEST_SUITE_P(
    S3, BackendConformance,
    ::testing::Values(
        BackendFactory{"rgw_path_style", [] { return std::unique_ptr<Backend>(NewTestBackend()); }},
        // LargeObjectRoundTrip (24 MiB) goes up in five parts here.
        BackendFactory{"rgw_multipart",
                       [] { return std::unique_ptr<Backend>(NewTestBackend(SmallMultipart())); }},
        BackendFactory{"rgw_versioned_bucket",
                       [] {
                         const S3TestServer& s = TestServer();
                         return std::unique_ptr<Backend>(
                             NewTestBackendAt(s.endpoint, VersionedBucket(), RandomPrefix(),
                                              S3Options{}, s.credentials));
                       }},
        // bucket.localhost:PORT, sent to the loopback server (rgw dns name = localhost).
        BackendFactory{"rgw_virtual_host",
                       [] {
                         const S3TestServer& s = TestServer();
                         auto url = ParseS3Url("s3:" + s.endpoint + "/b");
                         S3Options o;
                         o.virtual_host = true;
                         o.connect_address =
                             url->host + ":" + std::to_string(url->port == 0 ? 80 : url->port);
                         std::string endpoint = url->scheme + "://localhost" +
                                                (url->port ? ":" + std::to_string(url->port) : "");
                         return std::unique_ptr<Backend>(NewTestBackendAt(
                             endpoint, s.bucket, RandomPrefix(), o, s.credentials));
                       }}),
    [](const ::testing::TestParamInfo<BackendFactory>& p) { return p.param.name; });

// --- S3-specific behaviour --------------------------------------------------

TEST(S3BackendTest, MultipartUploadAboveTheThreshold) {
  auto b = NewTestBackend(SmallMultipart());
  ASSERT_TRUE(b->Create().ok());
  Handle h = RandomHandle(FileType::kPack);
  Bytes data = RandomData((23 << 20) + 17, 1);  // 5 parts, the last one short
  ASSERT_TRUE(b->Save(h, data).ok());
  EXPECT_EQ(b->Stat(h)->size, data.size());
  auto all = b->Load(h, 0, 0);
  ASSERT_TRUE(all.ok()) << all.status().ToString();
  EXPECT_TRUE(*all == data);
  // A range across the first part boundary.
  auto across = b->Load(h, (5 << 20) - 10, 20);
  ASSERT_TRUE(across.ok());
  EXPECT_TRUE(std::equal(across->begin(), across->end(), data.begin() + (5 << 20) - 10));
  // Never replaced, and nothing left behind.
  Status again = b->Save(h, RandomData(data.size(), 2));
  EXPECT_EQ(again.code(), StatusCode::kAlreadyExists) << again.ToString();
  EXPECT_TRUE(PendingUploads(TestServer().bucket, PrefixOf(*b)).empty());
  EXPECT_TRUE(*b->Load(h, 0, 0) == data);
}

TEST(S3BackendTest, FailedMultipartUploadIsAbortedAndLeavesNoObject) {
  // A proxy that fails part 3 of every upload with 500.
  const S3TestServer& s = TestServer();
  auto url = ParseS3Url("s3:" + s.endpoint + "/x");
  testing::FaultProxyOptions po;
  po.upstream_host = url->host;
  po.upstream_port = url->port;
  po.rules = {{"partNumber=3&uploadId=", testing::FaultKind::kInternalError, -1}};
  testing::FaultProxy proxy(po);
  ASSERT_TRUE(proxy.Start().ok());
  std::string prefix = RandomPrefix();
  auto b = NewTestBackendAt("http://127.0.0.1:" + std::to_string(proxy.port()), s.bucket, prefix,
                            SmallMultipart(), s.credentials);
  ASSERT_TRUE(b->Create().ok());
  Handle h = RandomHandle(FileType::kPack);
  Status st = b->Save(h, RandomData(20 << 20, 3));
  EXPECT_EQ(st.code(), StatusCode::kUnavailable) << st.ToString();
  EXPECT_NE(st.message().find("part 3"), std::string::npos) << st.message();
  EXPECT_EQ(b->Stat(h).status().code(), StatusCode::kNotFound);
  std::vector<std::string> listed;
  ASSERT_TRUE(b->List(FileType::kPack, [&](const FileInfo& fi) {
                 listed.push_back(fi.name);
                 return Status::OK();
               }).ok());
  EXPECT_TRUE(listed.empty());
  EXPECT_TRUE(PendingUploads(s.bucket, prefix).empty()) << "the upload was not aborted";
  EXPECT_GE(proxy.stats().faults[static_cast<int>(testing::FaultKind::kInternalError)], 1);
}

TEST(S3BackendTest, WrongSecretIsAPermanentClearErrorWithoutRetries) {
  const S3TestServer& s = TestServer();
  Credentials wrong = s.credentials;
  wrong.secret_access_key = "wrong-secret-0123456789";
  int sleeps = 0;
  RetryOptions ro;
  ro.sleep = [&](std::chrono::milliseconds) { ++sleeps; };
  RetryBackend b(NewTestBackendAt(s.endpoint, s.bucket, RandomPrefix(), S3Options{}, wrong), ro);
  for (Status st : {b.Load(Handle::Config(), 0, 0).status(),
                    b.Save(RandomHandle(FileType::kSnapshot), ToBytes("x")),
                    b.List(FileType::kIndex, [](const FileInfo&) { return Status::OK(); })}) {
    EXPECT_EQ(st.code(), StatusCode::kUnauthenticated) << st.ToString();
    EXPECT_NE(st.message().find("SignatureDoesNotMatch"), std::string::npos) << st.message();
    EXPECT_NE(st.message().find("AWS_SECRET_ACCESS_KEY"), std::string::npos) << st.message();
    EXPECT_NE(st.message().find(s.bucket), std::string::npos) << st.message();
    EXPECT_EQ(st.message().find(wrong.secret_access_key), std::string::npos) << "secret leaked";
    EXPECT_EQ(st.message().find(s.credentials.secret_access_key), std::string::npos);
    EXPECT_EQ(st.message().find('\n'), std::string::npos) << "not one line";
  }
  EXPECT_EQ(sleeps, 0) << "a wrong secret must not be retried";

  Credentials unknown = s.credentials;
  unknown.access_key_id = "AKIDNOSUCHKEY000000";
  auto u = NewTestBackendAt(s.endpoint, s.bucket, RandomPrefix(), S3Options{}, unknown);
  Status st = u->Load(Handle::Config(), 0, 0).status();
  EXPECT_EQ(st.code(), StatusCode::kUnauthenticated) << st.ToString();
  EXPECT_NE(st.message().find("AWS_ACCESS_KEY_ID"), std::string::npos) << st.message();
}

TEST(S3BackendTest, MissingBucketIsNamedAndCreateMakesIt) {
  const S3TestServer& s = TestServer();
  std::string bucket = "ward-missing-" + RandomPrefix().substr(2);
  auto b = NewTestBackendAt(s.endpoint, bucket, "repo", S3Options{}, s.credentials);
  Status load = b->Load(Handle::Config(), 0, 0).status();
  EXPECT_EQ(load.code(), StatusCode::kNotFound);
  EXPECT_NE(load.message().find("bucket does not exist"), std::string::npos) << load.message();
  EXPECT_NE(load.message().find(bucket), std::string::npos) << load.message();
  EXPECT_NE(load.message().find("ward init"), std::string::npos) << load.message();
  Status list = b->List(FileType::kSnapshot, [](const FileInfo&) { return Status::OK(); });
  EXPECT_NE(list.message().find("NoSuchBucket"), std::string::npos) << list.message();
  Handle h = RandomHandle(FileType::kSnapshot);
  Status save = b->Save(h, ToBytes("x"));
  EXPECT_FALSE(save.ok());
  EXPECT_NE(save.message().find("bucket does not exist"), std::string::npos) << save.message();

  ASSERT_TRUE(b->Create().ok());
  ASSERT_TRUE(b->Create().ok()) << "Create must be repeatable";
  ASSERT_TRUE(b->Save(h, ToBytes("x")).ok());
  EXPECT_EQ(*b->Load(h, 0, 0), ToBytes("x"));
  // Clean up: the object, then the bucket.
  ASSERT_TRUE(b->Remove(h).ok());
  S3Request del;
  del.method = "DELETE";
  del.bucket = bucket;
  auto r = RawClient()->Send(del);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 204) << AsString(r->body);
}

TEST(S3BackendTest, ObjectLockRetentionBlocksDeletionAndCanBeExtended) {
  const S3TestServer& s = TestServer();
  S3Options o;
  o.lock_mode = LockMode::kGovernance;  // COMPLIANCE would pin test data for a day
  o.lock_days = 1;
  auto b = NewTestBackendAt(s.endpoint, "ward-lock-test", RandomPrefix(), o, s.credentials);
  Status created = b->Create();  // creates the bucket with Object Lock the first time
  ASSERT_TRUE(created.ok()) << created.ToString();

  Handle h = RandomHandle(FileType::kPack);
  Bytes data = RandomData(1000, 4);
  ASSERT_TRUE(b->Save(h, data).ok());
  const UnixNanos day = int64_t{86400} * 1000000000;
  const UnixNanos slack = int64_t{600} * 1000000000;
  auto ret = b->GetRetention(h);
  ASSERT_TRUE(ret.ok()) << ret.status().ToString();
  EXPECT_EQ(ret->mode, LockMode::kGovernance);
  EXPECT_NEAR(static_cast<double>(ret->until), static_cast<double>(NowNanos() + day),
              static_cast<double>(slack));

  Status rm = b->Remove(h);
  EXPECT_EQ(rm.code(), StatusCode::kFailedPrecondition) << rm.ToString();
  EXPECT_NE(rm.message().find("Object Lock"), std::string::npos) << rm.message();
  EXPECT_TRUE(*b->Load(h, 0, 0) == data) << "a locked object must survive Remove";
  EXPECT_EQ(b->Save(h, RandomData(10, 5)).code(), StatusCode::kAlreadyExists);

  UnixNanos three_days = NowNanos() + 3 * day;
  ASSERT_TRUE(b->ExtendRetention(h, three_days).ok());
  ret = b->GetRetention(h);
  ASSERT_TRUE(ret.ok());
  EXPECT_NEAR(static_cast<double>(ret->until), static_cast<double>(three_days), 2e9);
  // Never shortened.
  ASSERT_TRUE(b->ExtendRetention(h, NowNanos() + 2 * day).ok());
  EXPECT_NEAR(static_cast<double>(b->GetRetention(h)->until), static_cast<double>(three_days), 2e9);
  EXPECT_EQ(b->ExtendRetention(RandomHandle(FileType::kPack), three_days).code(),
            StatusCode::kNotFound);

  // Multipart uploads carry the lock too.
  S3Options mo = o;
  mo.multipart_threshold = 8 << 20;
  mo.part_size = 5 << 20;
  auto mb = NewTestBackendAt(s.endpoint, "ward-lock-test", RandomPrefix(), mo, s.credentials);
  Handle big = RandomHandle(FileType::kPack);
  ASSERT_TRUE(mb->Save(big, RandomData(11 << 20, 6)).ok());
  EXPECT_EQ(mb->GetRetention(big)->mode, LockMode::kGovernance);
  EXPECT_EQ(mb->Remove(big).code(), StatusCode::kFailedPrecondition);
}

TEST(S3BackendTest, ConcurrentSavesUnderObjectLockKeepOneLockedVersion) {
  const S3TestServer& s = TestServer();
  S3Options o;
  o.lock_mode = LockMode::kGovernance;
  o.lock_days = 1;
  std::string prefix = RandomPrefix();
  auto b = NewTestBackendAt(s.endpoint, "ward-lock-test", prefix, o, s.credentials);
  ASSERT_TRUE(b->Create().ok());
  // As ward stacks it: under load RGW's version listing can lag behind a PUT,
  // which the verified save reports as transient (kUnavailable) for the retry
  // wrapper to settle.
  RetryOptions ro;
  ro.base = std::chrono::milliseconds(20);
  ro.cap = std::chrono::milliseconds(500);
  auto retried = NewRetryBackend(NewTestBackendAt(s.endpoint, "ward-lock-test", prefix, o, s.credentials), ro);
  for (int round = 0; round < 3; ++round) {
    Handle h = RandomHandle(FileType::kSnapshot);
    std::vector<Bytes> versions;
    for (int i = 0; i < 6; ++i) versions.push_back(RandomData(3000, 100 * round + i));
    std::vector<Status> results(6);
    std::vector<std::thread> threads;
    for (int i = 0; i < 6; ++i) {
      threads.emplace_back([&, i] { results[i] = retried->Save(h, versions[i]); });
    }
    for (auto& t : threads) t.join();
    int wins = 0, winner = -1;
    for (int i = 0; i < 6; ++i) {
      if (results[i].ok()) {
        ++wins;
        winner = i;
      } else {
        EXPECT_EQ(results[i].code(), StatusCode::kAlreadyExists) << results[i].ToString();
      }
    }
    ASSERT_EQ(wins, 1);
    EXPECT_TRUE(*b->Load(h, 0, 0) == versions[winner]);
    EXPECT_EQ(b->GetRetention(h)->mode, LockMode::kGovernance);
    // Exactly one version is left: the losers removed theirs.
    S3Request req;
    req.bucket = "ward-lock-test";
    req.query = {{"versions", ""}, {"prefix", b->Key(h)}};
    auto r = RawClient()->Send(req);
    ASSERT_TRUE(r.ok());
    auto doc = ParseXml(AsString(r->body));
    ASSERT_TRUE(doc.ok());
    EXPECT_EQ(doc->Children("Version").size(), 1u) << AsString(r->body);
  }
}

TEST(S3BackendTest, VersionedBucketWithdrawsALeftoverLosingVersion) {
  const S3TestServer& s = TestServer();
  auto b =
      NewTestBackendAt(s.endpoint, VersionedBucket(), RandomPrefix(), S3Options{}, s.credentials);
  ASSERT_TRUE(b->Create().ok());
  Handle h = RandomHandle(FileType::kSnapshot);
  // What a writer that lost a race and died before withdrawing leaves: the
  // winner's version with a second, newer version on top.
  auto client = RawClient();
  for (const char* body : {"winner", "loser"}) {
    S3Request put;
    put.method = "PUT";
    put.bucket = VersionedBucket();
    put.key = b->Key(h);
    put.body = AsBytes(std::string_view(body));
    auto r = client->Send(put);
    ASSERT_TRUE(r.ok() && r->status == 200);
  }
  EXPECT_EQ(*b->Load(h, 0, 0), ToBytes("loser"));
  // The next save of that name finds it, withdraws it, and reports the winner.
  EXPECT_EQ(b->Save(h, ToBytes("third")).code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(*b->Load(h, 0, 0), ToBytes("winner"));

  // After Remove (a delete marker here), the name can be saved afresh.
  ASSERT_TRUE(b->Remove(h).ok());
  EXPECT_EQ(b->Stat(h).status().code(), StatusCode::kNotFound);
  ASSERT_TRUE(b->Save(h, ToBytes("again")).ok());
  EXPECT_EQ(*b->Load(h, 0, 0), ToBytes("again"));
  EXPECT_EQ(b->Save(h, ToBytes("once more")).code(), StatusCode::kAlreadyExists);
}

TEST(S3BackendTest, ObjectLockOnABucketWithoutItIsRefused) {
  S3Options o;
  o.lock_mode = LockMode::kCompliance;
  o.lock_days = 7;
  auto b = NewTestBackend(o);  // ward-test has no Object Lock
  Status st = b->Create();
  EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition) << st.ToString();
  EXPECT_NE(st.message().find("Object Lock is not enabled"), std::string::npos) << st.message();
}

// Runs `b` through a recording proxy and returns the heads of its requests.
class RecordedBackend {
 public:
  explicit RecordedBackend(const S3Options& o) {
    const S3TestServer& s = TestServer();
    auto url = ParseS3Url("s3:" + s.endpoint + "/x");
    testing::FaultProxyOptions po;
    po.upstream_host = url->host;
    po.upstream_port = url->port;
    po.record_heads = true;
    proxy_ = std::make_unique<testing::FaultProxy>(po);
    EXPECT_TRUE(proxy_->Start().ok());
    backend_ = NewTestBackendAt("http://127.0.0.1:" + std::to_string(proxy_->port()), s.bucket,
                                RandomPrefix(), o, s.credentials);
  }
  S3Backend* operator->() { return backend_.get(); }
  std::vector<std::string> Heads() { return proxy_->RequestHeads(); }

 private:
  std::unique_ptr<testing::FaultProxy> proxy_;
  std::unique_ptr<S3Backend> backend_;
};

std::string HeadFor(const std::vector<std::string>& heads, const std::string& start,
                    const std::string& contains) {
  for (const auto& h : heads) {
    if (h.rfind(start, 0) == 0 && h.substr(0, h.find('\r')).find(contains) != std::string::npos) {
      return h;
    }
  }
  return "";
}

TEST(S3BackendTest, StorageClassIsSentForPacksOnly) {
  S3Options o = SmallMultipart();
  o.storage_class = "STANDARD";
  RecordedBackend b(o);
  ASSERT_TRUE(b->Create().ok());
  Handle pack = RandomHandle(FileType::kPack), big = RandomHandle(FileType::kPack);
  Handle index = RandomHandle(FileType::kIndex), snap = RandomHandle(FileType::kSnapshot);
  ASSERT_TRUE(b->Save(pack, ToBytes("pack")).ok());
  ASSERT_TRUE(b->Save(big, RandomData(9 << 20, 7)).ok());
  ASSERT_TRUE(b->Save(index, ToBytes("index")).ok());
  ASSERT_TRUE(b->Save(snap, ToBytes("snap")).ok());
  ASSERT_TRUE(b->Save(Handle::Config(), ToBytes("config")).ok());
  auto heads = b.Heads();
  std::string pack_put = HeadFor(heads, "PUT ", pack.name);
  ASSERT_FALSE(pack_put.empty());
  EXPECT_NE(pack_put.find("x-amz-storage-class: STANDARD\r\n"), std::string::npos) << pack_put;
  EXPECT_NE(pack_put.find("If-None-Match: *\r\n"), std::string::npos) << pack_put;
  std::string big_init = HeadFor(heads, "POST ", big.name + "?uploads");
  ASSERT_FALSE(big_init.empty());
  EXPECT_NE(big_init.find("x-amz-storage-class: STANDARD\r\n"), std::string::npos) << big_init;
  for (const Handle* h : {&index, &snap}) {
    std::string put = HeadFor(heads, "PUT ", h->name);
    ASSERT_FALSE(put.empty());
    EXPECT_EQ(put.find("x-amz-storage-class"), std::string::npos) << put;
  }
  std::string config_put = HeadFor(heads, "PUT ", "/config");
  ASSERT_FALSE(config_put.empty());
  EXPECT_EQ(config_put.find("x-amz-storage-class"), std::string::npos) << config_put;
}

TEST(S3BackendTest, UnknownStorageClassFailsPacksClearlyAndSparesMetadata) {
  S3Options o;
  o.storage_class = "NO_SUCH_CLASS";
  auto b = NewTestBackend(o);
  ASSERT_TRUE(b->Create().ok());
  Status pack = b->Save(RandomHandle(FileType::kPack), ToBytes("p"));
  EXPECT_FALSE(pack.ok());
  EXPECT_NE(pack.code(), StatusCode::kUnavailable) << pack.ToString();
  EXPECT_NE(pack.message().find("NO_SUCH_CLASS"), std::string::npos) << pack.message();
  EXPECT_TRUE(b->Save(RandomHandle(FileType::kIndex), ToBytes("i")).ok());
}

TEST(S3BackendTest, AppendOnlyNeverDeletes) {
  S3Options o;
  o.append_only = true;
  RecordedBackend b(o);
  ASSERT_TRUE(b->Create().ok());
  Handle h = RandomHandle(FileType::kSnapshot);
  ASSERT_TRUE(b->Save(h, ToBytes("keep me")).ok());
  size_t before = b.Heads().size();
  Status st = b->Remove(h);
  EXPECT_EQ(st.code(), StatusCode::kPermissionDenied);
  EXPECT_NE(st.message().find("append-only mode: ward does not delete"), std::string::npos);
  EXPECT_EQ(b.Heads().size(), before) << "Remove sent a request in append-only mode";
  EXPECT_EQ(*b->Load(h, 0, 0), ToBytes("keep me"));
  for (const auto& head : b.Heads()) EXPECT_NE(head.rfind("DELETE ", 0), 0u) << head;
}

TEST(S3BackendTest, ReadsAtAndPastTheEnd) {
  auto b = NewTestBackend();
  ASSERT_TRUE(b->Create().ok());
  Handle h = RandomHandle(FileType::kPack);
  ASSERT_TRUE(b->Save(h, ToBytes("0123456789")).ok());
  auto at_end = b->Load(h, 10, 0);
  ASSERT_TRUE(at_end.ok()) << at_end.status().ToString();
  EXPECT_TRUE(at_end->empty());
  EXPECT_EQ(b->Load(h, 11, 0).status().code(), StatusCode::kOutOfRange);
  EXPECT_EQ(b->Load(h, 10, 1).status().code(), StatusCode::kOutOfRange);
  EXPECT_EQ(*b->Load(h, 9, 0), ToBytes("9"));
  Handle empty = RandomHandle(FileType::kIndex);
  ASSERT_TRUE(b->Save(empty, Bytes()).ok());
  EXPECT_EQ(b->Load(empty, 0, 1).status().code(), StatusCode::kOutOfRange);
}

TEST(S3BackendTest, ListShowsOnlyValidNamesAtTheirPlace) {
  auto b = NewTestBackend();
  ASSERT_TRUE(b->Create().ok());
  Handle pack = RandomHandle(FileType::kPack), index = RandomHandle(FileType::kIndex);
  ASSERT_TRUE(b->Save(pack, ToBytes("p")).ok());
  ASSERT_TRUE(b->Save(index, ToBytes("i")).ok());
  std::string prefix = PrefixOf(*b) + "/";
  std::string other(64, 'e');
  auto client = RawClient();
  for (std::string key : {prefix + "index/not-a-name", prefix + "index/" + other + ".tmp",
                          prefix + "index/" + std::string(64, 'E'),
                          prefix + "data/" + other,     // pack at the wrong depth
                          prefix + "data/ab/" + other,  // pack in the wrong fan-out dir
                          prefix + "data/ee/" + other + "/x"}) {
    S3Request put;
    put.method = "PUT";
    put.bucket = TestServer().bucket;
    put.key = key;
    put.body = AsBytes("foreign");
    auto r = client->Send(put);
    ASSERT_TRUE(r.ok());
    ASSERT_EQ(r->status, 200) << key;
  }
  auto names = [&](FileType t) {
    std::vector<std::string> out;
    EXPECT_TRUE(b->List(t, [&](const FileInfo& fi) {
                   out.push_back(fi.name);
                   EXPECT_EQ(fi.size, 1u);
                   return Status::OK();
                 }).ok());
    return out;
  };
  EXPECT_EQ(names(FileType::kPack), std::vector<std::string>{pack.name});
  EXPECT_EQ(names(FileType::kIndex), std::vector<std::string>{index.name});
}

TEST(S3BackendTest, OpenBackendOpensS3UrlsWithRetries) {
  // The generic entry point: credentials from the environment, retries on.
  std::string url = TestUrl(TestServer().bucket, RandomPrefix());
  auto b = OpenBackend(url);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_NE(dynamic_cast<RetryBackend*>(b->get()), nullptr);
  EXPECT_EQ((*b)->Location(), url);
  EXPECT_EQ((*b)->Concurrency(), 8);
  EXPECT_FALSE((*b)->IsLocal());
  ASSERT_TRUE((*b)->Create().ok());
  ASSERT_TRUE((*b)->Save(Handle::Config(), ToBytes("cfg")).ok());
  EXPECT_EQ(*(*b)->Load(Handle::Config(), 0, 0), ToBytes("cfg"));
  EXPECT_EQ(OpenBackend("s3:https://key:secret@host/b").status().code(),
            StatusCode::kInvalidArgument);
}

TEST(S3BackendTest, Throughput) {
  // Not a benchmark with a threshold: a measurement recorded with the test
  // (and printed), on the 64 MiB object the project's reports quote.
  for (bool multipart : {false, true}) {
    S3Options o;
    if (multipart) {
      o.multipart_threshold = 16 << 20;
      o.part_size = 16 << 20;
    }
    auto b = NewTestBackend(o);
    ASSERT_TRUE(b->Create().ok());
    Handle h = RandomHandle(FileType::kPack);
    Bytes data = RandomData(64 << 20, 8);
    auto t0 = std::chrono::steady_clock::now();
    ASSERT_TRUE(b->Save(h, data).ok());
    auto t1 = std::chrono::steady_clock::now();
    auto got = b->Load(h, 0, 0);
    auto t2 = std::chrono::steady_clock::now();
    ASSERT_TRUE(got.ok());
    ASSERT_TRUE(*got == data);
    auto mibs = [](auto d) { return 64.0 / std::chrono::duration<double>(d).count(); };
    std::string kind = multipart ? "multipart_4x16MiB" : "single_put";
    ::testing::Test::RecordProperty("upload_MiBps_" + kind, std::to_string(mibs(t1 - t0)));
    ::testing::Test::RecordProperty("download_MiBps_" + kind, std::to_string(mibs(t2 - t1)));
    std::printf("64 MiB %s: upload %.1f MiB/s, download %.1f MiB/s\n", kind.c_str(), mibs(t1 - t0),
                mibs(t2 - t1));
    ASSERT_TRUE(b->Remove(h).ok());
  }
}

}  // namespace
}  // namespace ward::storage::s3
