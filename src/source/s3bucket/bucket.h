// Bucket: the S3 requests of the bucket source and the bucket restore target
// (internal to source/s3bucket), over storage/s3's signed HTTP client.
//
// Listing with each object's ETag, size, LastModified and StorageClass; HEAD
// with Content-Type, user metadata and the other headers a PUT can set; GETs
// of whole objects or byte ranges, conditional on the ETag (If-Match) and
// pinned to a version when one is known; PUTs and multipart uploads, each
// body with its Content-MD5 so that the server rejects damaged bytes.
//
// Transient failures (network trouble, 5xx, 429, SlowDown, RequestTimeout,
// bodies damaged in transit) are retried here, with exponential backoff and
// full jitter, up to BucketOptions::max_attempts tries: the storage retry
// wrapper does not apply, these are not repository objects. Every request
// here is idempotent, so repeating one is safe. Everything else fails at once
// with a one-line message naming the bucket URL, the HTTP status and S3 code,
// the request and what to check.
//
// Secrets: credentials live in the client only; no message built here holds a
// secret or a signature.
// Thread safety: every method may be called from several threads at once.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "base/bytes.h"
#include "base/status.h"
#include "storage/s3/client.h"
#include "storage/s3/credentials.h"
#include "storage/s3/s3_url.h"

namespace ward::source::s3bucket {

using storage::s3::HeaderList;

struct BucketOptions {
  int connections = 8;         // requests in flight at most (pooled connections)
  std::string region;          // overrides the environment's when not empty
  bool virtual_host = false;   // bucket.host instead of host/bucket (custom endpoints)
  std::string ca_file;         // PEM bundle for a private CA
  std::string connect_address;  // "host:port" to connect to instead (curl --connect-to)
  int connect_timeout_seconds = 10;
  int low_speed_seconds = 60;
  int max_attempts = 8;  // tries per request, the first included
  std::chrono::milliseconds retry_base{250};
  std::chrono::milliseconds retry_cap{30000};

  Status Validate() const;
};

// One entry of a listing.
struct ListedObject {
  std::string key;
  uint64_t size = 0;
  std::string etag;  // without quotes
  int64_t mtime_ns = 0;  // LastModified (milliseconds on AWS and RGW)
  std::string storage_class;  // "STANDARD" when the listing names none
};

// What HEAD says about an object.
struct ObjectHead {
  uint64_t size = 0;
  std::string etag;         // without quotes
  int64_t mtime_ns = 0;     // Last-Modified (whole seconds)
  std::string content_type;
  std::string version_id;   // "" when the bucket keeps no versions
  std::string storage_class;  // "" for STANDARD (S3 sends the header otherwise)
  std::string sse;          // x-amz-server-side-encryption, "" if none
  std::string restore;      // x-amz-restore (archived objects), "" if none
  // x-amz-meta-<name> headers as (name, value), names lower-case, sorted.
  std::vector<std::pair<std::string, std::string>> meta;
  // Cache-Control, Content-Disposition, Content-Encoding, Content-Language,
  // Expires, x-amz-website-redirect-location as (lower-case name, value).
  std::vector<std::pair<std::string, std::string>> system;
};

// The headers HEAD reports and a PUT may set again, besides Content-Type
// and user metadata.
const std::vector<std::string>& SystemHeaders();

struct PutResult {
  std::string etag;  // without quotes
  std::string sse;   // x-amz-server-side-encryption of the stored object
};

// MD5 helpers: hex digests compare with ETags; Content-MD5 is base64.
std::string Md5Hex(ByteView data);
Bytes Md5(ByteView data);

class Md5Stream {
 public:
  Md5Stream();
  ~Md5Stream();
  Md5Stream(const Md5Stream&) = delete;
  Md5Stream& operator=(const Md5Stream&) = delete;
  void Update(ByteView data);
  Bytes Finish();

 private:
  void* ctx_;
};

// The ETag S3 gives an object uploaded in parts: hex MD5 of the parts' binary
// MD5s, "-", the number of parts.
std::string MultipartEtag(const std::vector<Bytes>& part_md5s);

// Strips the quotes around an ETag and lower-cases it.
std::string NormalizeEtag(std::string_view etag);

// "Sun, 22 Nov 2026 20:31:46 GMT" -> nanoseconds since the epoch.
Result<int64_t> ParseHttpDate(std::string_view text);

class Bucket {
 public:
  // Sends no request. kInvalidArgument for unusable options.
  static Result<std::unique_ptr<Bucket>> Open(const storage::s3::S3Url& url, const BucketOptions& options,
                                              const storage::s3::Credentials& credentials,
                                              const std::string& region);
  ~Bucket();

  const storage::s3::S3Url& url() const { return url_; }
  // "s3:https://host/bucket/prefix", for messages.
  std::string Location() const { return url_.ToString(); }
  // The URL's prefix as a key prefix: "" or "prefix/".
  std::string KeyPrefix() const { return url_.prefix.empty() ? "" : url_.prefix + "/"; }

  // Checks that the bucket exists and the credentials may use it (HEAD).
  Status Check();

  // Every object whose key starts with `prefix`, in key order (ListObjectsV2,
  // all pages, keys URL-encoded on the wire so any byte survives XML).
  Status List(const std::string& prefix, const std::function<Status(ListedObject)>& fn);
  // True if some object's key starts with `prefix`.
  Result<bool> AnyUnder(const std::string& prefix);

  // kNotFound if the object does not exist.
  Result<ObjectHead> Head(const std::string& key, const std::string& version_id = "");

  // Bytes [offset, offset + length) of the object, which must still have
  // `etag` (If-Match; "" for any) and `total` bytes; `version_id` pins the
  // version when not empty. The whole object when offset == 0 and length ==
  // total. kFailedPrecondition if the object changed, kNotFound if it is gone.
  Result<Bytes> Get(const std::string& key, const std::string& etag, const std::string& version_id,
                    uint64_t offset, uint64_t length, uint64_t total);

  // PUT with Content-MD5 (the server rejects a body that does not match it)
  // and `headers` (Content-Type, x-amz-meta-*, x-amz-storage-class ...).
  Result<PutResult> Put(const std::string& key, ByteView data, const HeaderList& headers);

  // Multipart uploads: the object's headers go with Create; every part
  // carries its Content-MD5. Complete returns when the object exists.
  Result<std::string> CreateMultipart(const std::string& key, const HeaderList& headers);
  Result<std::string> UploadPart(const std::string& key, const std::string& upload_id, int part_number,
                                 ByteView data);
  Status CompleteMultipart(const std::string& key, const std::string& upload_id,
                           const std::vector<std::string>& part_etags);
  Status AbortMultipart(const std::string& key, const std::string& upload_id);

  // A reply that is not a success as a Status with a one-line message. The
  // storage class, when given, is named in errors about it.
  Status MapError(const std::string& method, const std::string& key, const storage::s3::S3Response& r,
                  const std::string& storage_class = "") const;

  // Requests sent so far, including retries (for tests and reports).
  int64_t requests() const;

 private:
  Bucket(storage::s3::S3Url url, BucketOptions options, std::unique_ptr<storage::s3::S3Client> client);
  // Sends `req`, repeating it after transient failures. A reply is returned
  // whatever its status once it is not transient or the tries are used up.
  Result<storage::s3::S3Response> Call(const storage::s3::S3Request& req);
  std::chrono::milliseconds Backoff(int retry);

  storage::s3::S3Url url_;
  BucketOptions options_;
  std::unique_ptr<storage::s3::S3Client> client_;
  std::mutex rng_mu_;
  std::mt19937_64 rng_;
  std::atomic<int64_t> requests_{0};
};

// A bucket for `url` ("s3:..."), credentials and region from `env` (as for
// repositories, credentials.h). Sends no request.
Result<std::unique_ptr<Bucket>> OpenBucket(std::string_view url, const BucketOptions& options,
                                           const storage::s3::EnvLookup& env);

}  // namespace ward::source::s3bucket
