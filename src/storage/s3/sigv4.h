// AWS Signature Version 4 for S3 requests (header authentication).
//
// A request is signed from its method, its path (decoded, as the object key
// reads), its query parameters (decoded name/value pairs), the headers to sign
// and the hash of its payload (the hex SHA-256 of the body, or the literal
// "UNSIGNED-PAYLOAD"). The signer follows the S3 flavour of the algorithm:
// the path is URI-encoded once and never normalised, so keys such as "a//b"
// or "x/../y" are signed as they are sent. The client builds its URLs with the
// same encoders, so what is signed is exactly what goes on the wire.
//
// Every step is exposed (canonical request, string to sign, signing key) so
// the unit tests can check each against the published AWS test vectors.
// Secrets: the secret key is only ever fed to HMAC; nothing here formats it
// into a string that could reach a log or an error message.
//
// Thread safety: pure functions; safe from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/bytes.h"

namespace ward::storage::s3 {

// hex(SHA-256("")): the payload hash of a request without a body.
inline constexpr std::string_view kEmptyPayloadSha256 =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
inline constexpr std::string_view kUnsignedPayload = "UNSIGNED-PAYLOAD";

using HeaderList = std::vector<std::pair<std::string, std::string>>;
using QueryList = std::vector<std::pair<std::string, std::string>>;

// RFC 3986 percent-encoding as SigV4 defines it: unreserved characters
// (A-Z a-z 0-9 - . _ ~) stay, every other byte becomes %XX (upper-case hex).
// With encode_slash false, '/' stays (for paths).
std::string UriEncode(std::string_view s, bool encode_slash);

// Decodes %XX escapes ('+' stays '+'); an invalid escape is kept literally.
std::string UriDecode(std::string_view s);

// Splits a raw query string ("b=2&a=1&flag") into decoded pairs.
QueryList ParseQueryString(std::string_view query);

// The canonical query string: names and values encoded, sorted by encoded
// name then value, joined with '&'. Also used verbatim as the URL's query.
std::string CanonicalQueryString(const QueryList& query);

// The canonical path of a decoded path ("/bucket/key"): each byte encoded
// except '/'. An empty path is "/".
std::string CanonicalPath(std::string_view path);

// A header value as SigV4 canonicalises it: surrounding whitespace removed
// and inner runs of spaces collapsed to one.
std::string CanonicalHeaderValue(std::string_view value);

// Hex SHA-256 of `data` (the payload hash of a signed body).
std::string Sha256Hex(ByteView data);
// Raw HMAC-SHA-256.
Bytes HmacSha256(ByteView key, std::string_view data);
// Base64 MD5 of `data`, for Content-MD5.
std::string ContentMd5(ByteView data);

struct SigningKeyParams {
  std::string_view secret_access_key;
  std::string_view date;     // YYYYMMDD
  std::string_view region;   // "us-east-1"
  std::string_view service;  // "s3"
};
// kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request").
Bytes SigningKey(const SigningKeyParams& p);

// What is signed. Headers need not be sorted or lower-case; repeated names
// are joined with ',' in the order given. `host` must be among them.
struct SignableRequest {
  std::string method;  // "GET"
  std::string path;    // decoded: "/bucket/dir/key"
  QueryList query;     // decoded pairs
  HeaderList headers;  // the headers to sign, as sent
  std::string payload_hash;
};

struct SigningContext {
  std::string access_key_id;
  std::string secret_access_key;
  std::string region;
  std::string service = "s3";
  std::string amz_date;  // YYYYMMDDTHHMMSSZ, equal to the x-amz-date header
};

// The intermediate values, for tests and debugging (never logged with the key).
struct SignatureParts {
  std::string canonical_request;
  std::string string_to_sign;
  std::string signed_headers;  // "host;x-amz-date"
  std::string signature;       // hex
  std::string authorization;   // the Authorization header value
};

std::string CanonicalRequest(const SignableRequest& r, std::string* signed_headers);
SignatureParts Sign(const SignableRequest& r, const SigningContext& ctx);

// "20130524T000000Z" for a Unix time in seconds.
std::string AmzDate(int64_t unix_seconds);

}  // namespace ward::storage::s3
