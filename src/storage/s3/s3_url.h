// Repository URLs of the S3 backend.
//
//   s3:https://host[:port]/bucket[/prefix]   any S3-compatible endpoint
//                                            (http:// too, for a loopback server)
//   s3:bucket[/prefix]                       AWS S3, at https://s3.<region>.amazonaws.com
//
// The prefix is a key prefix inside the bucket ("" for the bucket's root); it
// is kept without leading or trailing '/', and objects live under
// "<prefix>/<layout path>". Credentials never belong in a URL: a user-info
// part ("key:secret@host") is rejected with a message pointing to the
// environment variables, so secrets do not end up in shell history or in the
// repository's Location() shown in messages.
//
// Thread safety: pure functions; S3Url is a value.
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"

namespace ward::storage::s3 {

struct S3Url {
  bool aws = false;    // the s3:bucket form: endpoint derived from the region
  std::string scheme;  // "https" or "http" (empty when aws)
  std::string host;    // "minio.example.com", "127.0.0.1", "[::1]" (empty when aws)
  int port = 0;        // 0: the scheme's default
  std::string bucket;
  std::string prefix;  // "" or "a/b"

  // The URL back in canonical form, for Location() and messages.
  std::string ToString() const;
};

// Parses a repository URL including its "s3:" scheme. kInvalidArgument with
// the accepted forms for anything malformed.
Result<S3Url> ParseS3Url(std::string_view url);

// True if `bucket` is a valid bucket name for AWS (3-63 characters of a-z,
// 0-9, '.', '-'; starting and ending with a letter or digit; not an IP address).
bool IsValidAwsBucketName(std::string_view bucket);

}  // namespace ward::storage::s3
