#include "storage/s3/s3_backend.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <mutex>
#include <thread>
#include <vector>

#include "storage/layout.h"
#include "storage/s3/client.h"
#include "storage/s3/xml.h"

namespace ward::storage::s3 {

namespace {

constexpr uint64_t kMinPartSize = 5ull << 20;    // S3's minimum for all parts but the last
constexpr uint64_t kMaxParts = 10000;            // S3's maximum number of parts
constexpr uint64_t kMaxObjectLoad = 8ull << 30;  // sanity bound on one reply

constexpr const char* kCredentialsHint =
    "check AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY and the bucket policy";

Status CheckHandle(const Handle& h) {
  if (h.type != FileType::kConfig && !IsValidName(h.name)) {
    return InvalidArgumentError("invalid object name '" + h.name + "'");
  }
  return Status::OK();
}

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
  if (dash == std::string_view::npos || slash == std::string_view::npos || slash < dash) {
    return false;
  }
  return ParseU64(v.substr(0, dash), first) &&
         ParseU64(v.substr(dash + 1, slash - dash - 1), last) &&
         ParseU64(v.substr(slash + 1), total) && *first <= *last && *last < *total;
}

std::string RetentionXml(LockMode mode, UnixNanos until) {
  return std::string("<Retention xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Mode>") +
         LockModeName(mode) + "</Mode><RetainUntilDate>" +
         FormatRfc3339(until / 1000000000 * 1000000000) + "</RetainUntilDate></Retention>";
}

}  // namespace

const char* LockModeName(LockMode m) {
  switch (m) {
    case LockMode::kNone:
      return "";
    case LockMode::kGovernance:
      return "GOVERNANCE";
    case LockMode::kCompliance:
      return "COMPLIANCE";
  }
  return "";
}

Result<LockMode> ParseLockMode(std::string_view text) {
  std::string t(text);
  for (char& c : t) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  if (t == "GOVERNANCE") return LockMode::kGovernance;
  if (t == "COMPLIANCE") return LockMode::kCompliance;
  return InvalidArgumentError("object lock mode '" + std::string(text) +
                              "' is not known: use COMPLIANCE or GOVERNANCE");
}

Status S3Backend::ApplySettings(const StorageSettings& settings) {
  S3Options next = options_;
  next.lock_mode = LockMode::kNone;
  if (!settings.lock_mode.empty()) {
    WARD_ASSIGN_OR_RETURN(next.lock_mode, ParseLockMode(settings.lock_mode));
  }
  next.lock_days = next.lock_mode == LockMode::kNone ? 0 : settings.lock_days;
  next.storage_class = settings.storage_class;
  next.append_only = settings.append_only;
  WARD_RETURN_IF_ERROR(next.Validate());
  options_ = next;
  return Status::OK();
}

Status S3Options::Validate() const {
  if (connections < 1 || connections > 256) {
    return InvalidArgumentError(fmt::format("S3 connections must be 1..256, not {}", connections));
  }
  if (lock_mode != LockMode::kNone && (lock_days < 1 || lock_days > 36500)) {
    return InvalidArgumentError(
        fmt::format("object lock needs a retention of 1..36500 days, not {}", lock_days));
  }
  if (lock_mode == LockMode::kNone && lock_days != 0) {
    return InvalidArgumentError(
        "object lock days given without a lock mode (COMPLIANCE or "
        "GOVERNANCE)");
  }
  for (char c : storage_class) {
    if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) {
      return InvalidArgumentError("storage class '" + storage_class +
                                  "' is not of the form STANDARD_IA, GLACIER_IR, ...");
    }
  }
  if (part_size < kMinPartSize || part_size > (5ull << 30)) {
    return InvalidArgumentError(
        fmt::format("S3 part size must be between 5 MiB and 5 GiB, not {}", part_size));
  }
  if (multipart_threshold < part_size) {
    return InvalidArgumentError("the S3 multipart threshold must not be below the part size");
  }
  if (connect_timeout_seconds < 1 || low_speed_seconds < 1) {
    return InvalidArgumentError("S3 timeouts must be at least one second");
  }
  return Status::OK();
}

S3Backend::S3Backend(S3Url url, S3Options options, std::unique_ptr<S3Client> client)
    : url_(std::move(url)), options_(std::move(options)), client_(std::move(client)) {
  key_prefix_ = url_.prefix.empty() ? "" : url_.prefix + "/";
}

S3Backend::~S3Backend() = default;

std::string S3Backend::Location() const { return url_.ToString(); }

int S3Backend::Concurrency() const { return options_.connections; }

std::string S3Backend::Key(const Handle& h) const { return key_prefix_ + LayoutPath(h); }

// Turns a reply that is not a success into a final or transient Status with a
// one-line message: "<repo>: <what> (<status> <code>) for <method> <key>: <hint>".
Status S3Backend::MapError(const std::string& method, const std::string& key,
                           const S3Response& r) const {
  S3Error e = ParseS3Error(r);
  const long st = r.status;
  std::string code = e.code;
  StatusCode sc = StatusCode::kUnknown;
  std::string what, hint;

  auto set = [&](StatusCode c, std::string w, std::string h = "") {
    sc = c;
    what = std::move(w);
    hint = std::move(h);
  };

  if (code == "SlowDown" || code == "ServiceUnavailable" || code == "Throttling" ||
      code == "RequestLimitExceeded" || code == "TooManyRequests") {
    set(StatusCode::kUnavailable, "server is busy", "retrying with backoff");
  } else if (code == "InternalError" || code == "RequestTimeout" || code == "OperationAborted" ||
             code == "ConditionalRequestConflict") {
    set(StatusCode::kUnavailable, "transient server failure");
  } else if (code == "BadDigest" || code == "XAmzContentSHA256Mismatch" ||
             code == "IncompleteBody") {
    set(StatusCode::kUnavailable, "the body was damaged in transit");
  } else if (code == "InvalidAccessKeyId") {
    set(StatusCode::kUnauthenticated, "the server does not know the access key",
        "check AWS_ACCESS_KEY_ID (or the profile in ~/.aws/credentials)");
  } else if (code == "SignatureDoesNotMatch") {
    set(StatusCode::kUnauthenticated, "the request signature does not match",
        "check AWS_SECRET_ACCESS_KEY (or the profile in ~/.aws/credentials)");
  } else if (code == "ExpiredToken" || code == "InvalidToken" || code == "TokenRefreshRequired") {
    set(StatusCode::kUnauthenticated, "the session token is invalid or has expired",
        "refresh AWS_SESSION_TOKEN");
  } else if (code == "RequestTimeTooSkewed") {
    set(StatusCode::kFailedPrecondition, "this machine's clock is too far from the server's",
        "check the system clock (NTP)");
  } else if (code == "QuotaExceeded") {
    set(StatusCode::kResourceExhausted, "the bucket or user quota is exceeded",
        "raise the quota or run `ward prune`");
  } else if (code == "NoSuchBucket") {
    set(StatusCode::kNotFound, "the bucket does not exist",
        "check the repository URL, or run `ward init` to create it");
  } else if (code == "AuthorizationHeaderMalformed" || code == "PermanentRedirect" || st == 301 ||
             st == 307) {
    std::string region = r.Header("x-amz-bucket-region").value_or("");
    set(StatusCode::kFailedPrecondition, "the bucket is in another region",
        region.empty() ? "set AWS_DEFAULT_REGION to the bucket's region"
                       : "set AWS_DEFAULT_REGION=" + region);
  } else if (code == "InvalidStorageClass") {
    set(StatusCode::kInvalidArgument,
        "the server does not know storage class '" + options_.storage_class + "'",
        "choose a storage class the server offers (--storage-class)");
  } else if (code == "InvalidBucketState" || code == "ObjectLockConfigurationNotFoundError" ||
             (code == "InvalidRequest" && options_.lock_mode != LockMode::kNone)) {
    set(StatusCode::kFailedPrecondition, "Object Lock is not enabled on the bucket",
        "use a bucket created with Object Lock, or drop the object lock option");
  } else if (code == "EntityTooLarge" || code == "EntityTooSmall" || code == "InvalidPart" ||
             code == "InvalidPartOrder" || code == "InvalidArgument" || code == "InvalidRequest") {
    set(StatusCode::kInvalidArgument, "the server rejected the request");
  } else if (code == "AccessDenied" || code == "AllAccessDisabled" || code == "AccountProblem") {
    set(StatusCode::kPermissionDenied, "access denied", kCredentialsHint);
  } else if (code == "NotImplemented" || st == 501) {
    set(StatusCode::kUnimplemented, "the server does not implement this request",
        "the S3 server lacks a feature ward needs");
  } else if (st == 401) {
    set(StatusCode::kUnauthenticated, "authentication failed", kCredentialsHint);
  } else if (st == 403) {
    set(StatusCode::kPermissionDenied, "access denied", kCredentialsHint);
  } else if (st == 404) {
    set(StatusCode::kNotFound, "not found");
  } else if (st == 408 || st == 429 || st >= 500) {
    set(StatusCode::kUnavailable, st == 429 || st == 503 ? "server is busy" : "server error");
  } else if (st == 412) {
    set(StatusCode::kAlreadyExists, "the object already exists");
  } else if (st == 416) {
    set(StatusCode::kOutOfRange, "the range is past the end of the object");
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

Status S3Backend::Create() {
  S3Request head;
  head.method = "HEAD";
  head.bucket = url_.bucket;
  WARD_ASSIGN_OR_RETURN(S3Response r, client_->Send(head));
  bool created = false;
  if (r.status == 404) {
    S3Request put;
    put.method = "PUT";
    put.bucket = url_.bucket;
    std::string body;
    if (client_->config().region != "us-east-1") {
      body =
          "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
          "<LocationConstraint>" +
          XmlEscape(client_->config().region) + "</LocationConstraint></CreateBucketConfiguration>";
      put.body = AsBytes(body);
    }
    if (options_.lock_mode != LockMode::kNone) {
      put.headers.emplace_back("x-amz-bucket-object-lock-enabled", "true");
    }
    WARD_ASSIGN_OR_RETURN(S3Response pr, client_->Send(put));
    if (pr.status != 200 && ParseS3Error(pr).code != "BucketAlreadyOwnedByYou") {
      if (ParseS3Error(pr).code == "BucketAlreadyExists") {
        return FailedPreconditionError(Location() + ": bucket name '" + url_.bucket +
                                       "' is taken by another account: choose another bucket");
      }
      return MapError("PUT", "", pr).WithContext("creating the bucket");
    }
    created = true;
  } else if (r.status != 200) {
    return MapError("HEAD", "", r);
  }
  if (options_.lock_mode != LockMode::kNone && !created) {
    S3Request get;
    get.bucket = url_.bucket;
    get.query.emplace_back("object-lock", "");
    WARD_ASSIGN_OR_RETURN(S3Response lr, client_->Send(get));
    if (lr.status != 200) {
      return MapError("GET", "?object-lock", lr);
    }
    auto doc = ParseXml(AsString(lr.body));
    if (!doc.ok() || doc->ChildText("ObjectLockEnabled") != "Enabled") {
      return FailedPreconditionError(
          Location() + ": Object Lock is not enabled on bucket '" + url_.bucket +
          "': it can only be enabled when a bucket is created; use a new bucket");
    }
  }
  return Status::OK();
}

Result<bool> S3Backend::IsVersioned() {
  // Object Lock exists only on versioned buckets.
  if (options_.lock_mode != LockMode::kNone) return true;
  int known = versioning_.load();
  if (known >= 0) return known == 1;
  S3Request req;
  req.bucket = url_.bucket;
  req.query.emplace_back("versioning", "");
  WARD_ASSIGN_OR_RETURN(S3Response r, client_->Send(req));
  bool versioned = false;
  if (r.status == 200) {
    auto doc = ParseXml(AsString(r.body));
    std::string status = doc.ok() ? doc->ChildText("Status") : "";
    versioned = status == "Enabled" || status == "Suspended";
  } else if (r.status != 403 || ParseS3Error(r).code != "AccessDenied") {
    return MapError("GET", "?versioning", r);
  }
  // Without s3:GetBucketVersioning, assume an unversioned bucket (docs/s3.md).
  versioning_.store(versioned ? 1 : 0);
  return versioned;
}

Result<std::string> S3Backend::PutSingle(const Handle& h, const std::string& key, ByteView data) {
  S3Request req;
  req.method = "PUT";
  req.bucket = url_.bucket;
  req.key = key;
  req.body = data;
  req.headers.emplace_back("If-None-Match", "*");
  if (h.type == FileType::kPack && !options_.storage_class.empty()) {
    req.headers.emplace_back("x-amz-storage-class", options_.storage_class);
  }
  auto r = client_->Send(req);
  if (!r.ok()) return r.status().WithContext(Location() + ": PUT " + key);
  if (r->status == 200) return r->Header("x-amz-version-id").value_or("");
  if (r->status == 412) {
    if (r->maybe_resent) {
      // libcurl may have re-sent the PUT after our first copy was stored:
      // the 412 may be about our own bytes. Let the caller retry; a retry
      // wrapper then compares the stored object with the data.
      return UnavailableError(Location() + ": PUT " + key +
                              ": precondition failed on a possibly repeated request");
    }
    return AlreadyExists(h, key);
  }
  return StorageClassOrMapError(h, "PUT", key, *r);
}

Status S3Backend::AlreadyExists(const Handle& h, const std::string& key) const {
  return AlreadyExistsError(Location() + ": " + h.ToString() + " already exists (" + key + ")");
}

Status S3Backend::StorageClassOrMapError(const Handle& h, const std::string& method,
                                         const std::string& key, const S3Response& r) const {
  std::string code = ParseS3Error(r).code;
  // RGW answers an unknown class with a bare 400 InvalidArgument.
  if (h.type == FileType::kPack && !options_.storage_class.empty() && r.status == 400 &&
      (code == "InvalidStorageClass" || code == "InvalidArgument")) {
    return InvalidArgumentError(Location() + ": the server refused storage class '" +
                                options_.storage_class + "' (400 " + code + ") for " + method +
                                " " + key +
                                ": choose a storage class the server offers (--storage-class)");
  }
  return MapError(method, key, r);
}

bool S3Backend::Retained(const Handle& h) const {
  // Sessions and deletion plans are bookkeeping that must be removable while
  // the writer still runs; losing one loses no data (docs/s3.md).
  return options_.lock_mode != LockMode::kNone && h.type != FileType::kSession &&
         h.type != FileType::kPlan;
}

Status S3Backend::Save(const Handle& h, ByteView data) {
  WARD_RETURN_IF_ERROR(CheckHandle(h));
  std::string key = Key(h);
  WARD_ASSIGN_OR_RETURN(bool versioned, IsVersioned());
  if (!versioned) {
    if (data.size() > options_.multipart_threshold) {
      return PutMultipart(h, key, data).status();
    }
    return PutSingle(h, key, data).status();
  }
  return SaveVersioned(h, key, data);
}

// In a versioned bucket some servers (Ceph RGW 16) ignore If-None-Match and
// store a second version instead of answering 412. So: check, upload, then
// look at the key's versions. The oldest live version of the newest run
// (versions not interrupted by a delete marker) is the one that counts; if
// that is not ours, delete our own version and report kAlreadyExists. Our
// version is only put under Object Lock retention after this check, since a
// locked losing version could not be deleted.
Status S3Backend::SaveVersioned(const Handle& h, const std::string& key, ByteView data) {
  {
    S3Request head;
    head.method = "HEAD";
    head.bucket = url_.bucket;
    head.key = key;
    WARD_ASSIGN_OR_RETURN(S3Response r, client_->Send(head));
    if (r.status == 200) {
      std::string current = r.Header("x-amz-version-id").value_or("");
      if (!current.empty() && current != "null") {
        // The current version may be a loser whose writer died (or failed
        // transiently) before withdrawing it: withdraw it now, so that the
        // object reads as the version that won. Otherwise, finish a winner
        // whose retention was never set.
        WARD_ASSIGN_OR_RETURN(bool current_won, IsOldestOfRun(key, current));
        if (!current_won) {
          DeleteVersion(key, current).IgnoreError();  // its writer may race us to it
        } else if (Retained(h) && !r.Header("x-amz-object-lock-retain-until-date").has_value()) {
          // Harmless if it fails: every retention extension sets it too.
          PutRetention(key, current, options_.lock_mode, RetainUntilNanos()).IgnoreError();
        }
      }
      return AlreadyExists(h, key);
    }
    if (r.status != 404) return MapError("HEAD", key, r);
  }
  std::string version;
  if (data.size() > options_.multipart_threshold) {
    WARD_ASSIGN_OR_RETURN(version, PutMultipart(h, key, data));
  } else {
    WARD_ASSIGN_OR_RETURN(version, PutSingle(h, key, data));
  }
  if (version.empty()) {
    // The server keeps no versions after all: If-None-Match did the job.
    if (options_.lock_mode != LockMode::kNone) {
      return FailedPreconditionError(Location() + ": the bucket returned no version for " + key +
                                     ": Object Lock needs a versioned bucket");
    }
    return Status::OK();
  }
  WARD_ASSIGN_OR_RETURN(bool won, IsOldestOfRun(key, version));
  if (!won) {
    Status s = DeleteVersion(key, version);
    if (s.code() == StatusCode::kUnavailable) return s;  // a retry withdraws it (above)
    if (!s.ok()) {
      return DataLossError(Location() + ": " + key + " was stored twice (version " + version +
                           " shadows an older one) and the extra version could not be deleted (" +
                           s.message() + "): delete that version by hand");
    }
    return AlreadyExists(h, key);
  }
  if (Retained(h)) return PutRetention(key, version, options_.lock_mode, RetainUntilNanos());
  return Status::OK();
}

Result<bool> S3Backend::IsOldestOfRun(const std::string& key, const std::string& version) {
  // Versions of this key, newest first; true for a version, false for a
  // delete marker.
  std::vector<std::pair<std::string, bool>> entries;
  std::string key_marker, version_marker;
  for (int page = 0; page < 100; ++page) {
    S3Request req;
    req.bucket = url_.bucket;
    req.query = {{"versions", ""}, {"prefix", key}};
    if (!key_marker.empty()) {
      req.query.emplace_back("key-marker", key_marker);
      req.query.emplace_back("version-id-marker", version_marker);
    }
    WARD_ASSIGN_OR_RETURN(S3Response r, client_->Send(req));
    if (r.status != 200) return MapError("GET", "?versions&prefix=" + key, r);
    auto doc = ParseXml(AsString(r.body));
    if (!doc.ok())
      return UnavailableError(Location() + ": listing versions of " + key + ": " +
                              doc.status().message());
    for (const XmlElement& e : doc->children) {
      if ((e.name == "Version" || e.name == "DeleteMarker") && e.ChildText("Key") == key) {
        entries.emplace_back(e.ChildText("VersionId"), e.name == "Version");
      }
    }
    if (doc->ChildText("IsTruncated") != "true") break;
    key_marker = doc->ChildText("NextKeyMarker");
    version_marker = doc->ChildText("NextVersionIdMarker");
    if (key_marker.empty() || key_marker > key) break;
  }
  auto it = std::find_if(entries.begin(), entries.end(),
                         [&](const auto& e) { return e.first == version; });
  if (it == entries.end()) {
    return UnavailableError(Location() + ": version " + version + " of " + key +
                            " is missing from the version listing");
  }
  // The run continues to older entries while they are versions.
  auto older = std::next(it);
  return older == entries.end() || !older->second;
}

Status S3Backend::DeleteVersion(const std::string& key, const std::string& version) {
  S3Request del;
  del.method = "DELETE";
  del.bucket = url_.bucket;
  del.key = key;
  del.query.emplace_back("versionId", version);
  auto r = client_->Send(del);
  if (!r.ok()) return r.status().WithContext(Location() + ": DELETE " + key + "?versionId");
  if (r->status == 204 || r->status == 200 || r->status == 404) return Status::OK();
  return MapError("DELETE", key + "?versionId=" + version, *r);
}

UnixNanos S3Backend::RetainUntilNanos() const {
  return (NowNanos() / 1000000000 + int64_t{options_.lock_days} * 86400) * 1000000000;
}

Status S3Backend::PutRetention(const std::string& key, const std::string& version, LockMode mode,
                               UnixNanos until) {
  std::string body = RetentionXml(mode, until);
  S3Request req;
  req.method = "PUT";
  req.bucket = url_.bucket;
  req.key = key;
  req.query.emplace_back("retention", "");
  if (!version.empty()) req.query.emplace_back("versionId", version);
  req.body = AsBytes(body);
  req.headers.emplace_back("Content-MD5", ContentMd5(req.body));
  WARD_ASSIGN_OR_RETURN(S3Response r, client_->Send(req));
  if (r.status == 200 || r.status == 204) return Status::OK();
  return MapError("PUT", key + "?retention", r);
}

Status S3Backend::AbortMultipart(const std::string& key, const std::string& upload_id) {
  S3Request req;
  req.method = "DELETE";
  req.bucket = url_.bucket;
  req.key = key;
  req.query.emplace_back("uploadId", upload_id);
  WARD_ASSIGN_OR_RETURN(S3Response r, client_->Send(req));
  if (r.status == 204 || r.status == 200 || r.status == 404) return Status::OK();
  return MapError("DELETE", key + "?uploadId", r);
}

Result<std::string> S3Backend::PutMultipart(const Handle& h, const std::string& key,
                                            ByteView data) {
  // Fail early, before uploading anything, in the common "exists" case.
  {
    S3Request head;
    head.method = "HEAD";
    head.bucket = url_.bucket;
    head.key = key;
    WARD_ASSIGN_OR_RETURN(S3Response r, client_->Send(head));
    if (r.status == 200) return AlreadyExists(h, key);
    if (r.status != 404) return MapError("HEAD", key, r);
  }

  uint64_t part_size = options_.part_size;
  // Keep within S3's 10000 parts for very large objects.
  while ((data.size() + part_size - 1) / part_size > kMaxParts) part_size *= 2;
  const size_t parts = static_cast<size_t>((data.size() + part_size - 1) / part_size);

  std::string upload_id;
  {
    S3Request init;
    init.method = "POST";
    init.bucket = url_.bucket;
    init.key = key;
    init.query.emplace_back("uploads", "");
    if (h.type == FileType::kPack && !options_.storage_class.empty()) {
      init.headers.emplace_back("x-amz-storage-class", options_.storage_class);
    }
    WARD_ASSIGN_OR_RETURN(S3Response r, client_->Send(init));
    if (r.status != 200) return StorageClassOrMapError(h, "POST", key + "?uploads", r);
    auto doc = ParseXml(AsString(r.body));
    if (doc.ok()) upload_id = doc->ChildText("UploadId");
    if (upload_id.empty()) {
      return UnavailableError(Location() + ": POST " + key + "?uploads: the reply has no UploadId");
    }
  }

  // Upload the parts, up to `connections` at once.
  std::vector<std::string> etags(parts);
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex err_mu;
  Status first_error;
  auto worker = [&] {
    for (size_t i; !failed && (i = next++) < parts;) {
      uint64_t off = i * part_size;
      ByteView part = data.subspan(off, std::min<uint64_t>(part_size, data.size() - off));
      S3Request req;
      req.method = "PUT";
      req.bucket = url_.bucket;
      req.key = key;
      req.body = part;
      req.query.emplace_back("partNumber", std::to_string(i + 1));
      req.query.emplace_back("uploadId", upload_id);
      std::string what = key + " part " + std::to_string(i + 1);
      Status s;
      auto r = client_->Send(req);
      if (!r.ok()) {
        s = r.status().WithContext(Location() + ": PUT " + what);
      } else if (r->status != 200) {
        s = MapError("PUT", what, *r);
      } else {
        etags[i] = r->Header("etag").value_or("");
        if (etags[i].empty()) {
          s = UnavailableError(Location() + ": PUT " + what + ": the reply has no ETag");
        }
      }
      if (!s.ok()) {
        std::lock_guard lock(err_mu);
        if (first_error.ok()) first_error = s;
        failed = true;
      }
    }
  };
  size_t workers = std::min<size_t>(parts, static_cast<size_t>(options_.connections));
  std::vector<std::thread> threads;
  for (size_t i = 1; i < workers; ++i) threads.emplace_back(worker);
  worker();
  for (auto& t : threads) t.join();
  if (!first_error.ok()) {
    AbortMultipart(key, upload_id).IgnoreError();  // the first error is what matters
    return first_error;
  }

  std::string body = "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">";
  for (size_t i = 0; i < parts; ++i) {
    body += "<Part><PartNumber>" + std::to_string(i + 1) + "</PartNumber><ETag>" +
            XmlEscape(etags[i]) + "</ETag></Part>";
  }
  body += "</CompleteMultipartUpload>";
  S3Request complete;
  complete.method = "POST";
  complete.bucket = url_.bucket;
  complete.key = key;
  complete.query.emplace_back("uploadId", upload_id);
  complete.body = AsBytes(body);
  // Honoured by AWS (since 2024); ignored by some other servers (see header).
  complete.headers.emplace_back("If-None-Match", "*");
  auto r = client_->Send(complete);
  Status s;
  std::string version;
  if (!r.ok()) {
    s = r.status().WithContext(Location() + ": POST " + key + "?uploadId");
  } else if (r->status == 412) {
    s = AlreadyExists(h, key);
  } else if (r->status == 404 && ParseS3Error(*r).code == "NoSuchUpload" && r->maybe_resent) {
    // The first copy of the request may have completed the upload.
    s = UnavailableError(Location() + ": POST " + key +
                         "?uploadId: upload gone after a possibly repeated request");
  } else if (r->status != 200) {
    s = MapError("POST", key + "?uploadId", *r);
  } else {
    // A 200 reply may still carry an <Error> (S3 reports late failures so).
    auto doc = ParseXml(AsString(r->body));
    if (!doc.ok()) {
      s = UnavailableError(Location() + ": POST " + key + "?uploadId: unreadable reply (" +
                           doc.status().message() + ")");
    } else if (doc->name == "Error") {
      S3Response as_error = *r;
      as_error.status = 500;
      s = MapError("POST", key + "?uploadId", as_error);
    }
    version = r->Header("x-amz-version-id").value_or("");
  }
  if (!s.ok()) {
    AbortMultipart(key, upload_id).IgnoreError();
    return s;
  }
  // RGW replies with an empty ETag: check the object itself.
  WARD_ASSIGN_OR_RETURN(FileInfo info, Stat(h));
  if (info.size != data.size()) {
    return DataLossError(fmt::format(
        "{}: {} holds {} bytes after a multipart upload of {} bytes: another writer may have "
        "replaced it; run `ward check`",
        Location(), key, info.size, data.size()));
  }
  return version;
}

Result<Bytes> S3Backend::Load(const Handle& h, uint64_t offset, uint64_t length) {
  WARD_RETURN_IF_ERROR(CheckHandle(h));
  std::string key = Key(h);
  S3Request req;
  req.bucket = url_.bucket;
  req.key = key;
  // Not `length`: a server that ignores Range sends the whole object.
  req.max_body = kMaxObjectLoad;
  const bool ranged = offset > 0 || length > 0;
  if (length > 0) {
    req.headers.emplace_back("Range", fmt::format("bytes={}-{}", offset, offset + length - 1));
  } else if (offset > 0) {
    req.headers.emplace_back("Range", fmt::format("bytes={}-", offset));
  }
  auto out_of_range = [&](uint64_t size) {
    return OutOfRangeError(fmt::format("{}: {}: range {}+{} past its end ({} bytes)", Location(),
                                       h.ToString(), offset, length, size));
  };
  auto r = client_->Send(req);
  if (!r.ok()) return r.status().WithContext(Location() + ": GET " + key);
  if (r->status == 404) {
    S3Error e = ParseS3Error(*r);
    if (e.code == "NoSuchBucket") return MapError("GET", key, *r);
    return NotFoundError(Location() + ": " + h.ToString() + " does not exist (" + key + ")");
  }
  if (r->status == 416) {
    if (length == 0) {
      // "bytes=N-" on an object of exactly N bytes is an empty read.
      WARD_ASSIGN_OR_RETURN(FileInfo info, Stat(h));
      if (info.size == offset) return Bytes();
      return out_of_range(info.size);
    }
    uint64_t size = 0;
    std::string cr = r->Header("content-range").value_or("");
    // "bytes */1000"
    if (cr.rfind("bytes */", 0) == 0) ParseU64(std::string_view(cr).substr(8), &size);
    return out_of_range(size);
  }
  if (r->status == 206) {
    uint64_t first, last, total;
    if (!ParseContentRange(r->Header("content-range").value_or(""), &first, &last, &total) ||
        first != offset || r->body.size() != last - first + 1) {
      return UnavailableError(Location() + ": GET " + key +
                              ": the reply's Content-Range does not match its body or request");
    }
    if (length > 0 && last + 1 < offset + length) return out_of_range(total);
    return std::move(r->body);
  }
  if (r->status == 200) {
    if (!ranged) return std::move(r->body);
    // The server ignored the Range header: cut the range out ourselves.
    uint64_t size = r->body.size();
    if (offset > size || (length > 0 && offset + length > size)) return out_of_range(size);
    uint64_t n = length > 0 ? length : size - offset;
    return Bytes(r->body.begin() + static_cast<ptrdiff_t>(offset),
                 r->body.begin() + static_cast<ptrdiff_t>(offset + n));
  }
  return MapError("GET", key, *r);
}

Result<FileInfo> S3Backend::Stat(const Handle& h) {
  WARD_RETURN_IF_ERROR(CheckHandle(h));
  std::string key = Key(h);
  S3Request req;
  req.method = "HEAD";
  req.bucket = url_.bucket;
  req.key = key;
  auto r = client_->Send(req);
  if (!r.ok()) return r.status().WithContext(Location() + ": HEAD " + key);
  if (r->status == 404) {
    return NotFoundError(Location() + ": " + h.ToString() + " does not exist (" + key + ")");
  }
  if (r->status != 200) return MapError("HEAD", key, *r);
  uint64_t size = 0;
  if (!ParseU64(r->Header("content-length").value_or(""), &size)) {
    return UnavailableError(Location() + ": HEAD " + key + ": the reply has no Content-Length");
  }
  return FileInfo{h.name, size};
}

Status S3Backend::List(FileType t, const std::function<Status(const FileInfo&)>& fn) {
  if (t == FileType::kConfig) {
    auto info = Stat(Handle::Config());
    if (info.ok()) return fn(*info);
    return info.status().code() == StatusCode::kNotFound ? Status::OK() : info.status();
  }
  const std::string prefix = key_prefix_ + LayoutDir(t) + "/";
  ListObjectsRequest list;
  list.bucket = url_.bucket;
  list.prefix = prefix;
  list.what = Location() + ": listing " + prefix;
  list.send = [&](const S3Request& req) -> Result<S3Response> {
    auto r = client_->Send(req);
    if (!r.ok()) return r.status().WithContext(list.what);
    return r;
  };
  list.refused = [&](const S3Response& r) { return MapError("GET", "?list-type=2&prefix=" + prefix, r); };
  return ListObjectsV2(list, [&](const XmlElement& c, const std::string& key) -> Status {
    if (key.compare(0, prefix.size(), prefix) != 0) return Status::OK();
    std::string_view rest = std::string_view(key).substr(prefix.size());
    std::string_view name = rest;
    if (t == FileType::kPack) {
      // data/<name[0:2]>/<name>
      if (rest.size() != 67 || rest[2] != '/') return Status::OK();
      name = rest.substr(3);
      if (rest.substr(0, 2) != name.substr(0, 2)) return Status::OK();
    }
    if (!IsValidName(name)) return Status::OK();
    uint64_t size = 0;
    if (!ParseU64(c.ChildText("Size"), &size)) return UnavailableError(list.what + ": bad <Size> for " + key);
    return fn(FileInfo{std::string(name), size});
  });
}

Status S3Backend::Remove(const Handle& h) {
  WARD_RETURN_IF_ERROR(CheckHandle(h));
  std::string key = Key(h);
  if (options_.append_only) {
    return PermissionDeniedError(Location() + ": cannot remove " + h.ToString() +
                                 ": append-only mode: ward does not delete");
  }
  // S3 answers 204 whether or not the key exists: ask first.
  S3Request head;
  head.method = "HEAD";
  head.bucket = url_.bucket;
  head.key = key;
  WARD_ASSIGN_OR_RETURN(S3Response hr, client_->Send(head));
  if (hr.status == 404) {
    return NotFoundError(Location() + ": " + h.ToString() + " does not exist (" + key + ")");
  }
  if (hr.status != 200) return MapError("HEAD", key, hr);

  S3Request del;
  del.method = "DELETE";
  del.bucket = url_.bucket;
  del.key = key;
  std::string version = hr.Header("x-amz-version-id").value_or("");
  if (options_.lock_mode != LockMode::kNone && !version.empty() && version != "null") {
    // A plain DELETE would only hide a locked object behind a delete marker.
    del.query.emplace_back("versionId", version);
  }
  WARD_ASSIGN_OR_RETURN(S3Response r, client_->Send(del));
  if (r.status == 204 || r.status == 200) return Status::OK();
  if (r.status == 403 && options_.lock_mode != LockMode::kNone) {
    std::string until = hr.Header("x-amz-object-lock-retain-until-date").value_or("");
    if (!until.empty() || ParseS3Error(r).code == "AccessDenied") {
      return FailedPreconditionError(Location() + ": " + h.ToString() +
                                     " is under Object Lock retention" +
                                     (until.empty() ? std::string() : " until " + until) +
                                     " and cannot be deleted before then (" + key + ")");
    }
  }
  return MapError("DELETE", key, r);
}

Result<Retention> S3Backend::GetRetention(const Handle& h) {
  WARD_RETURN_IF_ERROR(CheckHandle(h));
  std::string key = Key(h);
  S3Request req;
  req.bucket = url_.bucket;
  req.key = key;
  req.query.emplace_back("retention", "");
  WARD_ASSIGN_OR_RETURN(S3Response r, client_->Send(req));
  if (r.status == 404) {
    std::string code = ParseS3Error(r).code;
    if (code == "NoSuchKey") {
      return NotFoundError(Location() + ": " + h.ToString() + " does not exist (" + key + ")");
    }
    if (code == "NoSuchObjectLockConfiguration") return Retention{};
    return MapError("GET", key + "?retention", r);
  }
  if (r.status != 200) return MapError("GET", key + "?retention", r);
  auto doc = ParseXml(AsString(r.body));
  if (!doc.ok()) return doc.status().WithContext(Location() + ": GET " + key + "?retention");
  Retention out;
  std::string mode = doc->ChildText("Mode");
  if (!mode.empty()) {
    WARD_ASSIGN_OR_RETURN(out.mode, ParseLockMode(mode));
  }
  std::string until = doc->ChildText("RetainUntilDate");
  if (!until.empty()) {
    auto t = ParseTime(until);
    if (!t.ok()) {
      return UnavailableError(Location() + ": GET " + key + "?retention: bad date '" + until + "'");
    }
    out.until = *t;
  }
  return out;
}

Status S3Backend::ExtendRetention(const Handle& h, UnixNanos until) {
  WARD_ASSIGN_OR_RETURN(Retention current, GetRetention(h));
  if (current.until >= until) return Status::OK();
  LockMode mode = current.mode != LockMode::kNone ? current.mode : options_.lock_mode;
  if (mode == LockMode::kNone) {
    return FailedPreconditionError(Location() + ": cannot extend the retention of " + h.ToString() +
                                   ": no Object Lock mode is configured");
  }
  Status s = PutRetention(Key(h), "", mode, until);
  if (s.code() == StatusCode::kNotFound) {
    return NotFoundError(Location() + ": " + h.ToString() + " does not exist (" + Key(h) + ")");
  }
  return s;
}

Result<std::unique_ptr<S3Backend>> NewS3Backend(const S3Url& url, const S3Options& options,
                                                const Credentials& credentials,
                                                const std::string& region) {
  WARD_RETURN_IF_ERROR(options.Validate());
  ClientConfig cc;
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
    bool ip_literal =
        url.host.front() == '[' || url.host.find_first_not_of("0123456789.") == std::string::npos;
    if (cc.virtual_host && ip_literal) {
      return InvalidArgumentError("repository " + url.ToString() +
                                  ": virtual-host addressing needs a DNS name as the endpoint, "
                                  "not an IP address");
    }
  }
  cc.credentials = credentials;
  cc.connections = options.connections;
  cc.sign_payload = options.sign_payload;
  cc.connect_timeout_seconds = options.connect_timeout_seconds;
  cc.low_speed_seconds = options.low_speed_seconds;
  cc.ca_file = options.ca_file;
  cc.connect_address = options.connect_address;
  WARD_ASSIGN_OR_RETURN(std::unique_ptr<S3Client> client, S3Client::Create(std::move(cc)));
  return std::unique_ptr<S3Backend>(new S3Backend(url, options, std::move(client)));
}

Result<std::unique_ptr<S3Backend>> OpenS3Backend(std::string_view url, const S3Options& options,
                                                 const EnvLookup& env) {
  WARD_ASSIGN_OR_RETURN(S3Url parsed, ParseS3Url(url));
  auto creds = LoadCredentials(env);
  if (!creds.ok()) return creds.status().WithContext("repository " + parsed.ToString());
  return NewS3Backend(parsed, options, *creds, LoadRegion(env));
}

}  // namespace ward::storage::s3
