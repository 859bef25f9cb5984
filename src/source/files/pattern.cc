#include "source/files/pattern.h"

#include <fnmatch.h>

namespace ward::source {

namespace {

std::vector<std::string> Split(const std::string& path) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos <= path.size()) {
    size_t slash = path.find('/', pos);
    if (slash == std::string::npos) slash = path.size();
    if (slash > pos) out.push_back(path.substr(pos, slash - pos));
    pos = slash + 1;
  }
  return out;
}

// Does pattern parts[pi..] match path parts[xi..] completely-or-as-prefix?
// A pattern that matches a leading part of the path matches the whole path
// (matching a directory matches its content).
bool MatchFrom(const std::vector<std::string>& pat, size_t pi, const std::vector<std::string>& path,
               size_t xi) {
  if (pi == pat.size()) return true;
  if (pat[pi] == "**") {
    for (size_t k = xi; k <= path.size(); ++k) {
      if (MatchFrom(pat, pi + 1, path, k)) return true;
    }
    return false;
  }
  if (xi == path.size()) return false;
  if (fnmatch(pat[pi].c_str(), path[xi].c_str(), 0) != 0) return false;
  return MatchFrom(pat, pi + 1, path, xi + 1);
}

// Could a path that starts with dir's parts and continues match?
bool PrefixCompatible(const std::vector<std::string>& pat, size_t pi,
                      const std::vector<std::string>& dir, size_t xi) {
  if (xi == dir.size()) return true;
  if (pi == pat.size()) return true;  // pattern matched already
  if (pat[pi] == "**") return true;
  if (fnmatch(pat[pi].c_str(), dir[xi].c_str(), 0) != 0) return false;
  return PrefixCompatible(pat, pi + 1, dir, xi + 1);
}

}  // namespace

Result<PathMatcher> PathMatcher::Create(const std::vector<std::string>& patterns) {
  PathMatcher m;
  for (const auto& p : patterns) {
    if (p.empty()) return InvalidArgumentError("empty pattern");
    if (p[0] == '!') return InvalidArgumentError("pattern '" + p + "': negation is not supported");
    Pattern pat;
    pat.anchored = p[0] == '/';
    pat.parts = Split(p);
    if (pat.parts.empty()) return InvalidArgumentError("pattern '" + p + "' matches nothing");
    m.patterns_.push_back(std::move(pat));
  }
  return m;
}

bool PathMatcher::Matches(const std::string& path) const {
  auto parts = Split(path);
  for (const auto& p : patterns_) {
    if (p.anchored || p.parts.size() > 1) {
      if (p.anchored) {
        if (MatchFrom(p.parts, 0, parts, 0)) return true;
      } else {
        for (size_t start = 0; start < parts.size(); ++start) {
          if (MatchFrom(p.parts, 0, parts, start)) return true;
        }
      }
    } else {
      for (const auto& part : parts) {
        if (p.parts[0] == "**" || fnmatch(p.parts[0].c_str(), part.c_str(), 0) == 0) return true;
      }
    }
  }
  return false;
}

bool PathMatcher::CouldMatchBelow(const std::string& dir) const {
  auto parts = Split(dir);
  for (const auto& p : patterns_) {
    if (!p.anchored) return true;  // may match deeper at any level
    if (PrefixCompatible(p.parts, 0, parts, 0)) return true;
  }
  return false;
}

}  // namespace ward::source
