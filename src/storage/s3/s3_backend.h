// S3Backend: a repository in an S3 bucket (AWS, Ceph RGW, MinIO, ...), under
// an optional key prefix. The S3 module's one interface header.
//
// Objects are keyed "<prefix>/<layout path>" (layout.h), so a repository
// copied byte for byte between a disk and a bucket stays valid. How each part
// of the Backend contract (backend.h) is met on S3:
//   - Save never replaces: every PUT carries "If-None-Match: *" and the server
//     answers 412 if the key exists, atomically (a HEAD-then-PUT would race).
//     A single PUT is all or nothing by S3's own semantics. Objects above
//     multipart_threshold go up as a multipart upload that is aborted on any
//     failure, so no partial object ever becomes visible. Servers that ignore
//     If-None-Match on CompleteMultipartUpload (Ceph RGW 16) leave a race
//     between the HEAD check and the completion; only packs are that large,
//     and their names are hashes of their bytes, so the race can only put
//     identical bytes in place (docs/s3.md).
//   - Versioned buckets (always the case with Object Lock) get a verified
//     save, because Ceph RGW 16 ignores If-None-Match there and stores a
//     second version: HEAD, upload, then list the key's versions; if an older
//     live version precedes ours, ours is deleted again and Save reports
//     kAlreadyExists. Object Lock retention is set on the winning version
//     only after that check (a locked losing version could not be deleted),
//     so a crash in between leaves an object without retention until the
//     next Save of it or ExtendRetention (see docs/s3.md).
//   - Load of a missing key is kNotFound; a range past the end is
//     kOutOfRange, checked against Content-Range, never a short read.
//   - List pages through ListObjectsV2 and shows only keys whose names are
//     valid object names at their layout position.
//   - Remove of a missing key is kNotFound (a HEAD first: S3's DELETE succeeds
//     on missing keys).
//   - Network trouble, 5xx, 503 SlowDown, throttling and request timeouts are
//     kUnavailable; everything else is final, with a one-line message naming
//     the repository, the HTTP status and S3 code, the method and key, and
//     what to check.
// The backend does not retry: stack it under retry/retry_backend.h.
//
// Options cover the S3-specific behaviour an operator chooses: connections,
// the storage class of pack objects, Object Lock retention on every object,
// and append-only mode (Remove refuses without sending a request).
//
// Secrets: credentials are held by the client only; no message built here
// contains a secret or a signature.
//
// Thread safety: every method may be called from several threads at once.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "base/status.h"
#include "base/time.h"
#include "storage/backend.h"
#include "storage/s3/credentials.h"
#include "storage/s3/s3_url.h"

namespace ward::storage::s3 {

enum class LockMode { kNone, kGovernance, kCompliance };

// "GOVERNANCE", "COMPLIANCE" ("" for kNone).
const char* LockModeName(LockMode m);
// Accepts "governance" / "compliance" in any case.
Result<LockMode> ParseLockMode(std::string_view text);

struct S3Options {
  // Requests in flight at once (pooled connections); also Concurrency().
  int connections = 8;
  // For s3:https://host/... endpoints: address the bucket as a host name
  // (bucket.host) instead of a path (host/bucket). The AWS form (s3:bucket)
  // always uses virtual hosts, except for bucket names with dots.
  bool virtual_host = false;
  // Overrides the region from the environment when not empty.
  std::string region;
  // x-amz-storage-class for pack objects ("STANDARD_IA", "GLACIER_IR", ...);
  // metadata objects always stay STANDARD. Empty: the bucket's default.
  std::string storage_class;
  // Object Lock: every object is retained in this mode until lock_days after
  // its upload. Needs a bucket created with Object Lock (Create() makes one).
  LockMode lock_mode = LockMode::kNone;
  int lock_days = 0;
  // Remove fails with kPermissionDenied without sending a request.
  bool append_only = false;
  // Sign each body's SHA-256 (integrity on the wire); false sends
  // UNSIGNED-PAYLOAD, acceptable over https only.
  bool sign_payload = true;
  // Objects larger than this are uploaded in parts of part_size bytes.
  uint64_t multipart_threshold = 64ull << 20;
  uint64_t part_size = 16ull << 20;
  // PEM CA bundle for endpoints with a private CA.
  std::string ca_file;
  // "host:port" to connect to instead of resolving the endpoint (curl's
  // --connect-to); the Host header and TLS name stay the endpoint's.
  std::string connect_address;
  int connect_timeout_seconds = 10;
  int low_speed_seconds = 60;

  // kInvalidArgument naming the bad option.
  Status Validate() const;
};

// The Object Lock retention of one object.
struct Retention {
  LockMode mode = LockMode::kNone;
  UnixNanos until = 0;  // 0 when not retained
};

class S3Client;
struct S3Response;

class S3Backend : public Backend {
 public:
  ~S3Backend() override;

  std::string Location() const override;
  // Checks the bucket; creates it (with Object Lock enabled when lock_mode is
  // set) if it does not exist. With lock_mode, an existing bucket must have
  // Object Lock enabled.
  Status Create() override;
  Status Save(const Handle& h, ByteView data) override;
  Result<Bytes> Load(const Handle& h, uint64_t offset, uint64_t length) override;
  Result<FileInfo> Stat(const Handle& h) override;
  Status List(FileType t, const std::function<Status(const FileInfo&)>& fn) override;
  // With Object Lock, removes the current version itself (not just hiding it
  // behind a delete marker); a version still under retention fails with
  // kFailedPrecondition naming its retain-until date. In a versioned bucket
  // without lock_mode, S3 hides the object behind a delete marker.
  Status Remove(const Handle& h) override;
  int Concurrency() const override;
  // Lock mode/days, storage class and append-only from `settings` replace
  // the options given at construction (connections are fixed then). Must be
  // called before the backend is used from several threads.
  Status ApplySettings(const StorageSettings& settings) override;

  // Object Lock: makes sure `h` is retained until at least `until`, keeping
  // its mode (or using lock_mode if it has none). Never shortens a retention:
  // a later date already in place is left alone. Needs s3:GetObjectRetention
  // and s3:PutObjectRetention.
  Status ExtendRetention(const Handle& h, UnixNanos until) override;
  Result<Retention> GetRetention(const Handle& h);

  // The object key of `h` ("prefix/data/ab/ab12...").
  std::string Key(const Handle& h) const;
  const S3Options& options() const { return options_; }

 private:
  friend Result<std::unique_ptr<S3Backend>> NewS3Backend(const S3Url&, const S3Options&,
                                                         const Credentials&, const std::string&);
  S3Backend(S3Url url, S3Options options, std::unique_ptr<S3Client> client);

  // Whether Object Lock retention applies to `h` (not to sessions or plans).
  bool Retained(const Handle& h) const;
  // Whether the bucket keeps versions (asked once, then cached).
  Result<bool> IsVersioned();
  // Uploads with If-None-Match: *; return the new version ID ("" if none).
  Result<std::string> PutSingle(const Handle& h, const std::string& key, ByteView data);
  Result<std::string> PutMultipart(const Handle& h, const std::string& key, ByteView data);
  Status SaveVersioned(const Handle& h, const std::string& key, ByteView data);
  // True if `version` is the oldest live version since the key last did not exist.
  Result<bool> IsOldestOfRun(const std::string& key, const std::string& version);
  Status AbortMultipart(const std::string& key, const std::string& upload_id);
  // Deletes one version; a missing version is not an error.
  Status DeleteVersion(const std::string& key, const std::string& version);
  Status PutRetention(const std::string& key, const std::string& version, LockMode mode,
                      UnixNanos until);
  UnixNanos RetainUntilNanos() const;
  Status AlreadyExists(const Handle& h, const std::string& key) const;
  Status MapError(const std::string& method, const std::string& key, const S3Response& r) const;
  Status StorageClassOrMapError(const Handle& h, const std::string& method, const std::string& key,
                                const S3Response& r) const;

  S3Url url_;
  S3Options options_;
  std::string key_prefix_;           // "" or "prefix/"
  std::atomic<int> versioning_{-1};  // -1 unknown, 0 no, 1 yes
  std::unique_ptr<S3Client> client_;
};

// A backend for `url` with explicit credentials and region.
Result<std::unique_ptr<S3Backend>> NewS3Backend(const S3Url& url, const S3Options& options,
                                                const Credentials& credentials,
                                                const std::string& region);

// Parses `url` ("s3:..."), finds credentials and region in `env` (see
// credentials.h) and returns the backend. Sends no request.
Result<std::unique_ptr<S3Backend>> OpenS3Backend(std::string_view url, const S3Options& options,
                                                 const EnvLookup& env = ProcessEnv());

}  // namespace ward::storage::s3
