// S3Client: signed HTTP requests to one S3 endpoint, over libcurl.
//
// The client knows HTTP and SigV4, not S3 semantics: Send() builds the URL
// (path-style "/bucket/key" or virtual-host "bucket.host/key"), adds host,
// x-amz-date, x-amz-content-sha256 and x-amz-security-token, signs every
// header it sends, and returns the reply whatever its HTTP status. It fails
// only when no complete reply arrived: kUnavailable for network trouble
// (refused, reset, timeout, truncated body, DNS), kFailedPrecondition for TLS
// certificate problems, kInvalidArgument for a request it refuses to send.
// Mapping S3 statuses and error codes to ward's Status is the backend's job
// (s3_backend.cc), helped by ParseS3Error().
//
// Connections are reused: a pool of curl easy handles (each keeps its
// connection alive between requests) shares one DNS and TLS-session cache. The
// pool holds at most `connections` handles, so at most that many requests run
// at once; further callers of Send() wait for a free handle.
//
// libcurl silently re-sends a request once when a reused keep-alive connection
// turns out to be dead and nothing was received. If the server had in fact
// executed the first copy, the reply describes the second. S3Response::
// maybe_resent flags replies for which that could have happened, so the
// backend can treat, for example, a 412 to a conditional PUT as ambiguous.
//
// Secrets: neither the secret key nor the Authorization header is ever
// placed in a Status message; libcurl's verbose output is never enabled.
//
// Thread safety: Send() may be called from any number of threads at once.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/status.h"
#include "storage/s3/credentials.h"
#include "storage/s3/sigv4.h"

namespace ward::storage::s3 {

struct ClientConfig {
  std::string scheme = "https";  // "https" or "http"
  std::string host;              // endpoint host without port: "s3.eu-west-1.amazonaws.com"
  int port = 0;                  // 0: the scheme's default
  std::string region = "us-east-1";
  bool virtual_host = false;  // bucket in the host name instead of the path
  Credentials credentials;
  int connections = 8;  // pooled handles = requests in flight at most
  // Sign the SHA-256 of each body (x-amz-content-sha256). With false the body
  // is sent as UNSIGNED-PAYLOAD (saves a hash pass; use only over https).
  bool sign_payload = true;
  int connect_timeout_seconds = 10;
  // A transfer slower than 1 KiB/s for this long is aborted (kUnavailable).
  int low_speed_seconds = 60;
  std::string ca_file;  // PEM bundle to trust instead of the system's
  // "host:port" to connect to instead of resolving the request's host (like
  // curl --connect-to): for split-horizon DNS, and for virtual-host requests
  // to a loopback server in tests. The Host header and TLS name are unchanged.
  std::string connect_address;
  // Seconds since the epoch; injectable for tests. Default: the system clock.
  std::function<int64_t()> clock;
};

struct S3Request {
  std::string method = "GET";  // GET, HEAD, PUT, POST, DELETE
  std::string bucket;          // "" for the service itself
  std::string key;             // decoded object key; "" for bucket-level requests
  QueryList query;
  // Extra headers, all of which are signed. Without a Content-Type here, the
  // request is sent with none (libcurl would otherwise add its own).
  HeaderList headers;
  ByteView body;       // must stay valid during Send()
  // Replies larger than this fail with kResourceExhausted (protects against
  // a misbehaving server). Object GETs pass the object's size.
  uint64_t max_body = 16 << 20;
};

struct S3Response {
  long status = 0;
  HeaderList headers;  // names lower-cased, in arrival order
  Bytes body;
  // True if libcurl may have sent the request twice (see above).
  bool maybe_resent = false;

  // The first header named `name` (lower-case), if present.
  std::optional<std::string> Header(std::string_view name) const;
};

// The fields of an S3 <Error> reply. A body that is empty or not an <Error>
// document (a HEAD reply, a proxy's HTML page) yields empty fields.
struct S3Error {
  std::string code;        // "NoSuchKey", "AccessDenied", ...
  std::string message;     // often empty on RGW
  std::string request_id;  // for support tickets
};
S3Error ParseS3Error(const S3Response& r);

struct XmlElement;

// One ListObjectsV2 walk over every page under a prefix.
struct ListObjectsRequest {
  std::string bucket;
  std::string prefix;
  // Ask for URL-encoded keys (encoding-type=url), so that keys with control
  // characters survive XML; the keys handed on are decoded either way.
  bool url_encoding = false;
  uint64_t max_body = 16 << 20;  // per page
  std::string what;              // "<location>: listing <prefix>", for errors
  // Sends one page's request (with the caller's retries and error context).
  std::function<Result<S3Response>(const S3Request&)> send;
  // Turns a reply other than 200 into the caller's error.
  std::function<Status(const S3Response&)> refused;
};

// Calls `fn` with each <Contents> element and its (decoded) key, page after
// page, until the listing ends or `fn` fails. A reply that is not a
// ListBucketResult, or a truncated one without a new continuation token, is
// kUnavailable naming `what`.
Status ListObjectsV2(const ListObjectsRequest& req,
                     const std::function<Status(const XmlElement& contents, const std::string& key)>& fn);

class S3Client {
 public:
  // kInvalidArgument for an unusable configuration (no host, bad scheme).
  static Result<std::unique_ptr<S3Client>> Create(ClientConfig config);
  ~S3Client();
  S3Client(const S3Client&) = delete;
  S3Client& operator=(const S3Client&) = delete;

  Result<S3Response> Send(const S3Request& req);

  const ClientConfig& config() const { return config_; }

  // "https://host:port" (without bucket), for messages.
  std::string EndpointUrl() const;

 private:
  struct Pool;
  explicit S3Client(ClientConfig config);

  ClientConfig config_;
  std::unique_ptr<Pool> pool_;
};

}  // namespace ward::storage::s3
