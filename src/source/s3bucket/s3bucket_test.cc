// Integration tests of the S3 bucket source and restore target against a real
// S3 server (Ceph RGW from scripts/start-rgw.sh; see storage/s3/s3_test_env.h):
// objects of every awkward size and key backed up with the engine into a local
// repository, backed up again after a change (only the changed and new
// objects may be downloaded: the requests are counted at a proxy), restored
// into a fresh bucket and compared object by object; the failures an operator
// meets (wrong credentials, missing bucket, unknown storage class, restoring
// over the source, objects changing during the backup, a lossy network).
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "base/sync.h"
#include "crypto/crypto.h"
#include "engine/backup.h"
#include "engine/restore.h"
#include "plan/plan.h"
#include "source/s3bucket/s3bucket.h"
#include "storage/local/local_backend.h"
#include "storage/s3/client.h"
#include "storage/s3/s3_test_env.h"
#include "storage/s3/sigv4.h"
#include "storage/s3/xml.h"
#include "tests/tools/fault_proxy.h"

namespace ward::source {
namespace {

using s3bucket::Bucket;
using s3bucket::HeaderList;
using storage::s3::TestServer;

[[maybe_unused]] ::testing::Environment* const kEnvironment =
    ::testing::AddGlobalTestEnvironment(new storage::s3::S3Environment);

double Since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::string RandomData(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

storage::s3::EnvLookup EnvOf(const storage::s3::Credentials& c) {
  return [c](const std::string& n) -> std::optional<std::string> {
    if (n == "AWS_ACCESS_KEY_ID") return c.access_key_id;
    if (n == "AWS_SECRET_ACCESS_KEY") return c.secret_access_key;
    if (n == "AWS_DEFAULT_REGION") return TestServer().region;
    return std::nullopt;
  };
}

storage::s3::EnvLookup TestEnv() { return EnvOf(TestServer().credentials); }

// "s3:http://host:port/bucket/prefix" on the server, or through a proxy port.
std::string UrlAt(const std::string& endpoint, const std::string& bucket, const std::string& prefix) {
  return "s3:" + endpoint + "/" + bucket + (prefix.empty() ? "" : "/" + prefix);
}

std::string ProxyEndpoint(const ward::testing::FaultProxy& p) {
  return "http://127.0.0.1:" + std::to_string(p.port());
}

// Direct access to the test server for setting up and checking objects.
class Server {
 public:
  Server() {
    auto url = storage::s3::ParseS3Url(UrlAt(TestServer().endpoint, "x", ""));
    EXPECT_TRUE(url.ok());
    storage::s3::ClientConfig cc;
    cc.scheme = url->scheme;
    cc.host = url->host;
    cc.port = url->port;
    cc.region = TestServer().region;
    cc.credentials = TestServer().credentials;
    auto c = storage::s3::S3Client::Create(cc);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    client_ = std::move(*c);
  }

  std::unique_ptr<Bucket> Open(const std::string& bucket) {
    auto b = s3bucket::OpenBucket(UrlAt(TestServer().endpoint, bucket, ""), {}, TestEnv());
    EXPECT_TRUE(b.ok()) << b.status().ToString();
    return std::move(*b);
  }

  void CreateBucket(const std::string& bucket, bool versioned = false) {
    storage::s3::S3Request put;
    put.method = "PUT";
    put.bucket = bucket;
    auto r = client_->Send(put);
    ASSERT_TRUE(r.ok() && (r->status == 200 || r->status == 409)) << bucket;
    if (versioned) {
      std::string body =
          "<VersioningConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Status>Enabled</Status>"
          "</VersioningConfiguration>";
      storage::s3::S3Request v;
      v.method = "PUT";
      v.bucket = bucket;
      v.query.emplace_back("versioning", "");
      v.body = AsBytes(body);
      auto vr = client_->Send(v);
      ASSERT_TRUE(vr.ok() && vr->status == 200) << "enabling versioning on " << bucket;
    }
  }

  void Delete(const std::string& bucket, const std::string& key) {
    storage::s3::S3Request del;
    del.method = "DELETE";
    del.bucket = bucket;
    del.key = key;
    auto r = client_->Send(del);
    ASSERT_TRUE(r.ok() && (r->status == 204 || r->status == 200)) << key;
  }

  // Removes every object (every version) under `prefix`, and the bucket too
  // when asked.
  void Clean(const std::string& bucket, const std::string& prefix, bool remove_bucket = false) {
    for (int round = 0; round < 100; ++round) {
      storage::s3::S3Request list;
      list.bucket = bucket;
      list.query = {{"versions", ""}, {"prefix", prefix}};
      auto r = client_->Send(list);
      if (!r.ok() || r->status != 200) break;
      auto doc = storage::s3::ParseXml(AsString(r->body));
      if (!doc.ok()) break;
      int n = 0;
      for (const auto& e : doc->children) {
        if (e.name != "Version" && e.name != "DeleteMarker") continue;
        storage::s3::S3Request del;
        del.method = "DELETE";
        del.bucket = bucket;
        del.key = e.ChildText("Key");
        del.query.emplace_back("versionId", e.ChildText("VersionId"));
        client_->Send(del).status().IgnoreError();
        n++;
      }
      if (n == 0) break;
    }
    if (remove_bucket) {
      storage::s3::S3Request del;
      del.method = "DELETE";
      del.bucket = bucket;
      client_->Send(del).status().IgnoreError();
    }
  }

 private:
  std::unique_ptr<storage::s3::S3Client> client_;
};

struct Spec {
  std::string key;  // relative to the source prefix
  std::string data;
  HeaderList headers;
  bool multipart = false;
};

class S3BucketTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(crypto::Init().ok());
    char t[] = "/tmp/ward-s3bucket-XXXXXX";
    base_ = ::mkdtemp(t);
    repo::OpenOptions o;
    crypto::KdfParams k = crypto::DefaultKdfParams();
    k.memory = 1 << 20;
    k.ops = 1;
    o.kdf = k;
    auto r = repo::Repository::Init(storage::NewLocalBackend(base_ + "/repo"), "pw", o);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    src_bucket_ = TestServer().bucket;
    src_prefix_ = storage::s3::RandomPrefix() + "/cvs";
    bucket_ = server_.Open(src_bucket_);
  }

  void TearDown() override {
    std::error_code ec;
    if (!base_.empty()) std::filesystem::remove_all(base_, ec);
    if (bucket_) server_.Clean(src_bucket_, src_prefix_.substr(0, src_prefix_.find('/')) + "/");
    for (const auto& b : made_buckets_) server_.Clean(b, "", /*remove_bucket=*/true);
  }

  std::string FreshBucket(bool versioned = false) {
    std::string name = "ward-s3src-" + storage::s3::RandomPrefix().substr(2, 10);
    server_.CreateBucket(name, versioned);
    made_buckets_.push_back(name);
    return name;
  }

  std::unique_ptr<repo::Repository> OpenRepo() {
    auto r = repo::Repository::Open(storage::NewLocalBackend(base_ + "/repo"), "pw", repo::OpenOptions());
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (!r.ok()) return nullptr;
    EXPECT_TRUE((*r)->LoadIndex().ok());
    return std::move(*r);
  }

  // Uploads one object under the source prefix; remembers its ETag.
  void Put(const Spec& s, Bucket* b = nullptr, const std::string& prefix = "") {
    if (b == nullptr) b = bucket_.get();
    std::string key = (prefix.empty() ? src_prefix_ : prefix) + "/" + s.key;
    if (!s.multipart) {
      auto r = b->Put(key, AsBytes(s.data), s.headers);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      etags_[s.key] = r->etag;
      return;
    }
    // 16 MiB parts, as the restore target writes them.
    auto id = b->CreateMultipart(key, s.headers);
    ASSERT_TRUE(id.ok()) << id.status().ToString();
    std::vector<std::string> part_etags;
    std::vector<Bytes> md5s;
    for (size_t off = 0; off < s.data.size(); off += 16 << 20) {
      ByteView part = AsBytes(std::string_view(s.data).substr(off, 16 << 20));
      auto e = b->UploadPart(key, *id, static_cast<int>(part_etags.size() + 1), part);
      ASSERT_TRUE(e.ok()) << e.status().ToString();
      part_etags.push_back(*e);
      md5s.push_back(s3bucket::Md5(part));
    }
    ASSERT_TRUE(b->CompleteMultipart(key, *id, part_etags).ok());
    etags_[s.key] = s3bucket::MultipartEtag(md5s);
  }

  Result<engine::BackupResult> Backup(Source& src) {
    auto repo = OpenRepo();
    engine::BackupOptions bo;
    bo.hostname = "test-host";
    return engine::RunBackup(*repo, src, bo, nullptr);
  }

  Result<nlohmann::json> Restore(const repo::Snapshot& snap, const S3BucketRestoreOptions& o,
                                 const std::string& subpath = "") {
    auto repo = OpenRepo();
    WARD_ASSIGN_OR_RETURN(std::unique_ptr<RestoreTarget> t, NewS3BucketRestoreTarget(o, TestEnv()));
    return engine::RunRestoreToTarget(*repo, snap, subpath, *t, nullptr);
  }

  // The objects under `prefix` of `b`, keyed relative to it.
  std::map<std::string, s3bucket::ListedObject> Listing(Bucket& b, const std::string& prefix) {
    std::map<std::string, s3bucket::ListedObject> out;
    Status s = b.List(prefix + "/", [&](s3bucket::ListedObject o) {
      out[o.key.substr(prefix.size() + 1)] = o;
      return Status::OK();
    });
    EXPECT_TRUE(s.ok()) << s.ToString();
    return out;
  }

  // Object keys (relative to the source prefix) that requests recorded by
  // the proxy GET, from request number `from` on; ranged GETs count once per
  // request.
  std::multiset<std::string> ObjectGets(const ward::testing::FaultProxy& p, size_t from) {
    std::multiset<std::string> out;
    auto heads = p.RequestHeads();
    const std::string path_prefix = storage::s3::CanonicalPath("/" + src_bucket_ + "/" + src_prefix_ + "/");
    for (size_t i = from; i < heads.size(); ++i) {
      std::string line = heads[i].substr(0, heads[i].find("\r\n"));
      if (line.rfind("GET ", 0) != 0) continue;
      std::string target = line.substr(4, line.rfind(' ') - 4);
      if (target.rfind(path_prefix, 0) != 0) continue;  // listings are GET /bucket?...
      std::string path = target.substr(0, target.find('?'));
      out.insert(storage::s3::UriDecode(path.substr(path_prefix.size())));
    }
    return out;
  }

  std::unique_ptr<ward::testing::FaultProxy> StartProxy(double rate = 0, uint64_t seed = 1) {
    auto url = storage::s3::ParseS3Url(UrlAt(TestServer().endpoint, "x", ""));
    ward::testing::FaultProxyOptions o;
    o.upstream_host = url->host;
    o.upstream_port = url->port == 0 ? 80 : url->port;
    o.rate = rate;
    o.seed = seed;
    o.record_heads = true;
    auto p = std::make_unique<ward::testing::FaultProxy>(o);
    EXPECT_TRUE(p->Start().ok());
    return p;
  }

  std::unique_ptr<Source> NewSource(const std::string& endpoint, uint64_t piece = 8 << 20,
                                    const std::string& head_cache = "") {
    S3BucketSourceOptions o;
    o.url = UrlAt(endpoint, src_bucket_, src_prefix_);
    o.piece_size = piece;
    o.head_cache = head_cache;
    o.bucket.retry_base = std::chrono::milliseconds(5);
    o.bucket.retry_cap = std::chrono::milliseconds(200);
    o.bucket.max_attempts = 12;
    auto s = NewS3BucketSource(o, TestEnv());
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(*s) : nullptr;
  }

  // Every object under the source prefix has its twin under `to_prefix` of
  // `to`: same bytes, Content-Type, user metadata and settable headers.
  void ExpectSameObjects(Bucket& to, const std::string& to_prefix) {
    auto want = Listing(*bucket_, src_prefix_);
    auto got = Listing(to, to_prefix);
    ASSERT_EQ(got.size(), want.size());
    for (const auto& [rel, w] : want) {
      SCOPED_TRACE("object '" + rel + "'");
      ASSERT_TRUE(got.count(rel));
      EXPECT_EQ(got[rel].size, w.size);
      auto hw = bucket_->Head(src_prefix_ + "/" + rel);
      auto hg = to.Head(to_prefix + "/" + rel);
      ASSERT_TRUE(hw.ok() && hg.ok());
      EXPECT_EQ(hg->content_type, hw->content_type);
      EXPECT_EQ(hg->meta, hw->meta);
      EXPECT_EQ(hg->system, hw->system);
      auto dw = bucket_->Get(src_prefix_ + "/" + rel, "", "", 0, w.size, w.size);
      auto dg = to.Get(to_prefix + "/" + rel, "", "", 0, w.size, w.size);
      ASSERT_TRUE(dw.ok() && dg.ok());
      EXPECT_TRUE(*dw == *dg) << "bytes differ";
      // Single-part on both sides: the ETag is the MD5 of the bytes.
      if (w.etag.find('-') == std::string::npos && got[rel].etag.find('-') == std::string::npos) {
        EXPECT_EQ(got[rel].etag, w.etag);
      }
    }
  }

  Server server_;
  std::string base_;
  std::string src_bucket_, src_prefix_;
  std::unique_ptr<Bucket> bucket_;
  std::vector<std::string> made_buckets_;
  std::map<std::string, std::string> etags_;
};

// The listing digest as s3bucket.h defines it, from what the test uploaded.
std::string Digest(const std::map<std::string, std::pair<std::string, uint64_t>>& objects) {
  std::string all;
  for (const auto& [key, v] : objects) {
    all += key;
    all.push_back('\0');
    all += v.first;
    all.push_back('\0');
    all += std::to_string(v.second) + "\n";
  }
  return crypto::Sha256(AsBytes(all)).Hex();
}

TEST_F(S3BucketTest, BackupTwiceDownloadsOnlyChangesAndRestoresEveryObjectExactly) {
  const uint64_t big = 70ull << 20;  // above the 64 MiB multipart threshold
  std::vector<Spec> specs = {
      {"empty", "", {{"content-type", "application/x-empty"}}},
      {"one-byte", "x", {{"content-type", "text/plain"}}},
      {"docs/report.pdf",
       RandomData(3 << 20, 1),
       {{"content-type", "application/pdf"}, {"x-amz-meta-author", "alice"}, {"x-amz-meta-project", "ward dr"}}},
      {"docs/nested/deep/notes.txt",
       "notes\n",
       {{"content-type", "text/plain; charset=utf-8"},
        {"cache-control", "max-age=60"},
        {"content-disposition", "attachment; filename=\"notes.txt\""}}},
      {"ünïcödé/名前.txt", "unicode key\n", {{"content-type", "text/plain"}, {"x-amz-meta-lang", "ja"}}},
      {"odd/../dotdot", "dots\n", {}},
      {"odd//double-slash", "double\n", {}},
      {"odd/.", "single dot\n", {}},
      {"folder/", "", {{"content-type", "application/x-directory"}}},
      {"a", "object beside a folder\n", {}},
      {"a/b", "object in that folder\n", {}},
      {"plus+and space %25", "escapes\n", {}},
      {"big/multipart.bin", RandomData(big, 2), {{"content-type", "application/octet-stream"}}, true},
  };
  for (const auto& s : specs) ASSERT_NO_FATAL_FAILURE(Put(s));
  std::map<std::string, std::pair<std::string, uint64_t>> expected;
  uint64_t total = 0;
  for (const auto& s : specs) {
    expected[src_prefix_ + "/" + s.key] = {etags_[s.key], s.data.size()};
    total += s.data.size();
  }

  auto proxy = StartProxy();
  auto src = NewSource(ProxyEndpoint(*proxy));
  ASSERT_NE(src, nullptr);
  auto t0 = std::chrono::steady_clock::now();
  auto b1 = Backup(*src);
  double first_s = Since(t0);
  ASSERT_TRUE(b1.ok()) << b1.status().ToString();
  EXPECT_TRUE(b1->read_errors.empty());
  EXPECT_EQ(b1->snapshot.source, "s3");
  const nlohmann::json& pos1 = b1->snapshot.sources;
  EXPECT_EQ(pos1["objects"], specs.size()) << pos1.dump();
  EXPECT_EQ(pos1["bytes"], total);
  EXPECT_EQ(pos1["bucket"], src_bucket_);
  EXPECT_EQ(pos1["prefix"], src_prefix_);
  EXPECT_EQ(pos1["listing_digest"], Digest(expected));
  // Every object was read once, the large one in 8 MiB ranges.
  auto gets1 = ObjectGets(*proxy, 0);
  for (const auto& s : specs) {
    size_t want = s.data.size() > (8u << 20) ? (s.data.size() + (8u << 20) - 1) / (8u << 20) : 1;
    EXPECT_EQ(gets1.count(s.key), want) << s.key;
  }
  std::printf("[ measure ] first backup: %zu objects, %.1f MiB in %.2fs (%zu requests)\n", specs.size(),
              total / 1048576.0, first_s, proxy->RequestHeads().size());

  // What the snapshot records per object.
  {
    auto repo = OpenRepo();
    auto n = engine::FindNode(*repo, b1->snapshot.tree, "/docs/report.pdf");
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    std::map<std::string, std::string> x(n->xattrs.begin(), n->xattrs.end());
    EXPECT_EQ(x["s3.key"], src_prefix_ + "/docs/report.pdf");
    EXPECT_EQ(x["s3.etag"], etags_["docs/report.pdf"]);
    EXPECT_EQ(x["s3.content-type"], "application/pdf");
    EXPECT_EQ(x["s3.meta.author"], "alice");
    EXPECT_EQ(x["s3.meta.project"], "ward dr");
    EXPECT_EQ(x["s3.storage-class"], "STANDARD");
    EXPECT_EQ(n->size, 3u << 20);
    auto listed = Listing(*bucket_, src_prefix_);
    EXPECT_EQ(n->mtime_ns, listed["docs/report.pdf"].mtime_ns);
    for (const char* p : {"/odd/%2E%2E/dotdot", "/odd/%/double-slash", "/odd/%2E", "/folder/%", "/a%", "/a/b",
                          "/ünïcödé/名前.txt", "/plus+and space %2525"}) {
      EXPECT_TRUE(engine::FindNode(*repo, b1->snapshot.tree, p).ok()) << p;
    }
    auto notes = engine::FindNode(*repo, b1->snapshot.tree, "/docs/nested/deep/notes.txt");
    ASSERT_TRUE(notes.ok());
    std::map<std::string, std::string> nx(notes->xattrs.begin(), notes->xattrs.end());
    EXPECT_EQ(nx["s3.cache-control"], "max-age=60");
    EXPECT_EQ(nx["s3.content-disposition"], "attachment; filename=\"notes.txt\"");
  }

  // One object changes, one is added; the rest must not be downloaded again.
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  Spec changed = {"docs/report.pdf", RandomData(3 << 20, 3), specs[2].headers};
  Spec added = {"docs/new.txt", "new object\n", {{"content-type", "text/markdown"}, {"x-amz-meta-n", "1"}}};
  ASSERT_NO_FATAL_FAILURE(Put(changed));
  ASSERT_NO_FATAL_FAILURE(Put(added));
  expected[src_prefix_ + "/docs/report.pdf"] = {etags_["docs/report.pdf"], changed.data.size()};
  expected[src_prefix_ + "/docs/new.txt"] = {etags_["docs/new.txt"], added.data.size()};
  total += added.data.size();

  const size_t before = proxy->RequestHeads().size();
  auto src2 = NewSource(ProxyEndpoint(*proxy));
  t0 = std::chrono::steady_clock::now();
  auto b2 = Backup(*src2);
  double second_s = Since(t0);
  ASSERT_TRUE(b2.ok()) << b2.status().ToString();
  EXPECT_EQ(b2->parent, b1->snapshot.id);
  auto gets2 = ObjectGets(*proxy, before);
  EXPECT_EQ(gets2, (std::multiset<std::string>{"docs/report.pdf", "docs/new.txt"}));
  ASSERT_TRUE(b2->snapshot.summary.has_value());
  const auto& sum = *b2->snapshot.summary;
  EXPECT_EQ(sum.files_new, 1u);
  EXPECT_EQ(sum.files_changed, 1u);
  EXPECT_EQ(sum.files_unmodified, specs.size() - 1);
  const nlohmann::json& pos2 = b2->snapshot.sources;
  EXPECT_EQ(pos2["objects"], specs.size() + 1);
  EXPECT_EQ(pos2["bytes"], total);
  EXPECT_EQ(pos2["listing_digest"], Digest(expected));
  EXPECT_NE(pos2["listing_digest"], pos1["listing_digest"]);
  std::printf("[ measure ] second backup: 1 changed + 1 new of %zu objects in %.2fs (%zu requests, %zu object GETs)\n",
              specs.size() + 1, second_s, proxy->RequestHeads().size() - before, gets2.size());

  // Restore the second snapshot into a fresh bucket and compare everything.
  const std::string staging = FreshBucket();
  S3BucketRestoreOptions ro;
  ro.url = UrlAt(TestServer().endpoint, staging, "restored");
  ro.position = pos2;
  t0 = std::chrono::steady_clock::now();
  auto report = Restore(b2->snapshot, ro);
  double restore_s = Since(t0);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_TRUE((*report)["ok"].get<bool>());
  EXPECT_EQ((*report)["objects"], specs.size() + 1) << report->dump();
  EXPECT_EQ((*report)["bytes"], total);
  EXPECT_EQ((*report)["multipart"], 1);
  EXPECT_EQ((*report)["etag_verified"], specs.size() + 1);
  // Single-part sources hash to their ETag; the multipart one used 16 MiB
  // parts, like the target, so its composite ETag matches too.
  EXPECT_EQ((*report)["source_etag_matched"], specs.size() + 1);
  EXPECT_EQ((*report)["bucket"], staging);
  EXPECT_EQ((*report)["prefix"], "restored");
  std::printf("[ measure ] restore: %zu objects, %.1f MiB in %.2fs\n", specs.size() + 1, total / 1048576.0,
              restore_s);
  auto to = server_.Open(staging);
  ExpectSameObjects(*to, "restored");

  // A folder of the snapshot restores relative to itself, like --target.
  S3BucketRestoreOptions sub = ro;
  sub.url = UrlAt(TestServer().endpoint, staging, "only-docs");
  auto sub_report = Restore(b2->snapshot, sub, "/docs");
  ASSERT_TRUE(sub_report.ok()) << sub_report.status().ToString();
  EXPECT_EQ((*sub_report)["objects"], 3);
  auto docs = Listing(*to, "only-docs");
  EXPECT_EQ(docs.size(), 3u);
  EXPECT_TRUE(docs.count("nested/deep/notes.txt"));
  EXPECT_TRUE(docs.count("report.pdf"));
}

TEST_F(S3BucketTest, StorageClassIsChosenOrRecordedAndAnUnknownOneIsAClearError) {
  ASSERT_NO_FATAL_FAILURE(Put({"one", "1", {}}));
  ASSERT_NO_FATAL_FAILURE(Put({"two", "22", {{"x-amz-storage-class", "STANDARD"}}}));
  auto src = NewSource(TestServer().endpoint);
  auto b = Backup(*src);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  const std::string staging = FreshBucket();

  S3BucketRestoreOptions o;
  o.url = UrlAt(TestServer().endpoint, staging, "sc");
  o.position = b->snapshot.sources;
  o.storage_class = "NO_SUCH_CLASS";
  auto r = Restore(b->snapshot, o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << r.status().ToString();
  EXPECT_NE(r.status().message().find("storage class 'NO_SUCH_CLASS'"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("--storage-class"), std::string::npos);
  EXPECT_EQ(r.status().message().find('\n'), std::string::npos);

  o.storage_class = "standard ia";
  auto bad = NewS3BucketRestoreTarget(o, TestEnv());
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);

  // STANDARD, named or recorded, is what RGW offers.
  o.storage_class = "STANDARD";
  o.url = UrlAt(TestServer().endpoint, staging, "named");
  auto named = Restore(b->snapshot, o);
  ASSERT_TRUE(named.ok()) << named.status().ToString();
  EXPECT_EQ((*named)["storage_class"], "STANDARD");
  o.storage_class = "";
  o.url = UrlAt(TestServer().endpoint, staging, "recorded");
  auto recorded = Restore(b->snapshot, o);
  ASSERT_TRUE(recorded.ok()) << recorded.status().ToString();
  EXPECT_EQ((*recorded)["storage_class"], "recorded");
  EXPECT_EQ((*recorded)["objects"], 2);
}

TEST_F(S3BucketTest, WrongCredentialsOrAMissingBucketFailWithOneLineAndNoSnapshot) {
  ASSERT_NO_FATAL_FAILURE(Put({"x", "x", {}}));
  storage::s3::Credentials wrong = TestServer().credentials;
  wrong.secret_access_key = "not-the-secret-0123456789abcdefghijklmnop";
  S3BucketSourceOptions o;
  o.url = UrlAt(TestServer().endpoint, src_bucket_, src_prefix_);
  auto src = NewS3BucketSource(o, EnvOf(wrong));
  ASSERT_TRUE(src.ok()) << src.status().ToString();
  auto b = Backup(**src);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().code(), StatusCode::kUnauthenticated) << b.status().ToString();
  EXPECT_NE(b.status().message().find("AWS_SECRET_ACCESS_KEY"), std::string::npos) << b.status().message();
  EXPECT_NE(b.status().message().find(src_bucket_), std::string::npos);
  EXPECT_EQ(b.status().message().find('\n'), std::string::npos);
  EXPECT_EQ(b.status().message().find(wrong.secret_access_key), std::string::npos);

  o.url = UrlAt(TestServer().endpoint, "ward-no-such-bucket-" + storage::s3::RandomPrefix().substr(2, 8), "p");
  auto missing = NewS3BucketSource(o, TestEnv());
  ASSERT_TRUE(missing.ok());
  auto m = Backup(**missing);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), StatusCode::kNotFound) << m.status().ToString();
  EXPECT_NE(m.status().message().find("the bucket does not exist"), std::string::npos) << m.status().message();
  EXPECT_EQ(m.status().message().find('\n'), std::string::npos);

  auto snaps = OpenRepo()->ListSnapshots();
  ASSERT_TRUE(snaps.ok());
  EXPECT_TRUE(snaps->empty());

  // The restore target checks its bucket before anything else.
  S3BucketRestoreOptions ro;
  ro.url = o.url;
  auto t = NewS3BucketRestoreTarget(ro, TestEnv());
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), StatusCode::kNotFound) << t.status().ToString();
  ro.url = UrlAt(TestServer().endpoint, src_bucket_, "x");
  auto denied = NewS3BucketRestoreTarget(ro, EnvOf(wrong));
  ASSERT_FALSE(denied.ok());
  EXPECT_EQ(denied.status().message().find(wrong.secret_access_key), std::string::npos);
}

TEST_F(S3BucketTest, RestoringOverTheSourceNeedsAllowOverwriteAndNeverDeletes) {
  ASSERT_NO_FATAL_FAILURE(Put({"keep/a.txt", "original a\n", {{"content-type", "text/plain"}}}));
  ASSERT_NO_FATAL_FAILURE(Put({"keep/b.txt", "original b\n", {}}));
  auto src = NewSource(TestServer().endpoint);
  auto b = Backup(*src);
  ASSERT_TRUE(b.ok()) << b.status().ToString();

  // Ransomware: one object overwritten, one added after the snapshot.
  ASSERT_NO_FATAL_FAILURE(Put({"keep/a.txt", "ENCRYPTED GARBAGE", {{"content-type", "application/x-bad"}}}));
  ASSERT_NO_FATAL_FAILURE(Put({"keep/ransom-note.txt", "pay up\n", {}}));

  S3BucketRestoreOptions o;
  o.position = b->snapshot.sources;
  for (const std::string& to : {src_prefix_, src_prefix_ + "/keep", src_prefix_.substr(0, src_prefix_.find('/'))}) {
    o.url = UrlAt(TestServer().endpoint, src_bucket_, to);
    auto t = NewS3BucketRestoreTarget(o, TestEnv());
    ASSERT_FALSE(t.ok()) << to;
    EXPECT_EQ(t.status().code(), StatusCode::kFailedPrecondition);
    EXPECT_NE(t.status().message().find("where the snapshot was taken"), std::string::npos) << t.status().message();
  }
  // Without a recorded position, only an empty prefix is acceptable.
  o.position = nlohmann::json::object();
  o.url = UrlAt(TestServer().endpoint, src_bucket_, src_prefix_ + "/keep");
  EXPECT_EQ(NewS3BucketRestoreTarget(o, TestEnv()).status().code(), StatusCode::kFailedPrecondition);

  // Back into the primary, deliberately.
  o.position = b->snapshot.sources;
  o.url = UrlAt(TestServer().endpoint, src_bucket_, src_prefix_);
  o.allow_overwrite = true;
  auto r = Restore(b->snapshot, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)["objects"], 2);
  auto now = Listing(*bucket_, src_prefix_);
  EXPECT_EQ(now.size(), 3u) << "objects the snapshot does not hold stay";
  EXPECT_TRUE(now.count("keep/ransom-note.txt"));
  auto a = bucket_->Get(src_prefix_ + "/keep/a.txt", "", "", 0, now["keep/a.txt"].size, now["keep/a.txt"].size);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(AsString(*a), "original a\n");
  auto h = bucket_->Head(src_prefix_ + "/keep/a.txt");
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->content_type, "text/plain");
}

TEST_F(S3BucketTest, ObjectsThatChangeOrVanishAfterTheListingAreLeftOutAndNamed) {
  ASSERT_NO_FATAL_FAILURE(Put({"stable", "stable\n", {}}));
  ASSERT_NO_FATAL_FAILURE(Put({"changes", "before\n", {}}));
  ASSERT_NO_FATAL_FAILURE(Put({"vanishes", "here\n", {}}));
  ASSERT_NO_FATAL_FAILURE(Put({"large", RandomData(1 << 20, 5), {}}));
  auto src = NewSource(TestServer().endpoint, /*piece=*/64 << 10);
  std::vector<Status> skipped;
  auto entries = src->List("", &skipped);
  ASSERT_TRUE(entries.ok()) << entries.status().ToString();
  ASSERT_EQ(entries->size(), 4u);
  auto entry = [&](const std::string& name) {
    for (const auto& e : *entries) {
      if (e.node.name == name) return e;
    }
    ADD_FAILURE() << name;
    return Entry{};
  };

  // A large object replaced while it is read fails part-way.
  auto large = src->Open("large", entry("large"));
  ASSERT_TRUE(large.ok()) << large.status().ToString();
  ASSERT_NO_FATAL_FAILURE(Put({"large", RandomData(1 << 20, 6), {}}));
  Bytes buf(1 << 20);
  auto n = (*large)->Read(buf);
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(n.status().message().find("large changed after it was listed"), std::string::npos)
      << n.status().message();

  ASSERT_NO_FATAL_FAILURE(Put({"changes", "after\n", {}}));
  auto changed = src->Open("changes", entry("changes"));
  ASSERT_FALSE(changed.ok());
  EXPECT_EQ(changed.status().code(), StatusCode::kFailedPrecondition) << changed.status().ToString();
  ASSERT_NO_FATAL_FAILURE(server_.Delete(src_bucket_, src_prefix_ + "/vanishes"));
  auto gone = src->Open("vanishes", entry("vanishes"));
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.status().code(), StatusCode::kNotFound);
  EXPECT_NE(gone.status().message().find("deleted after it was listed"), std::string::npos);

  auto stable = src->Open("stable", entry("stable"));
  ASSERT_TRUE(stable.ok());
  Bytes s(64);
  auto sn = (*stable)->Read(s);
  ASSERT_TRUE(sn.ok());
  EXPECT_EQ(*sn, 7u);
  EXPECT_TRUE((*stable)->Finish().ok());

  nlohmann::json pos = src->Position();
  EXPECT_EQ(pos["objects"], 1) << pos.dump();
  EXPECT_EQ(pos["unreadable"], 3);
}

TEST_F(S3BucketTest, AVersionedBucketIsReadAtTheListedVersion) {
  const std::string vb = FreshBucket(/*versioned=*/true);
  auto b = server_.Open(vb);
  ASSERT_NO_FATAL_FAILURE(Put({"doc", "version one\n", {{"content-type", "text/plain"}}}, b.get(), "v"));
  S3BucketSourceOptions o;
  o.url = UrlAt(TestServer().endpoint, vb, "v");
  auto src = NewS3BucketSource(o, TestEnv());
  ASSERT_TRUE(src.ok());
  std::vector<Status> skipped;
  auto entries = (*src)->List("", &skipped);
  ASSERT_TRUE(entries.ok()) << entries.status().ToString();
  ASSERT_EQ(entries->size(), 1u);
  std::map<std::string, std::string> x((*entries)[0].node.xattrs.begin(), (*entries)[0].node.xattrs.end());
  EXPECT_FALSE(x["s3.version-id"].empty());
  // A new version after the listing: the listed one is still what is read.
  ASSERT_NO_FATAL_FAILURE(Put({"doc", "version two\n", {}}, b.get(), "v"));
  auto r = (*src)->Open("doc", (*entries)[0]);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  Bytes buf(64);
  auto n = (*r)->Read(buf);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(std::string(AsString(ByteView(buf.data(), *n))), "version one\n");
}

TEST_F(S3BucketTest, BackupAndRestoreSurviveALossyNetwork) {
  std::vector<Spec> specs;
  for (int i = 0; i < 40; ++i) {
    specs.push_back({"f/" + std::to_string(i), RandomData(1000 + i * 997, 100 + i),
                     {{"content-type", "application/x-" + std::to_string(i)}, {"x-amz-meta-i", std::to_string(i)}}});
  }
  specs.push_back({"large", RandomData(12 << 20, 9), {}});
  for (const auto& s : specs) ASSERT_NO_FATAL_FAILURE(Put(s));
  auto proxy = StartProxy(/*rate=*/0.05, /*seed=*/20261122);
  auto src = NewSource(ProxyEndpoint(*proxy), /*piece=*/1 << 20);
  auto b = Backup(*src);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_TRUE(b->read_errors.empty()) << b->read_errors[0].ToString();
  EXPECT_EQ(b->snapshot.sources["objects"], specs.size());

  const std::string staging = FreshBucket();
  S3BucketRestoreOptions o;
  o.url = UrlAt(ProxyEndpoint(*proxy), staging, "r");
  o.position = b->snapshot.sources;
  o.part_size = 5 << 20;
  o.multipart_threshold = 5 << 20;
  o.bucket.retry_base = std::chrono::milliseconds(5);
  o.bucket.retry_cap = std::chrono::milliseconds(200);
  o.bucket.max_attempts = 12;
  auto report = Restore(b->snapshot, o);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ((*report)["objects"], specs.size());
  EXPECT_EQ((*report)["multipart"], 1);
  auto st = proxy->stats();
  std::printf("[ measure ] lossy network: %lld requests, %lld faults injected\n", static_cast<long long>(st.requests),
              static_cast<long long>(st.TotalFaults()));
  EXPECT_GT(st.TotalFaults(), 0);
  auto to = server_.Open(staging);
  ExpectSameObjects(*to, "r");
}

TEST_F(S3BucketTest, ManySmallObjectsUnchangedAreNotDownloadedAgain) {
  constexpr int kObjects = 1000;
  std::vector<Spec> specs;
  for (int i = 0; i < kObjects; ++i) {
    specs.push_back({"d" + std::to_string(i % 10) + "/obj-" + std::to_string(i), RandomData(2000 + i, i),
                     {{"content-type", "application/x-test"}, {"x-amz-meta-i", std::to_string(i)}}});
  }
  ParallelFor(specs.size(), 8, [&](size_t i) {
    auto r = bucket_->Put(src_prefix_ + "/" + specs[i].key, AsBytes(specs[i].data), specs[i].headers);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
  });
  auto proxy = StartProxy();
  auto count = [&](const char* method, size_t from) {
    auto heads = proxy->RequestHeads();
    return std::count_if(heads.begin() + from, heads.end(),
                         [&](const std::string& h) { return h.rfind(std::string(method) + " ", 0) == 0; });
  };
  const std::string head_cache = base_ + "/heads/cvs.json";
  auto src = NewSource(ProxyEndpoint(*proxy), 8 << 20, head_cache);
  auto t0 = std::chrono::steady_clock::now();
  auto b1 = Backup(*src);
  double first_s = Since(t0);
  ASSERT_TRUE(b1.ok()) << b1.status().ToString();
  EXPECT_EQ(b1->snapshot.sources["objects"], kObjects);
  EXPECT_EQ(ObjectGets(*proxy, 0).size(), static_cast<size_t>(kObjects));
  EXPECT_EQ(count("HEAD", 0), kObjects) << "a first backup asks every object";

  size_t before = proxy->RequestHeads().size();
  auto src2 = NewSource(ProxyEndpoint(*proxy), 8 << 20, head_cache);
  t0 = std::chrono::steady_clock::now();
  auto b2 = Backup(*src2);
  double second_s = Since(t0);
  ASSERT_TRUE(b2.ok()) << b2.status().ToString();
  EXPECT_TRUE(ObjectGets(*proxy, before).empty());
  EXPECT_EQ(count("HEAD", before), 0) << "unchanged objects are answered by the HEAD cache";
  EXPECT_LE(proxy->RequestHeads().size() - before, 2u) << "the listing alone";
  EXPECT_EQ(b2->snapshot.summary->files_unmodified, static_cast<uint64_t>(kObjects));
  EXPECT_EQ(b2->snapshot.tree, b1->snapshot.tree) << "an unchanged bucket gives the same tree";
  const size_t unchanged_requests = proxy->RequestHeads().size() - before;

  // New metadata on the same bytes (same ETag) gives a new LastModified: that
  // object alone is asked again, and the snapshot has its new metadata. A
  // damaged cache file only costs HEADs.
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  ASSERT_TRUE(bucket_->Put(src_prefix_ + "/" + specs[7].key, AsBytes(specs[7].data),
                           {{"content-type", "text/x-changed"}, {"x-amz-meta-i", "seven"}})
                  .ok());
  before = proxy->RequestHeads().size();
  auto b3 = Backup(*NewSource(ProxyEndpoint(*proxy), 8 << 20, head_cache));
  ASSERT_TRUE(b3.ok()) << b3.status().ToString();
  EXPECT_EQ(count("HEAD", before), 1);
  {
    auto repo = OpenRepo();
    auto n = engine::FindNode(*repo, b3->snapshot.tree, "/" + specs[7].key);
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    std::map<std::string, std::string> x(n->xattrs.begin(), n->xattrs.end());
    EXPECT_EQ(x["s3.content-type"], "text/x-changed");
    EXPECT_EQ(x["s3.meta.i"], "seven");
  }
  std::ofstream(head_cache, std::ios::trunc) << "{\"version\": 1, \"objects\": [";
  before = proxy->RequestHeads().size();
  auto b4 = Backup(*NewSource(ProxyEndpoint(*proxy), 8 << 20, head_cache));
  ASSERT_TRUE(b4.ok()) << b4.status().ToString();
  EXPECT_EQ(count("HEAD", before), kObjects);
  EXPECT_EQ(b4->snapshot.tree, b3->snapshot.tree);

  const std::string staging = FreshBucket();
  S3BucketRestoreOptions o;
  o.url = UrlAt(TestServer().endpoint, staging, "r");
  o.position = b2->snapshot.sources;
  t0 = std::chrono::steady_clock::now();
  auto report = Restore(b2->snapshot, o);
  double restore_s = Since(t0);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ((*report)["objects"], kObjects);
  auto to = server_.Open(staging);
  EXPECT_EQ(Listing(*to, "r").size(), static_cast<size_t>(kObjects));
  std::printf("[ measure ] %d small objects: first backup %.2fs, unchanged backup %.2fs (%zu requests), "
              "restore %.2fs\n",
              kObjects, first_s, second_s, unchanged_requests, restore_s);
}

TEST_F(S3BucketTest, PlanSourceTakesAProfileAndRefusesSecrets) {
  ASSERT_NO_FATAL_FAILURE(Put({"p.txt", "profile\n", {}}));
  auto plan = plan::ParsePlan("service = \"svc\"\n[[source]]\nname = \"cvs\"\nkind = \"s3\"\nurl = \"" +
                                  UrlAt(TestServer().endpoint, src_bucket_, src_prefix_) +
                                  "\"\nsecret_access_key = \"x\"\n",
                              "plan.toml");
  if (plan.ok()) {
    auto s = MakeS3BucketSource(plan->sources[0]);
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.status().message().find("does not belong in a plan"), std::string::npos);
  }  // (the plan loader may refuse it first, which is as good)

  // The profile's keys are used even though the environment holds others.
  const std::string creds = base_ + "/credentials";
  {
    std::ofstream f(creds);
    f << "[wardtest]\naws_access_key_id = " << TestServer().credentials.access_key_id
      << "\naws_secret_access_key = " << TestServer().credentials.secret_access_key << "\n";
  }
  struct Saved {
    std::string name;
    std::optional<std::string> value;
  };
  std::vector<Saved> saved;
  for (const char* v : {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SHARED_CREDENTIALS_FILE", "AWS_PROFILE"}) {
    const char* cur = std::getenv(v);
    saved.push_back({v, cur ? std::optional<std::string>(cur) : std::nullopt});
  }
  ::setenv("AWS_ACCESS_KEY_ID", TestServer().credentials.access_key_id.c_str(), 1);
  ::setenv("AWS_SECRET_ACCESS_KEY", "wrong-secret-in-the-environment", 1);
  ::setenv("AWS_SHARED_CREDENTIALS_FILE", creds.c_str(), 1);
  auto good = plan::ParsePlan("service = \"svc\"\n[[source]]\nname = \"cvs\"\nkind = \"s3\"\nurl = \"" +
                                  UrlAt(TestServer().endpoint, src_bucket_, src_prefix_) +
                                  "\"\nprofile = \"wardtest\"\nconnections = 4\n",
                              "plan.toml");
  ASSERT_TRUE(good.ok()) << good.status().ToString();
  auto with_profile = MakeS3BucketSource(good->sources[0]);
  auto plain = plan::ParsePlan("service = \"svc\"\n[[source]]\nname = \"cvs\"\nkind = \"s3\"\nurl = \"" +
                                   UrlAt(TestServer().endpoint, src_bucket_, src_prefix_) + "\"\n",
                               "plan.toml");
  ASSERT_TRUE(plain.ok());
  auto from_env = MakeS3BucketSource(plain->sources[0]);
  for (const auto& s : saved) {
    if (s.value) {
      ::setenv(s.name.c_str(), s.value->c_str(), 1);
    } else {
      ::unsetenv(s.name.c_str());
    }
  }
  ASSERT_TRUE(with_profile.ok()) << with_profile.status().ToString();
  std::vector<Status> skipped;
  auto entries = (*with_profile)->List("", &skipped);
  ASSERT_TRUE(entries.ok()) << entries.status().ToString();
  EXPECT_EQ(entries->size(), 1u);
  ASSERT_TRUE(from_env.ok());
  auto denied = (*from_env)->List("", &skipped);
  EXPECT_EQ(denied.status().code(), StatusCode::kUnauthenticated) << denied.status().ToString();
}

}  // namespace
}  // namespace ward::source
