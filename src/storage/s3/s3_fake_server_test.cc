// The S3 backend against a scripted fake server on loopback: replies a real
// server rarely gives on demand (AccessDenied, clock skew, redirects,
// throttling, a 200 carrying an <Error>, Range ignored, broken pagination),
// and the exact shape of what the client sends.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "storage/retry/retry_backend.h"
#include "storage/s3/client.h"
#include "storage/s3/s3_backend.h"
#include "storage/s3/sigv4.h"

namespace ward::storage::s3 {
namespace {

struct FakeRequest {
  std::string method;
  std::string target;  // path?query, as sent
  std::string head;    // request line and headers
  std::string body;
  bool Has(const std::string& header_line) const {
    return head.find("\r\n" + header_line + "\r\n") != std::string::npos;
  }
};

// Answers each request with whatever the handler returns (a raw HTTP reply).
class FakeS3 {
 public:
  using Handler = std::function<std::string(const FakeRequest&)>;

  explicit FakeS3(Handler handler) : handler_(std::move(handler)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a = {};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(fd_, 16);
    socklen_t len = sizeof a;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    accept_ = std::thread([this] {
      for (int c; (c = ::accept(fd_, nullptr, nullptr)) >= 0;) {
        std::lock_guard lock(mu_);
        conns_.emplace_back([this, c] { Serve(c); });
      }
    });
  }

  ~FakeS3() {
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    accept_.join();
    std::lock_guard lock(mu_);
    for (int c : open_) ::shutdown(c, SHUT_RDWR);
    for (auto& t : conns_) t.join();
  }

  int port() const { return port_; }

  std::string Url(const std::string& bucket_and_prefix) const {
    return "s3:http://127.0.0.1:" + std::to_string(port_) + "/" + bucket_and_prefix;
  }

  std::vector<FakeRequest> requests() {
    std::lock_guard lock(mu_);
    return requests_;
  }

 private:
  void Serve(int c) {
    {
      std::lock_guard lock(mu_);
      open_.push_back(c);
    }
    std::string buf;
    char tmp[65536];
    for (;;) {
      size_t end;
      while ((end = buf.find("\r\n\r\n")) == std::string::npos) {
        ssize_t r = ::recv(c, tmp, sizeof tmp, 0);
        if (r <= 0) goto done;
        buf.append(tmp, static_cast<size_t>(r));
      }
      FakeRequest req;
      req.head = buf.substr(0, end + 2);
      std::string line = req.head.substr(0, req.head.find("\r\n"));
      req.method = line.substr(0, line.find(' '));
      req.target = line.substr(line.find(' ') + 1, line.rfind(' ') - line.find(' ') - 1);
      size_t len = 0;
      size_t cl = req.head.find("Content-Length: ");
      if (cl != std::string::npos) len = std::stoul(req.head.substr(cl + 16));
      while (buf.size() < end + 4 + len) {
        ssize_t r = ::recv(c, tmp, sizeof tmp, 0);
        if (r <= 0) goto done;
        buf.append(tmp, static_cast<size_t>(r));
      }
      req.body = buf.substr(end + 4, len);
      buf.erase(0, end + 4 + len);
      {
        std::lock_guard lock(mu_);
        requests_.push_back(req);
      }
      std::string reply = handler_(req);
      if (reply.empty() || ::send(c, reply.data(), reply.size(), MSG_NOSIGNAL) < 0) break;
    }
  done:
    ::close(c);
  }

  Handler handler_;
  int fd_;
  int port_;
  std::thread accept_;
  std::mutex mu_;
  std::vector<std::thread> conns_;
  std::vector<int> open_;
  std::vector<FakeRequest> requests_;
};

std::string Reply(int status, const std::string& body = "",
                  const std::vector<std::string>& headers = {}) {
  std::string out = "HTTP/1.1 " + std::to_string(status) +
                    " X\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  for (const auto& h : headers) out += h + "\r\n";
  return out + "\r\n" + body;
}

std::string ErrorXml(const std::string& code, const std::string& message = "") {
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>" + code + "</Code><Message>" +
         message + "</Message><RequestId>tx1</RequestId></Error>";
}

bool IsVersioningQuery(const FakeRequest& r) {
  return r.method == "GET" && r.target.find("?versioning") != std::string::npos;
}

std::string Unversioned() {
  return Reply(200, "<VersioningConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"/>");
}

EnvLookup TestEnv(bool with_token = false) {
  return [with_token](const std::string& n) -> std::optional<std::string> {
    if (n == "AWS_ACCESS_KEY_ID") return "AKIDFAKE";
    if (n == "AWS_SECRET_ACCESS_KEY") return "fake/secret+key";
    if (n == "AWS_SESSION_TOKEN" && with_token) return "session-token-xyz";
    return std::nullopt;
  };
}

std::unique_ptr<S3Backend> Open(const FakeS3& server, S3Options o = {}, bool token = false) {
  auto b = OpenS3Backend(server.Url("bkt/pre"), o, TestEnv(token));
  EXPECT_TRUE(b.ok()) << b.status().ToString();
  return std::move(*b);
}

const Handle kSnap{FileType::kSnapshot, std::string(64, 'a')};

struct ErrorCase {
  int status;
  std::string code;
  std::vector<std::string> headers;
  StatusCode want;
  std::string want_in_message;
};

TEST(S3FakeServerTest, ErrorRepliesMapToCodesAndOneLineMessages) {
  std::vector<ErrorCase> cases = {
      {403, "AccessDenied", {}, StatusCode::kPermissionDenied, "bucket policy"},
      {403, "InvalidAccessKeyId", {}, StatusCode::kUnauthenticated, "AWS_ACCESS_KEY_ID"},
      {403, "SignatureDoesNotMatch", {}, StatusCode::kUnauthenticated, "AWS_SECRET_ACCESS_KEY"},
      {400, "ExpiredToken", {}, StatusCode::kUnauthenticated, "AWS_SESSION_TOKEN"},
      {403, "RequestTimeTooSkewed", {}, StatusCode::kFailedPrecondition, "clock"},
      {403, "QuotaExceeded", {}, StatusCode::kResourceExhausted, "quota"},
      {503, "SlowDown", {}, StatusCode::kUnavailable, "busy"},
      {500, "InternalError", {}, StatusCode::kUnavailable, "500 InternalError"},
      {400, "RequestTimeout", {}, StatusCode::kUnavailable, "RequestTimeout"},
      {400, "BadDigest", {}, StatusCode::kUnavailable, "damaged in transit"},
      {409, "OperationAborted", {}, StatusCode::kUnavailable, "409"},
      {429, "", {}, StatusCode::kUnavailable, "429"},
      {502, "", {}, StatusCode::kUnavailable, "502"},
      {301,
       "PermanentRedirect",
       {"x-amz-bucket-region: eu-west-1"},
       StatusCode::kFailedPrecondition,
       "AWS_DEFAULT_REGION=eu-west-1"},
      {400, "AuthorizationHeaderMalformed", {}, StatusCode::kFailedPrecondition, "region"},
      {404, "NoSuchBucket", {}, StatusCode::kNotFound, "ward init"},
      {501, "NotImplemented", {}, StatusCode::kUnimplemented, "501"},
      {412, "PreconditionFailed", {}, StatusCode::kAlreadyExists, "already exists"},
      {405, "", {}, StatusCode::kFailedPrecondition, "405"},
      {418, "Teapot", {}, StatusCode::kFailedPrecondition, "418 Teapot"},
  };
  for (const auto& c : cases) {
    FakeS3 server([&](const FakeRequest& r) {
      if (IsVersioningQuery(r)) return Unversioned();
      return Reply(c.status, c.code.empty() ? "<html>proxy says no</html>" : ErrorXml(c.code),
                   c.headers);
    });
    Status s = Open(server)->Save(kSnap, ToBytes("x"));
    EXPECT_EQ(s.code(), c.want) << c.status << " " << c.code << ": " << s.ToString();
    EXPECT_NE(s.message().find(c.want_in_message), std::string::npos) << s.message();
    EXPECT_NE(s.message().find("pre/snapshots/" + kSnap.name), std::string::npos) << s.message();
    EXPECT_EQ(s.message().find('\n'), std::string::npos);
    EXPECT_EQ(s.message().find("fake/secret+key"), std::string::npos);
  }
}

TEST(S3FakeServerTest, AccessDeniedMessageHasTheDocumentedShape) {
  FakeS3 server([](const FakeRequest& r) {
    if (IsVersioningQuery(r)) return Unversioned();
    return Reply(403, ErrorXml("AccessDenied"));
  });
  Status s = Open(server)->Save(kSnap, ToBytes("x"));
  EXPECT_EQ(s.message(),
            server.Url("bkt/pre") + ": access denied (403 AccessDenied) for PUT pre/snapshots/" +
                kSnap.name +
                ": check AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY and the bucket policy");
  // A server-provided message is quoted; an empty one (RGW) is left out.
  FakeS3 chatty([](const FakeRequest& r) {
    if (IsVersioningQuery(r)) return Unversioned();
    return Reply(403, ErrorXml("AccessDenied", "Explicit deny in a resource policy"));
  });
  EXPECT_NE(Open(chatty)
                ->Save(kSnap, ToBytes("x"))
                .message()
                .find("[Explicit deny in a resource policy]"),
            std::string::npos);
}

TEST(S3FakeServerTest, RequestsAreSignedAndConditional) {
  FakeS3 server([](const FakeRequest& r) {
    if (IsVersioningQuery(r)) return Unversioned();
    return Reply(200);
  });
  ASSERT_TRUE(Open(server, {}, /*token=*/true)->Save(kSnap, ToBytes("hello")).ok());
  auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 2u);
  const FakeRequest& put = reqs[1];
  EXPECT_EQ(put.method, "PUT");
  EXPECT_EQ(put.target, "/bkt/pre/snapshots/" + kSnap.name);
  EXPECT_EQ(put.body, "hello");
  EXPECT_TRUE(put.Has("If-None-Match: *"));
  EXPECT_TRUE(put.Has("x-amz-content-sha256: " + Sha256Hex(AsBytes(std::string_view("hello")))));
  EXPECT_TRUE(put.Has("x-amz-security-token: session-token-xyz"));
  EXPECT_TRUE(put.Has("Host: 127.0.0.1:" + std::to_string(server.port()))) << put.head;
  EXPECT_NE(put.head.find("Authorization: AWS4-HMAC-SHA256 Credential=AKIDFAKE/"),
            std::string::npos);
  EXPECT_NE(put.head.find("/us-east-1/s3/aws4_request, SignedHeaders=host;if-none-match;"
                          "x-amz-content-sha256;x-amz-date;x-amz-security-token, Signature="),
            std::string::npos)
      << put.head;
  EXPECT_EQ(put.head.find("Expect:"), std::string::npos);
  for (const auto& r : reqs) EXPECT_EQ(r.head.find("fake/secret+key"), std::string::npos);

  // Unsigned payloads, when asked for.
  S3Options o;
  o.sign_payload = false;
  ASSERT_TRUE(Open(server, o)->Save(kSnap, ToBytes("hello")).ok());
  EXPECT_TRUE(server.requests().back().Has("x-amz-content-sha256: UNSIGNED-PAYLOAD"));
}

TEST(S3FakeServerTest, LoadCopesWithServersThatIgnoreRangeOrLie) {
  std::string object = "0123456789";
  std::string mode;
  FakeS3 server([&](const FakeRequest&) {
    if (mode == "ignore-range") return Reply(200, object);
    if (mode == "bad-content-range") {
      return Reply(206, object.substr(2, 3), {"Content-Range: bytes 3-5/10"});
    }
    if (mode == "short") return Reply(206, object.substr(8, 2), {"Content-Range: bytes 8-9/10"});
    if (mode == "416") return Reply(416, ErrorXml("InvalidRange"), {"Content-Range: bytes */10"});
    return Reply(500);
  });
  auto b = Open(server);
  mode = "ignore-range";
  EXPECT_EQ(*b->Load(kSnap, 2, 3), ToBytes("234"));
  EXPECT_EQ(*b->Load(kSnap, 7, 0), ToBytes("789"));
  EXPECT_EQ(b->Load(kSnap, 8, 5).status().code(), StatusCode::kOutOfRange);
  mode = "bad-content-range";
  EXPECT_EQ(b->Load(kSnap, 2, 3).status().code(), StatusCode::kUnavailable);
  mode = "short";  // asked for 8+5, got 8-9: never a short read
  EXPECT_EQ(b->Load(kSnap, 8, 5).status().code(), StatusCode::kOutOfRange);
  mode = "416";
  auto r = b->Load(kSnap, 20, 5);
  EXPECT_EQ(r.status().code(), StatusCode::kOutOfRange);
  EXPECT_NE(r.status().message().find("(10 bytes)"), std::string::npos) << r.status().message();
}

TEST(S3FakeServerTest, ListFollowsContinuationTokensAndRefusesToLoop) {
  std::string name1(64, '1'), name2(64, '2');
  std::string token = "1/tok+en=?&";
  bool broken = false;
  FakeS3 server([&](const FakeRequest& r) {
    bool second = r.target.find("continuation-token=") != std::string::npos;
    std::string body = "<ListBucketResult><IsTruncated>" +
                       std::string(second && !broken ? "false" : "true") + "</IsTruncated>";
    body +=
        "<Contents><Key>pre/index/" + (second ? name2 : name1) + "</Key><Size>7</Size></Contents>";
    if (!second) body += "<NextContinuationToken>1/tok+en=?&amp;</NextContinuationToken>";
    body += "</ListBucketResult>";
    return Reply(200, body);
  });
  auto b = Open(server);
  std::vector<std::string> names;
  ASSERT_TRUE(b->List(FileType::kIndex, [&](const FileInfo& fi) {
                 names.push_back(fi.name);
                 EXPECT_EQ(fi.size, 7u);
                 return Status::OK();
               }).ok());
  EXPECT_EQ(names, (std::vector<std::string>{name1, name2}));
  auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_NE(reqs[0].target.find("list-type=2&prefix=pre%2Findex%2F"), std::string::npos)
      << reqs[0].target;
  EXPECT_NE(reqs[1].target.find("continuation-token=" + UriEncode(token, true)), std::string::npos)
      << reqs[1].target;

  // A truncated page without a new token would loop forever: refuse it.
  broken = true;
  Status s = b->List(FileType::kIndex, [](const FileInfo&) { return Status::OK(); });
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_NE(s.message().find("continuation token"), std::string::npos) << s.message();
}

TEST(S3FakeServerTest, MalformedListingsAreTransientErrorsNotCrashes) {
  for (std::string body :
       {std::string("<ListBucketResult><Contents>"), std::string("not xml"),
        std::string("<Other/>"),
        std::string("<ListBucketResult><Contents><Key>pre/index/") + std::string(64, 'a') +
            "</Key><Size>-1</Size></Contents>"
            "</ListBucketResult>"}) {
    FakeS3 server([&](const FakeRequest&) { return Reply(200, body); });
    Status s = Open(server)->List(FileType::kIndex, [](const FileInfo&) { return Status::OK(); });
    EXPECT_EQ(s.code(), StatusCode::kUnavailable) << body;
  }
}

TEST(S3FakeServerTest, MultipartFailuresAbortTheUpload) {
  for (std::string failure : {"part", "complete-200-with-error"}) {
    FakeS3 server([&](const FakeRequest& r) {
      if (IsVersioningQuery(r)) return Unversioned();
      if (r.method == "HEAD") return Reply(404);
      if (r.method == "POST" && r.target.find("?uploads") != std::string::npos) {
        return Reply(200,
                     "<InitiateMultipartUploadResult><UploadId>-up&amp;1</UploadId>"
                     "</InitiateMultipartUploadResult>");
      }
      if (r.method == "PUT" && r.target.find("partNumber=2&") != std::string::npos &&
          failure == "part") {
        return Reply(403, ErrorXml("AccessDenied"));
      }
      if (r.method == "PUT") return Reply(200, "", {"ETag: \"etag\""});
      if (r.method == "POST") {
        // S3 may report a late failure inside a 200 reply.
        return Reply(200, ErrorXml("InternalError"));
      }
      if (r.method == "DELETE") return Reply(204);
      return Reply(500);
    });
    S3Options o;
    o.multipart_threshold = 5 << 20;
    o.part_size = 5 << 20;
    o.connections = 1;
    Status s =
        Open(server, o)->Save(Handle{FileType::kPack, std::string(64, 'b')}, Bytes((12 << 20), 7));
    EXPECT_FALSE(s.ok());
    if (failure == "part") {
      EXPECT_EQ(s.code(), StatusCode::kPermissionDenied) << s.ToString();
      EXPECT_NE(s.message().find("part 2"), std::string::npos) << s.message();
    } else {
      EXPECT_EQ(s.code(), StatusCode::kUnavailable) << s.ToString();
    }
    auto reqs = server.requests();
    ASSERT_FALSE(reqs.empty());
    EXPECT_EQ(reqs.back().method, "DELETE") << failure;
    EXPECT_NE(reqs.back().target.find("uploadId=-up%261"), std::string::npos) << reqs.back().target;
  }
}

TEST(S3FakeServerTest, A412AfterLibcurlSilentlyResentAPutIsNotTakenAtItsWord) {
  // The server stores the first PUT but the connection dies before the reply
  // (a kept-alive connection, so libcurl re-sends the PUT on a fresh one);
  // the second copy then meets the first: 412. That 412 is about our own
  // bytes, and must not become kAlreadyExists.
  std::string stored;
  int puts = 0;
  FakeS3 server([&](const FakeRequest& r) -> std::string {
    if (IsVersioningQuery(r)) return Unversioned();
    if (r.method == "PUT") {
      if (++puts == 1) {
        stored = r.body;
        return "";  // close without a reply
      }
      return Reply(412, ErrorXml("PreconditionFailed"));
    }
    if (r.method == "GET") return Reply(200, stored);
    return Reply(500);
  });
  auto direct = Open(server);
  Status s = direct->Save(kSnap, ToBytes("mine"));
  EXPECT_EQ(s.code(), StatusCode::kUnavailable) << s.ToString();
  EXPECT_NE(s.message().find("possibly repeated"), std::string::npos) << s.message();
  EXPECT_EQ(puts, 2) << "libcurl did not re-send: the scenario was not staged";

  // Through the retry wrapper: the next attempt's plain 412 leads to a
  // comparison with the stored bytes, which are ours.
  puts = 0;
  RetryOptions ro;
  ro.sleep = [](std::chrono::milliseconds) {};
  RetryBackend wrapped(Open(server), ro);
  EXPECT_TRUE(wrapped.Save(kSnap, ToBytes("mine")).ok());
  // Someone else's save of other bytes under that name still fails.
  RetryBackend other(Open(server), ro);
  EXPECT_EQ(other.Save(kSnap, ToBytes("theirs")).code(), StatusCode::kAlreadyExists);
}

TEST(S3FakeServerTest, RetryWrapperRetriesThrottlingButNotDenial) {
  int puts = 0;
  FakeS3 server([&](const FakeRequest& r) {
    if (IsVersioningQuery(r)) return Unversioned();
    if (r.method == "PUT" && ++puts <= 2) return Reply(503, ErrorXml("SlowDown"));
    return Reply(200);
  });
  int sleeps = 0;
  RetryOptions ro;
  ro.sleep = [&](std::chrono::milliseconds) { ++sleeps; };
  RetryBackend b(Open(server), ro);
  EXPECT_TRUE(b.Save(kSnap, ToBytes("x")).ok());
  EXPECT_EQ(puts, 3);
  EXPECT_EQ(sleeps, 2);
}


// The client sends no Content-Type of its own (libcurl would add one to a
// POST), but keeps one the caller sets, signed like every other header.
TEST(S3FakeServerTest, ClientSendsTheCallersContentTypeAndNoneOtherwise) {
  FakeS3 server([](const FakeRequest&) { return Reply(200); });
  ClientConfig cc;
  cc.scheme = "http";
  cc.host = "127.0.0.1";
  cc.port = server.port();
  cc.credentials.access_key_id = "AKIDFAKE";
  cc.credentials.secret_access_key = "fake/secret+key";
  auto client = S3Client::Create(cc);
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  S3Request put;
  put.method = "PUT";
  put.bucket = "bkt";
  put.key = "k";
  put.body = AsBytes(std::string_view("x"));
  put.headers.emplace_back("content-type", "text/x-ward; charset=utf-8");
  ASSERT_TRUE((*client)->Send(put).ok());
  S3Request post;
  post.method = "POST";
  post.bucket = "bkt";
  post.key = "k";
  post.query.emplace_back("uploads", "");
  ASSERT_TRUE((*client)->Send(post).ok());
  auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_TRUE(reqs[0].Has("content-type: text/x-ward; charset=utf-8")) << reqs[0].head;
  EXPECT_NE(reqs[0].head.find("SignedHeaders=content-type;host;"), std::string::npos) << reqs[0].head;
  auto lower = [](std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  };
  std::string first = lower(reqs[0].head);
  EXPECT_EQ(first.find("content-type:"), first.rfind("content-type:")) << "sent twice: " << reqs[0].head;
  EXPECT_EQ(lower(reqs[1].head).find("content-type"), std::string::npos) << reqs[1].head;
}

// Object keys may contain "." and ".." segments; libcurl must not resolve
// them away (the request would name another object, and its signature would
// not match).
TEST(S3FakeServerTest, ClientSendsDotSegmentsOfKeysAsTheyAre) {
  FakeS3 server([](const FakeRequest&) { return Reply(200, "x"); });
  ClientConfig cc;
  cc.scheme = "http";
  cc.host = "127.0.0.1";
  cc.port = server.port();
  cc.credentials.access_key_id = "AKIDFAKE";
  cc.credentials.secret_access_key = "fake/secret+key";
  auto client = S3Client::Create(cc);
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  for (const std::string key : {"x/../y", "./a", "b/.", "c/./../d"}) {
    S3Request get;
    get.bucket = "bkt";
    get.key = key;
    ASSERT_TRUE((*client)->Send(get).ok());
    EXPECT_EQ(server.requests().back().target, "/bkt/" + key);
  }
}

}  // namespace
}  // namespace ward::storage::s3
