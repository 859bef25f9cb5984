#include "storage/s3/sigv4.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <algorithm>
#include <ctime>
#include <map>

namespace ward::storage::s3 {

namespace {

bool IsUnreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string ToLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

}  // namespace

std::string UriEncode(std::string_view s, bool encode_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size() * 3);
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (IsUnreserved(c) || (c == '/' && !encode_slash)) {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

std::string UriDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      int hi = HexValue(s[i + 1]), lo = HexValue(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

QueryList ParseQueryString(std::string_view query) {
  QueryList out;
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view part = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (part.empty()) continue;
    size_t eq = part.find('=');
    if (eq == std::string_view::npos) {
      out.emplace_back(UriDecode(part), "");
    } else {
      out.emplace_back(UriDecode(part.substr(0, eq)), UriDecode(part.substr(eq + 1)));
    }
  }
  return out;
}

std::string CanonicalQueryString(const QueryList& query) {
  std::vector<std::pair<std::string, std::string>> encoded;
  encoded.reserve(query.size());
  for (const auto& [k, v] : query) encoded.emplace_back(UriEncode(k, true), UriEncode(v, true));
  std::sort(encoded.begin(), encoded.end());
  std::string out;
  for (const auto& [k, v] : encoded) {
    if (!out.empty()) out.push_back('&');
    out += k;
    out.push_back('=');
    out += v;
  }
  return out;
}

std::string CanonicalPath(std::string_view path) {
  if (path.empty()) return "/";
  return UriEncode(path, /*encode_slash=*/false);
}

std::string CanonicalHeaderValue(std::string_view value) {
  size_t b = 0, e = value.size();
  while (b < e && IsSpace(value[b])) ++b;
  while (e > b && IsSpace(value[e - 1])) --e;
  std::string out;
  out.reserve(e - b);
  bool in_space = false;
  for (size_t i = b; i < e; ++i) {
    char c = value[i];
    if (c == ' ' || c == '\t') {
      if (!in_space) out.push_back(' ');
      in_space = true;
    } else {
      out.push_back(c);
      in_space = false;
    }
  }
  return out;
}

std::string Sha256Hex(ByteView data) {
  uint8_t digest[SHA256_DIGEST_LENGTH];
  SHA256(data.data(), data.size(), digest);
  return HexEncode(ByteView(digest, sizeof digest));
}

Bytes HmacSha256(ByteView key, std::string_view data) {
  Bytes out(EVP_MAX_MD_SIZE);
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data(), &len);
  out.resize(len);
  return out;
}

std::string ContentMd5(ByteView data) {
  uint8_t digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), digest, &len, EVP_md5(), nullptr);
  return Base64Encode(ByteView(digest, len));
}

Bytes SigningKey(const SigningKeyParams& p) {
  std::string k0 = "AWS4";
  k0.append(p.secret_access_key);
  Bytes k = HmacSha256(AsBytes(k0), p.date);
  // Do not leave the secret in freed memory longer than needed.
  std::fill(k0.begin(), k0.end(), '\0');
  k = HmacSha256(k, p.region);
  k = HmacSha256(k, p.service);
  return HmacSha256(k, "aws4_request");
}

std::string CanonicalRequest(const SignableRequest& r, std::string* signed_headers) {
  // Lower-case names; values of repeated names joined in order with ','.
  std::map<std::string, std::string> headers;
  for (const auto& [name, value] : r.headers) {
    std::string n = ToLower(name);
    std::string v = CanonicalHeaderValue(value);
    auto [it, inserted] = headers.emplace(n, v);
    if (!inserted) it->second += "," + v;
  }
  std::string canonical_headers, names;
  for (const auto& [n, v] : headers) {
    canonical_headers += n + ":" + v + "\n";
    if (!names.empty()) names.push_back(';');
    names += n;
  }
  if (signed_headers != nullptr) *signed_headers = names;
  std::string out;
  out.reserve(256 + canonical_headers.size());
  out += r.method;
  out += '\n';
  out += CanonicalPath(r.path);
  out += '\n';
  out += CanonicalQueryString(r.query);
  out += '\n';
  out += canonical_headers;
  out += '\n';
  out += names;
  out += '\n';
  out += r.payload_hash;
  return out;
}

SignatureParts Sign(const SignableRequest& r, const SigningContext& ctx) {
  SignatureParts parts;
  parts.canonical_request = CanonicalRequest(r, &parts.signed_headers);
  std::string date = ctx.amz_date.substr(0, 8);
  std::string scope = date + "/" + ctx.region + "/" + ctx.service + "/aws4_request";
  parts.string_to_sign = "AWS4-HMAC-SHA256\n" + ctx.amz_date + "\n" + scope + "\n" +
                         Sha256Hex(AsBytes(parts.canonical_request));
  Bytes key = SigningKey({ctx.secret_access_key, date, ctx.region, ctx.service});
  parts.signature = HexEncode(HmacSha256(key, parts.string_to_sign));
  std::fill(key.begin(), key.end(), 0);
  parts.authorization = "AWS4-HMAC-SHA256 Credential=" + ctx.access_key_id + "/" + scope +
                        ", SignedHeaders=" + parts.signed_headers +
                        ", Signature=" + parts.signature;
  return parts;
}

std::string AmzDate(int64_t unix_seconds) {
  time_t t = static_cast<time_t>(unix_seconds);
  struct tm tm;
  gmtime_r(&t, &tm);
  char buf[32];
  strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

}  // namespace ward::storage::s3
