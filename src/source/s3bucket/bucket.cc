#include "source/s3bucket/bucket.h"

#include <openssl/evp.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <ctime>
#include <thread>

#include <fmt/format.h>

#include "base/time.h"
#include "storage/s3/sigv4.h"
#include "storage/s3/xml.h"

namespace ward::source::s3bucket {

using storage::s3::ParseS3Error;
using storage::s3::S3Client;
using storage::s3::S3Error;
using storage::s3::S3Request;
using storage::s3::S3Response;
using storage::s3::XmlElement;

namespace {

constexpr const char* kCredentialsHint = "check AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (or AWS_PROFILE) and the bucket policy";

bool ParseU64(std::string_view s, uint64_t* out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

// "bytes 100-199/1000" -> first, last, total.
bool ParseContentRange(std::string_view v, uint64_t* first, uint64_t* last, uint64_t* total) {
  if (v.substr(0, 6) != "bytes ") return false;
  v.remove_prefix(6);
  size_t dash = v.find('-'), slash = v.find('/');
  if (dash == std::string_view::npos || slash == std::string_view::npos || slash < dash) return false;
  return ParseU64(v.substr(0, dash), first) && ParseU64(v.substr(dash + 1, slash - dash - 1), last) &&
         ParseU64(v.substr(slash + 1), total) && *first <= *last && *last < *total;
}

bool IsTransient(const S3Response& r) {
  if (r.status >= 500 || r.status == 429 || r.status == 408) return true;
  if (r.status < 400) return false;
  static const char* const kCodes[] = {"SlowDown",       "ServiceUnavailable", "Throttling",
                                       "RequestLimitExceeded", "TooManyRequests", "InternalError",
                                       "RequestTimeout", "OperationAborted",   "BadDigest",
                                       "XAmzContentSHA256Mismatch", "IncompleteBody"};
  std::string code = ParseS3Error(r).code;
  return std::any_of(std::begin(kCodes), std::end(kCodes), [&](const char* c) { return code == c; });
}

std::string Quote(const std::string& etag) { return "\"" + etag + "\""; }

}  // namespace

const std::vector<std::string>& SystemHeaders() {
  static const std::vector<std::string> kHeaders = {
      "cache-control",    "content-disposition", "content-encoding",
      "content-language", "expires",             "x-amz-website-redirect-location"};
  return kHeaders;
}

std::string NormalizeEtag(std::string_view etag) {
  std::string out(etag);
  if (out.size() >= 2 && out.front() == '"' && out.back() == '"') out = out.substr(1, out.size() - 2);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

Bytes Md5(ByteView data) {
  Bytes out(16);
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_md5(), nullptr);
  return out;
}

std::string Md5Hex(ByteView data) { return HexEncode(Md5(data)); }

Md5Stream::Md5Stream() : ctx_(EVP_MD_CTX_new()) {
  EVP_DigestInit_ex(static_cast<EVP_MD_CTX*>(ctx_), EVP_md5(), nullptr);
}
Md5Stream::~Md5Stream() { EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(ctx_)); }
void Md5Stream::Update(ByteView data) { EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(ctx_), data.data(), data.size()); }
Bytes Md5Stream::Finish() {
  Bytes out(16);
  unsigned int len = 0;
  EVP_DigestFinal_ex(static_cast<EVP_MD_CTX*>(ctx_), out.data(), &len);
  return out;
}

std::string MultipartEtag(const std::vector<Bytes>& part_md5s) {
  Md5Stream all;
  for (const Bytes& m : part_md5s) all.Update(m);
  return HexEncode(all.Finish()) + "-" + std::to_string(part_md5s.size());
}

Result<int64_t> ParseHttpDate(std::string_view text) {
  // IMF-fixdate, the only form S3 servers send: "Sun, 06 Nov 1994 08:49:37 GMT".
  static const char* const kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  auto bad = [&] { return InvalidArgumentError("not an HTTP date: '" + std::string(text) + "'"); };
  if (text.size() != 29 || text.substr(25) != " GMT" || text[3] != ',') return bad();
  auto num = [&](size_t pos, size_t len, int* out) {
    uint64_t v = 0;
    if (!ParseU64(text.substr(pos, len), &v)) return false;
    *out = static_cast<int>(v);
    return true;
  };
  struct tm tm = {};
  int mon = -1;
  for (int i = 0; i < 12; ++i) {
    if (text.substr(8, 3) == kMonths[i]) mon = i;
  }
  int year = 0;
  if (mon < 0 || !num(5, 2, &tm.tm_mday) || !num(12, 4, &year) || !num(17, 2, &tm.tm_hour) ||
      !num(20, 2, &tm.tm_min) || !num(23, 2, &tm.tm_sec)) {
    return bad();
  }
  tm.tm_mon = mon;
  tm.tm_year = year - 1900;
  return static_cast<int64_t>(timegm(&tm)) * 1000000000;
}

Status BucketOptions::Validate() const {
  if (connections < 1 || connections > 256) {
    return InvalidArgumentError(fmt::format("S3 connections must be 1..256, not {}", connections));
  }
  if (max_attempts < 1) return InvalidArgumentError("S3 request attempts must be at least 1");
  if (connect_timeout_seconds < 1 || low_speed_seconds < 1) {
    return InvalidArgumentError("S3 timeouts must be at least one second");
  }
  return Status::OK();
}

Bucket::Bucket(storage::s3::S3Url url, BucketOptions options, std::unique_ptr<S3Client> client)
    : url_(std::move(url)), options_(std::move(options)), client_(std::move(client)), rng_(std::random_device{}()) {}

Bucket::~Bucket() = default;

int64_t Bucket::requests() const { return requests_.load(); }

Result<std::unique_ptr<Bucket>> Bucket::Open(const storage::s3::S3Url& url, const BucketOptions& options,
                                             const storage::s3::Credentials& credentials,
                                             const std::string& region) {
  WARD_RETURN_IF_ERROR(options.Validate());
  storage::s3::ClientConfig cc;
  cc.region = options.region.empty() ? region : options.region;
  if (cc.region.empty()) cc.region = "us-east-1";
  if (url.aws) {
    cc.scheme = "https";
    cc.host = "s3." + cc.region + ".amazonaws.com";
    // A dotted bucket name does not match the *.s3 TLS certificate.
    cc.virtual_host = url.bucket.find('.') == std::string::npos;
  } else {
    cc.scheme = url.scheme;
    cc.host = url.host;
    cc.port = url.port;
    cc.virtual_host = options.virtual_host;
  }
  cc.credentials = credentials;
  cc.connections = options.connections;
  cc.connect_timeout_seconds = options.connect_timeout_seconds;
  cc.low_speed_seconds = options.low_speed_seconds;
  cc.ca_file = options.ca_file;
  cc.connect_address = options.connect_address;
  auto client = S3Client::Create(std::move(cc));
  if (!client.ok()) return client.status().WithContext(url.ToString());
  return std::unique_ptr<Bucket>(new Bucket(url, options, std::move(*client)));
}

Result<std::unique_ptr<Bucket>> OpenBucket(std::string_view url, const BucketOptions& options,
                                           const storage::s3::EnvLookup& env) {
  WARD_ASSIGN_OR_RETURN(storage::s3::S3Url parsed, storage::s3::ParseS3Url(url));
  auto creds = storage::s3::LoadCredentials(env);
  if (!creds.ok()) return creds.status().WithContext(parsed.ToString());
  return Bucket::Open(parsed, options, *creds, storage::s3::LoadRegion(env));
}

std::chrono::milliseconds Bucket::Backoff(int retry) {
  int64_t ceiling = options_.retry_base.count();
  for (int i = 0; i < retry && ceiling < options_.retry_cap.count(); ++i) ceiling *= 2;
  ceiling = std::min<int64_t>(ceiling, options_.retry_cap.count());
  std::lock_guard lock(rng_mu_);
  return std::chrono::milliseconds(std::uniform_int_distribution<int64_t>(0, std::max<int64_t>(ceiling, 0))(rng_));
}

Result<S3Response> Bucket::Call(const S3Request& req) {
  for (int attempt = 1;; ++attempt) {
    requests_++;
    auto r = client_->Send(req);
    bool transient = r.ok() ? IsTransient(*r) : r.status().code() == StatusCode::kUnavailable;
    if (!transient || attempt >= options_.max_attempts) {
      if (!r.ok()) {
        std::string tail = attempt > 1 ? fmt::format(" (gave up after {} attempts)", attempt) : "";
        return Status(r.status().code(), Location() + ": " + r.status().message() + tail);
      }
      return r;
    }
    std::this_thread::sleep_for(Backoff(attempt - 1));
  }
}

Status Bucket::MapError(const std::string& method, const std::string& key, const S3Response& r,
                        const std::string& storage_class) const {
  S3Error e = ParseS3Error(r);
  const long st = r.status;
  const std::string& code = e.code;
  StatusCode sc = StatusCode::kUnknown;
  std::string what, hint;
  auto set = [&](StatusCode c, std::string w, std::string h = "") {
    sc = c;
    what = std::move(w);
    hint = std::move(h);
  };
  if (code == "SlowDown" || code == "ServiceUnavailable" || code == "Throttling" ||
      code == "RequestLimitExceeded" || code == "TooManyRequests" || st == 429 || st == 503) {
    set(StatusCode::kUnavailable, "the server is busy", "try again later");
  } else if (code == "BadDigest" || code == "XAmzContentSHA256Mismatch" || code == "IncompleteBody") {
    set(StatusCode::kUnavailable, "the body was damaged in transit (the server's checksum does not match)");
  } else if (code == "InvalidAccessKeyId") {
    set(StatusCode::kUnauthenticated, "the server does not know the access key",
        "check AWS_ACCESS_KEY_ID (or the profile in ~/.aws/credentials)");
  } else if (code == "SignatureDoesNotMatch") {
    set(StatusCode::kUnauthenticated, "the request signature does not match",
        "check AWS_SECRET_ACCESS_KEY (or the profile in ~/.aws/credentials)");
  } else if (code == "ExpiredToken" || code == "InvalidToken" || code == "TokenRefreshRequired") {
    set(StatusCode::kUnauthenticated, "the session token is invalid or has expired", "refresh AWS_SESSION_TOKEN");
  } else if (code == "RequestTimeTooSkewed") {
    set(StatusCode::kFailedPrecondition, "this machine's clock is too far from the server's",
        "check the system clock (NTP)");
  } else if (code == "NoSuchBucket" || (st == 404 && method == "HEAD" && key.empty())) {
    set(StatusCode::kNotFound, "the bucket does not exist", "check the bucket name in the URL");
  } else if (code == "AuthorizationHeaderMalformed" || code == "PermanentRedirect" || st == 301 || st == 307) {
    std::string region = r.Header("x-amz-bucket-region").value_or("");
    set(StatusCode::kFailedPrecondition, "the bucket is in another region",
        region.empty() ? "set AWS_DEFAULT_REGION to the bucket's region" : "set AWS_DEFAULT_REGION=" + region);
  } else if (code == "InvalidStorageClass" ||
             (!storage_class.empty() && st == 400 && code == "InvalidArgument")) {
    // RGW answers an unknown class with a bare 400 InvalidArgument.
    set(StatusCode::kInvalidArgument, "the server refused storage class '" + storage_class + "'",
        "choose a storage class the server offers with --storage-class (Ceph RGW and MinIO offer STANDARD "
        "unless configured otherwise)");
  } else if (code == "InvalidObjectState") {
    set(StatusCode::kFailedPrecondition, "the object is archived",
        "restore it from its archive storage class (S3 RestoreObject) before backing it up");
  } else if (code == "QuotaExceeded") {
    set(StatusCode::kResourceExhausted, "the bucket or user quota is exceeded", "raise the quota");
  } else if (code == "AccessDenied" || code == "AllAccessDisabled" || code == "AccountProblem" || st == 403) {
    set(StatusCode::kPermissionDenied, "access denied", kCredentialsHint);
  } else if (st == 401) {
    set(StatusCode::kUnauthenticated, "authentication failed", kCredentialsHint);
  } else if (code == "NoSuchKey" || st == 404) {
    set(StatusCode::kNotFound, "no such object");
  } else if (st == 412) {
    set(StatusCode::kFailedPrecondition, "the object changed (precondition failed)");
  } else if (code == "NotImplemented" || st == 501) {
    set(StatusCode::kUnimplemented, "the server does not implement this request",
        "the S3 server lacks a feature ward needs");
  } else if (st >= 500 || st == 408) {
    set(StatusCode::kUnavailable, "server error", "try again later");
  } else if (st >= 400) {
    set(StatusCode::kFailedPrecondition, "the server refused the request",
        "the S3 server may be incompatible; see docs/s3.md");
  } else {
    set(StatusCode::kUnknown, "unexpected reply", "the S3 server may be incompatible");
  }
  std::string msg = Location() + ": " + what + " (" + std::to_string(st);
  if (!code.empty()) msg += " " + code;
  msg += ") for " + method + " " + (key.empty() ? url_.bucket : key);
  if (!e.message.empty() && e.message.size() < 200) msg += " [" + e.message + "]";
  if (!hint.empty()) msg += ": " + hint;
  return Status(sc, msg);
}

Status Bucket::Check() {
  S3Request req;
  req.method = "HEAD";
  req.bucket = url_.bucket;
  WARD_ASSIGN_OR_RETURN(S3Response r, Call(req));
  if (r.status == 200) return Status::OK();
  return MapError("HEAD", "", r);
}

Status Bucket::List(const std::string& prefix, const std::function<Status(ListedObject)>& fn) {
  storage::s3::ListObjectsRequest list;
  list.bucket = url_.bucket;
  list.prefix = prefix;
  list.url_encoding = true;
  list.max_body = 64 << 20;
  list.what = Location() + ": listing " + (prefix.empty() ? std::string("the bucket") : prefix);
  list.send = [this](const S3Request& req) { return Call(req); };
  list.refused = [&](const S3Response& r) { return MapError("GET", "?list-type=2&prefix=" + prefix, r); };
  return storage::s3::ListObjectsV2(list, [&](const XmlElement& c, const std::string& key) -> Status {
    ListedObject o;
    o.key = key;
    if (o.key.compare(0, prefix.size(), prefix) != 0) {
      return UnavailableError(list.what + ": the server listed '" + o.key + "', which is outside the prefix");
    }
    if (!ParseU64(c.ChildText("Size"), &o.size)) return UnavailableError(list.what + ": bad <Size> for " + o.key);
    o.etag = NormalizeEtag(c.ChildText("ETag"));
    auto t = ParseTime(c.ChildText("LastModified"));
    if (!t.ok()) return UnavailableError(list.what + ": bad <LastModified> for " + o.key);
    o.mtime_ns = *t;
    o.storage_class = c.ChildText("StorageClass");
    if (o.storage_class.empty()) o.storage_class = "STANDARD";
    return fn(std::move(o));
  });
}

Result<bool> Bucket::AnyUnder(const std::string& prefix) {
  S3Request req;
  req.bucket = url_.bucket;
  req.query = {{"list-type", "2"}, {"max-keys", "1"}};
  if (!prefix.empty()) req.query.emplace_back("prefix", prefix);
  WARD_ASSIGN_OR_RETURN(S3Response r, Call(req));
  if (r.status != 200) return MapError("GET", "?list-type=2&prefix=" + prefix, r);
  auto doc = storage::s3::ParseXml(AsString(r.body));
  if (!doc.ok()) return UnavailableError(Location() + ": listing " + prefix + ": " + doc.status().message());
  return !doc->Children("Contents").empty();
}

Result<ObjectHead> Bucket::Head(const std::string& key, const std::string& version_id) {
  S3Request req;
  req.method = "HEAD";
  req.bucket = url_.bucket;
  req.key = key;
  if (!version_id.empty()) req.query.emplace_back("versionId", version_id);
  WARD_ASSIGN_OR_RETURN(S3Response r, Call(req));
  if (r.status == 404) return NotFoundError(Location() + ": " + key + " does not exist");
  if (r.status != 200) return MapError("HEAD", key, r);
  ObjectHead h;
  if (!ParseU64(r.Header("content-length").value_or(""), &h.size)) {
    return UnavailableError(Location() + ": HEAD " + key + ": the reply has no Content-Length");
  }
  h.etag = NormalizeEtag(r.Header("etag").value_or(""));
  if (auto lm = r.Header("last-modified")) {
    auto t = ParseHttpDate(*lm);
    if (t.ok()) h.mtime_ns = *t;
  }
  h.content_type = r.Header("content-type").value_or("");
  h.version_id = r.Header("x-amz-version-id").value_or("");
  if (h.version_id == "null") h.version_id.clear();
  h.storage_class = r.Header("x-amz-storage-class").value_or("");
  h.sse = r.Header("x-amz-server-side-encryption").value_or("");
  h.restore = r.Header("x-amz-restore").value_or("");
  for (const auto& [name, value] : r.headers) {
    if (name.rfind("x-amz-meta-", 0) == 0 && name.size() > 11) {
      h.meta.emplace_back(name.substr(11), value);
    } else if (std::find(SystemHeaders().begin(), SystemHeaders().end(), name) != SystemHeaders().end()) {
      h.system.emplace_back(name, value);
    }
  }
  std::sort(h.meta.begin(), h.meta.end());
  std::sort(h.system.begin(), h.system.end());
  return h;
}

Result<Bytes> Bucket::Get(const std::string& key, const std::string& etag, const std::string& version_id,
                          uint64_t offset, uint64_t length, uint64_t total) {
  S3Request req;
  req.bucket = url_.bucket;
  req.key = key;
  if (!version_id.empty()) req.query.emplace_back("versionId", version_id);
  if (!etag.empty()) req.headers.emplace_back("If-Match", Quote(etag));
  const bool whole = offset == 0 && length == total;
  if (!whole) {
    if (length == 0) return Bytes();
    req.headers.emplace_back("Range", fmt::format("bytes={}-{}", offset, offset + length - 1));
  }
  req.max_body = std::max<uint64_t>(length, 1);
  std::string what = "GET " + key;
  WARD_ASSIGN_OR_RETURN(S3Response r, Call(req));
  auto changed = [&](const std::string& why) {
    return FailedPreconditionError(Location() + ": " + key + " changed after it was listed (" + why +
                                   "): it is left out of this snapshot; the next backup takes it");
  };
  if (r.status == 412) return changed("its ETag is no longer " + etag);
  if (r.status == 404 && ParseS3Error(r).code != "NoSuchBucket") {
    return NotFoundError(Location() + ": " + key +
                         " was deleted after it was listed: it is left out of this snapshot");
  }
  if (r.status != 200 && r.status != 206) return MapError("GET", key, r);
  if (!etag.empty()) {
    std::string got = NormalizeEtag(r.Header("etag").value_or(""));
    if (!got.empty() && got != etag) return changed("the server sent ETag " + got);
  }
  if (whole) {
    if (r.status != 200 || r.body.size() != total) {
      return changed(fmt::format("{} bytes instead of {}", r.body.size(), total));
    }
    return std::move(r.body);
  }
  if (r.status != 206) {
    return FailedPreconditionError(Location() + ": GET " + key +
                                   ": the server ignored the Range header; ward reads large objects in ranges");
  }
  uint64_t first = 0, last = 0, size = 0;
  if (!ParseContentRange(r.Header("content-range").value_or(""), &first, &last, &size) || first != offset ||
      r.body.size() != last - first + 1) {
    return UnavailableError(Location() + ": GET " + key + ": the reply's Content-Range does not match its body");
  }
  if (size != total) return changed(fmt::format("{} bytes instead of {}", size, total));
  if (last + 1 != offset + length) {
    return UnavailableError(Location() + ": GET " + key + ": the server sent a shorter range than asked for");
  }
  return std::move(r.body);
}

Result<PutResult> Bucket::Put(const std::string& key, ByteView data, const HeaderList& headers) {
  S3Request req;
  req.method = "PUT";
  req.bucket = url_.bucket;
  req.key = key;
  req.body = data;
  req.headers = headers;
  req.headers.emplace_back("Content-MD5", storage::s3::ContentMd5(data));
  std::string storage_class;
  for (const auto& [n, v] : headers) {
    if (n == "x-amz-storage-class") storage_class = v;
  }
  WARD_ASSIGN_OR_RETURN(S3Response r, Call(req));
  if (r.status != 200) return MapError("PUT", key, r, storage_class);
  PutResult out;
  out.etag = NormalizeEtag(r.Header("etag").value_or(""));
  out.sse = r.Header("x-amz-server-side-encryption").value_or("");
  return out;
}

Result<std::string> Bucket::CreateMultipart(const std::string& key, const HeaderList& headers) {
  S3Request req;
  req.method = "POST";
  req.bucket = url_.bucket;
  req.key = key;
  req.query.emplace_back("uploads", "");
  req.headers = headers;
  std::string storage_class;
  for (const auto& [n, v] : headers) {
    if (n == "x-amz-storage-class") storage_class = v;
  }
  WARD_ASSIGN_OR_RETURN(S3Response r, Call(req));
  if (r.status != 200) return MapError("POST", key + "?uploads", r, storage_class);
  auto doc = storage::s3::ParseXml(AsString(r.body));
  std::string id = doc.ok() ? doc->ChildText("UploadId") : "";
  if (id.empty()) return UnavailableError(Location() + ": POST " + key + "?uploads: the reply has no UploadId");
  return id;
}

Result<std::string> Bucket::UploadPart(const std::string& key, const std::string& upload_id, int part_number,
                                       ByteView data) {
  S3Request req;
  req.method = "PUT";
  req.bucket = url_.bucket;
  req.key = key;
  req.query.emplace_back("partNumber", std::to_string(part_number));
  req.query.emplace_back("uploadId", upload_id);
  req.body = data;
  req.headers.emplace_back("Content-MD5", storage::s3::ContentMd5(data));
  std::string what = key + " part " + std::to_string(part_number);
  WARD_ASSIGN_OR_RETURN(S3Response r, Call(req));
  if (r.status != 200) return MapError("PUT", what, r);
  std::string etag = NormalizeEtag(r.Header("etag").value_or(""));
  if (etag.empty()) return UnavailableError(Location() + ": PUT " + what + ": the reply has no ETag");
  return etag;
}

Status Bucket::CompleteMultipart(const std::string& key, const std::string& upload_id,
                                 const std::vector<std::string>& part_etags) {
  std::string body = "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">";
  for (size_t i = 0; i < part_etags.size(); ++i) {
    body += "<Part><PartNumber>" + std::to_string(i + 1) + "</PartNumber><ETag>" +
            storage::s3::XmlEscape(Quote(part_etags[i])) + "</ETag></Part>";
  }
  body += "</CompleteMultipartUpload>";
  S3Request req;
  req.method = "POST";
  req.bucket = url_.bucket;
  req.key = key;
  req.query.emplace_back("uploadId", upload_id);
  req.body = AsBytes(body);
  WARD_ASSIGN_OR_RETURN(S3Response r, Call(req));
  if (r.status != 200) return MapError("POST", key + "?uploadId", r);
  // A 200 reply may still carry an <Error> (S3 reports late failures so).
  auto doc = storage::s3::ParseXml(AsString(r.body));
  if (!doc.ok()) {
    return UnavailableError(Location() + ": POST " + key + "?uploadId: unreadable reply (" +
                            doc.status().message() + ")");
  }
  if (doc->name == "Error") {
    S3Response as_error = r;
    as_error.status = 500;
    return MapError("POST", key + "?uploadId", as_error);
  }
  return Status::OK();
}

Status Bucket::AbortMultipart(const std::string& key, const std::string& upload_id) {
  S3Request req;
  req.method = "DELETE";
  req.bucket = url_.bucket;
  req.key = key;
  req.query.emplace_back("uploadId", upload_id);
  WARD_ASSIGN_OR_RETURN(S3Response r, Call(req));
  if (r.status == 204 || r.status == 200 || r.status == 404) return Status::OK();
  return MapError("DELETE", key + "?uploadId", r);
}

}  // namespace ward::source::s3bucket
