// An S3 bucket (or a prefix of one) as a source (F15), and a bucket as a
// restore target (F21). The module's one interface header.
//
// Backup: S3BucketSource lists every object under the prefix (ListObjectsV2,
// all pages), asks each for its Content-Type, user metadata and other
// settable headers with HEAD (`connections` at a time), and presents the keys
// as a tree: split on '/', components that are not file names encoded
// reversibly (key_path.h; "a//b" -> "a/%/b", ".." -> "%2E%2E"). Each object
// is a file whose xattrs hold what a restore needs: "s3.key" (the original
// key, prefix included), "s3.etag", "s3.content-type", "s3.storage-class",
// "s3.version-id" (versioned buckets), "s3.sse", "s3.meta.<name>" per user
// metadata entry, and "s3.<header>" for Cache-Control, Content-Disposition,
// Content-Encoding, Content-Language, Expires and the website redirect.
// Its mtime is LastModified. Opening an object GETs it with If-Match: <the
// listed ETag> (and its version ID when known), in ranges of `piece_size`
// with the next range fetched while the engine chunks the current one, so a
// large object is never held whole and an object replaced while it is read
// fails (named, left out; exit status 3) instead of being stored torn.
//
// Files cache: a node's inode is a 64-bit hash of its ETag, and its ctime is
// its LastModified. So an object whose ETag, size and LastModified are those
// of the previous snapshot matches its old node exactly (size, mtime, ctime,
// inode) and is neither downloaded nor hashed again. Rewriting an object
// with identical bytes gives it a new LastModified: it is read once more.
// Only new or changed objects are downloaded. Metadata may change without the
// ETag (a copy onto itself with new metadata), but never without a new
// LastModified: so an object is asked with HEAD only when the HEAD cache
// holds no answer for its listed ETag, size and LastModified. An unchanged
// bucket of a million objects costs its listing pages, not a million HEADs.
// The HEAD cache is one JSON file per source URL (0600, in the user's cache
// directory: ~/.cache/ward/s3-sources/), holding keys and their metadata in
// clear; a missing or damaged file only means every object is asked again.
//
// Failures: a listing that fails (wrong credentials, missing bucket,
// unreachable endpoint) fails the backup with one line and no snapshot. After
// a successful listing, an object that cannot be read (deleted or replaced
// meanwhile, archived in GLACIER, denied) is named and left out, the rest is
// stored, and the backup exits 3.
//
// Position (F44): {"url", "bucket", "prefix", "objects", "bytes",
// "listing_digest"} for the objects stored; "listing_digest" is the hex
// SHA-256 of, for each object in key order (bytewise), its key, NUL, its
// ETag (no quotes), NUL, its size in decimal, '\n'. "unreadable" and
// "vanished" count the objects left out, when there are any.
//
// Restore: the bucket target PUTs every file of the restored tree under the
// target prefix + its key relative to the restored path (the path decoded,
// checked against "s3.key"), with its Content-Type, user metadata and other
// recorded headers, and a storage class: the one given, else the object's
// recorded class (STANDARD objects are written without the header, i.e. in
// the bucket's default). Every body goes with its Content-MD5 (the server
// refuses a mismatch); the returned ETag must equal the MD5 for single PUTs;
// objects above the multipart threshold go up in parts (each with its
// Content-MD5, `connections` at a time) and the object's ETag must equal the
// composite MD5-of-MD5s. Small objects are uploaded `connections` at a time
// while the engine streams the next ones. Objects in the target that the
// snapshot does not hold are never deleted. Restoring into the bucket and
// prefix the snapshot was taken from (or one overlapping it) is refused unless
// allow_overwrite is set.
//
// Credentials: as for repositories (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/
// AWS_SESSION_TOKEN, or AWS_PROFILE with ~/.aws/credentials), never in a plan
// or a URL; a plan source may name a `profile` to use instead of the
// environment's keys.
// Thread safety: like Source and RestoreTarget, each object is used by one
// thread at a time; they run their own request threads inside.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <string>

#include "plan/plan.h"
#include "source/registry.h"
#include "source/s3bucket/bucket.h"
#include "source/kind.h"
#include "source/source.h"
#include "storage/s3/credentials.h"

namespace ward::source {

struct S3BucketSourceOptions {
  std::string url;  // "s3:https://host/bucket/prefix" or "s3:bucket/prefix" (AWS)
  s3bucket::BucketOptions bucket;
  // Objects larger than this are read in ranges of this size (one range in
  // memory, one being fetched).
  uint64_t piece_size = 8ull << 20;
  // Readahead of small objects. Reading one object after another is bound
  // by the server's latency per GET (about 47 ms on the test RGW, similar on
  // AWS), so once the engine has opened `readahead_after` objects in a row,
  // as in a first backup or a folder of new objects, the next `readahead`
  // objects of at most `readahead_max_object` bytes are fetched in parallel.
  // When the engine then passes over some (they were unchanged), those were
  // downloaded for nothing: at most `readahead` small objects each time a
  // run of new or changed objects ends. Sparse changes never trigger it.
  // 0 turns it off.
  int readahead = 8;
  int readahead_after = 8;
  uint64_t readahead_max_object = 1ull << 20;
  // The HEAD cache file (see above); "" asks every object with HEAD.
  std::string head_cache;
};

// The HEAD cache file for a source URL: $XDG_CACHE_HOME/ward/s3-sources/
// (or ~/.cache/ward/...) + a hash of the URL; "" without a home.
std::string DefaultHeadCache(const std::string& url);

// A bucket source from options, with credentials and region from `env`.
// Sends no request (the first List does). kInvalidArgument for a malformed
// URL, kFailedPrecondition without credentials.
Result<std::unique_ptr<Source>> NewS3BucketSource(
    const S3BucketSourceOptions& options,
    const storage::s3::EnvLookup& env = storage::s3::ProcessEnv());

// A bucket source from a plan's [[source]] table (kind = "s3"):
//   url = "s3:https://host/bucket/prefix" | "s3:bucket/prefix"   (required)
//   connections = 8        requests in flight (1..256)
//   profile = "name"       use this profile of ~/.aws/credentials instead of
//                          the AWS_* keys in the environment
//   region = "eu-west-1"   instead of AWS_DEFAULT_REGION
//   virtual_host = false   bucket.host addressing for custom endpoints
//   ca_file = "/path.pem"  private CA
//   head_cache = true      false: ask every object with HEAD on every backup
//                          (`ward backup --force` sets it to false)
// Keys that would hold secrets (secret_access_key, access_key_id,
// session_token, ...) are refused.
Result<std::unique_ptr<Source>> MakeS3BucketSource(const plan::PlanSource& ps);
const SourceKind& S3BucketKind();  // kind = "s3" and its plan keys

struct S3BucketRestoreOptions {
  std::string url;  // where to: "s3:https://host/bucket/prefix"
  // Storage class for every object ("STANDARD_IA", ...); "" keeps each
  // object's recorded class.
  std::string storage_class;
  // Allow writing into the bucket and prefix the snapshot came from (or a
  // prefix overlapping it), replacing live objects with the snapshot's.
  bool allow_overwrite = false;
  // The snapshot's position for this source (where it was taken from).
  // Without one the source is unknown, and the target prefix must then be
  // empty unless allow_overwrite is set.
  nlohmann::json position = nlohmann::json::object();
  s3bucket::BucketOptions bucket;
  // Objects larger than this go up in parts of part_size bytes (doubled as
  // needed to stay within 10000 parts).
  uint64_t multipart_threshold = 64ull << 20;
  uint64_t part_size = 16ull << 20;
};

// A restore target for `--to s3:...`. Checks the bucket at once (HEAD):
// a missing bucket or refused credentials fail here, before anything is
// written. kFailedPrecondition when the target overlaps the snapshot's source
// without allow_overwrite; kInvalidArgument for a malformed storage class.
//
// Finish() reports {"target", "bucket", "prefix", "objects", "bytes",
// "multipart", "storage_class", "etag_verified", "source_etag_matched",
// "seconds", "ok": true}; it fails if any object failed or did not verify.
Result<std::unique_ptr<RestoreTarget>> NewS3BucketRestoreTarget(
    const S3BucketRestoreOptions& options,
    const storage::s3::EnvLookup& env = storage::s3::ProcessEnv());

// The registry's entry point: url = options.to, storage_class and position
// as given; allow_overwrite stays false (RestoreTargetOptions has no such
// field yet). kInvalidArgument if options.kind is set and is not "s3".
Result<std::unique_ptr<RestoreTarget>> MakeS3BucketRestoreTarget(const RestoreTargetOptions& options);

}  // namespace ward::source
