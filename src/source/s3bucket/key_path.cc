#include "source/s3bucket/key_path.h"

#include <unordered_set>

namespace ward::source::s3bucket {

namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// Percent-decodes `s`, which must be well formed (every '%' followed by two
// hex digits, encoding '%', NUL or '.'); false otherwise.
bool Unescape(std::string_view s, std::string* out) {
  out->clear();
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out->push_back(s[i]);
      continue;
    }
    if (i + 2 >= s.size()) return false;
    int hi = HexValue(s[i + 1]), lo = HexValue(s[i + 2]);
    if (hi < 0 || lo < 0) return false;
    char c = static_cast<char>(hi * 16 + lo);
    if (c != '%' && c != '\0' && c != '.') return false;
    out->push_back(c);
    i += 2;
  }
  return true;
}

}  // namespace

std::string EncodeComponent(std::string_view c) {
  if (c.empty()) return "%";
  if (c == ".") return "%2E";
  if (c == "..") return "%2E%2E";
  std::string out;
  out.reserve(c.size());
  for (char ch : c) {
    if (ch == '%') {
      out += "%25";
    } else if (ch == '\0') {
      out += "%00";
    } else {
      out.push_back(ch);
    }
  }
  return out;
}

Result<std::string> DecodeComponent(std::string_view name, bool* beside_folder) {
  auto bad = [&] {
    return InvalidArgumentError("'" + std::string(name) + "' is not the name of an S3 key component");
  };
  bool marker = false;
  std::string_view body = name;
  if (name != "%" && !name.empty() && name.back() == '%') {
    marker = true;
    body.remove_suffix(1);
  }
  if (beside_folder) *beside_folder = marker;
  if (body == "%") return std::string();
  if (body.empty()) return bad();
  std::string out;
  if (!Unescape(body, &out)) return bad();
  // Only "." and ".." are written with escaped dots; anything else that
  // decodes to them, or is written differently than EncodeComponent would,
  // is not a name it makes.
  if (EncodeComponent(out) != body) return bad();
  return out;
}

std::vector<std::string> KeysToPaths(const std::vector<std::string>& keys) {
  std::unordered_set<std::string_view> folders;
  for (const std::string& k : keys) {
    for (size_t p = k.find('/'); p != std::string::npos; p = k.find('/', p + 1)) {
      folders.insert(std::string_view(k).substr(0, p));
    }
  }
  std::vector<std::string> out;
  out.reserve(keys.size());
  for (const std::string& k : keys) {
    std::string path;
    size_t start = 0;
    for (;;) {
      size_t slash = k.find('/', start);
      std::string_view comp = std::string_view(k).substr(start, slash == std::string::npos ? std::string::npos
                                                                                          : slash - start);
      if (start > 0) path += '/';
      path += EncodeComponent(comp);
      if (slash == std::string::npos) break;
      start = slash + 1;
    }
    if (folders.count(k)) path += '%';
    out.push_back(std::move(path));
  }
  return out;
}

Result<std::string> DecodePath(std::string_view path) {
  std::string key;
  size_t start = 0;
  for (;;) {
    size_t slash = path.find('/', start);
    std::string_view name = path.substr(start, slash == std::string_view::npos ? std::string_view::npos
                                                                               : slash - start);
    bool marker = false;
    auto comp = DecodeComponent(name, &marker);
    if (!comp.ok()) return comp.status().WithContext("path '" + std::string(path) + "'");
    if (marker && slash != std::string_view::npos) {
      return InvalidArgumentError("path '" + std::string(path) + "': '" + std::string(name) +
                                  "' names an object, not a folder");
    }
    if (start > 0) key += '/';
    key += *comp;
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return key;
}

}  // namespace ward::source::s3bucket
