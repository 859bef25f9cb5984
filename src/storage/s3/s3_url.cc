#include "storage/s3/s3_url.h"

#include <cstdlib>

namespace ward::storage::s3 {

namespace {

constexpr std::string_view kForms =
    "use s3:https://host[:port]/bucket[/prefix] or s3:bucket[/prefix] (AWS)";

Status Bad(std::string_view url, std::string_view why) {
  return InvalidArgumentError("repository '" + std::string(url) + "': " + std::string(why) + "; " +
                              std::string(kForms));
}

bool IsAlnumLower(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

bool IsHostChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '-' || c == '_';
}

bool IsLooseBucketChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '-' || c == '_';
}

// Splits "bucket/pre/fix" into bucket and a clean prefix.
Status SplitBucketPath(std::string_view url, std::string_view path, bool aws, S3Url* out) {
  size_t slash = path.find('/');
  std::string_view bucket = path.substr(0, slash);
  std::string_view prefix = slash == std::string_view::npos ? "" : path.substr(slash + 1);
  if (bucket.empty()) return Bad(url, "no bucket name");
  if (aws) {
    if (!IsValidAwsBucketName(bucket)) {
      return Bad(url, "'" + std::string(bucket) +
                          "' is not a valid AWS bucket name (3-63 characters: a-z, 0-9, '.', '-')");
    }
  } else {
    if (bucket.size() > 255) return Bad(url, "bucket name longer than 255 characters");
    for (char c : bucket) {
      if (!IsLooseBucketChar(c)) {
        return Bad(url, "bucket name '" + std::string(bucket) +
                            "' has a character other than "
                            "letters, digits, '.', '-' and '_'");
      }
    }
  }
  while (!prefix.empty() && prefix.back() == '/') prefix.remove_suffix(1);
  if (prefix.size() > 512) return Bad(url, "prefix longer than 512 characters");
  std::string_view rest = prefix;
  while (!rest.empty()) {
    size_t s = rest.find('/');
    std::string_view seg = rest.substr(0, s);
    if (seg.empty()) return Bad(url, "empty path segment ('//') in the prefix");
    if (seg == "." || seg == "..") return Bad(url, "'.' or '..' in the prefix");
    rest = s == std::string_view::npos ? "" : rest.substr(s + 1);
  }
  for (char c : prefix) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f || c == '?' || c == '#' || c == '\\') {
      return Bad(url, "the prefix has a control character, '?', '#' or '\\'");
    }
  }
  out->bucket = std::string(bucket);
  out->prefix = std::string(prefix);
  return Status::OK();
}

}  // namespace

bool IsValidAwsBucketName(std::string_view b) {
  if (b.size() < 3 || b.size() > 63) return false;
  if (!IsAlnumLower(b.front()) || !IsAlnumLower(b.back())) return false;
  int dots = 0;
  bool all_digits_and_dots = true;
  for (size_t i = 0; i < b.size(); ++i) {
    char c = b[i];
    if (!IsAlnumLower(c) && c != '.' && c != '-') return false;
    if (c == '.') {
      ++dots;
      if (i > 0 && (b[i - 1] == '.' || b[i - 1] == '-')) return false;
      if (i + 1 < b.size() && b[i + 1] == '-') return false;
    } else if (!(c >= '0' && c <= '9')) {
      all_digits_and_dots = false;
    }
  }
  // "192.168.5.4" is not a bucket name.
  return !(dots == 3 && all_digits_and_dots);
}

std::string S3Url::ToString() const {
  std::string out = "s3:";
  if (!aws) {
    out += scheme + "://" + host;
    if (port != 0) out += ":" + std::to_string(port);
    out += "/";
  }
  out += bucket;
  if (!prefix.empty()) out += "/" + prefix;
  return out;
}

Result<S3Url> ParseS3Url(std::string_view url) {
  if (url.substr(0, 3) != "s3:") return Bad(url, "not an s3: URL");
  std::string_view rest = url.substr(3);
  S3Url out;
  size_t sep = rest.find("://");
  if (sep == std::string_view::npos) {
    // s3:bucket[/prefix] on AWS.
    if (rest.find(':') != std::string_view::npos) return Bad(url, "unexpected ':'");
    out.aws = true;
    WARD_RETURN_IF_ERROR(SplitBucketPath(url, rest, /*aws=*/true, &out));
    return out;
  }
  std::string_view scheme = rest.substr(0, sep);
  if (scheme != "https" && scheme != "http") {
    return Bad(url, "the endpoint scheme must be https or http");
  }
  out.scheme = std::string(scheme);
  rest = rest.substr(sep + 3);
  if (rest.find('?') != std::string_view::npos || rest.find('#') != std::string_view::npos) {
    return Bad(url, "a query or fragment ('?', '#') is not allowed");
  }
  size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? "" : rest.substr(slash + 1);
  if (authority.find('@') != std::string_view::npos) {
    // Never echo the URL back: it holds a secret.
    return InvalidArgumentError(
        "an s3: repository URL must not contain credentials (user:secret@host): set "
        "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY instead");
  }
  std::string_view host = authority;
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return Bad(url, "unterminated IPv6 address");
    host = authority.substr(0, close + 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return Bad(url, "garbage after the IPv6 address");
      port = after.substr(1);
    }
    for (char c : host.substr(1, host.size() - 2)) {
      if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ||
            c == ':' || c == '.')) {
        return Bad(url, "invalid IPv6 address");
      }
    }
  } else {
    size_t colon = authority.find(':');
    if (colon != std::string_view::npos) {
      host = authority.substr(0, colon);
      port = authority.substr(colon + 1);
    }
    for (char c : host) {
      if (!IsHostChar(c)) return Bad(url, "invalid character in the host name");
    }
  }
  if (host.empty() || host == "[]") return Bad(url, "no host");
  if (!port.empty() || authority.find(':') != std::string_view::npos) {
    if (port.empty() || port.size() > 5) return Bad(url, "invalid port");
    int p = 0;
    for (char c : port) {
      if (c < '0' || c > '9') return Bad(url, "invalid port");
      p = p * 10 + (c - '0');
    }
    if (p < 1 || p > 65535) return Bad(url, "port out of range");
    // The scheme's default port is the same endpoint: keep the URL canonical.
    if (!((p == 443 && scheme == "https") || (p == 80 && scheme == "http"))) out.port = p;
  }
  std::string lower_host(host);
  for (char& c : lower_host) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  out.host = lower_host;
  WARD_RETURN_IF_ERROR(SplitBucketPath(url, path, /*aws=*/false, &out));
  return out;
}

}  // namespace ward::storage::s3
