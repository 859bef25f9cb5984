#include "io/child_env.h"

#include <algorithm>

extern char** environ;

namespace ward::io {

namespace {

std::string_view NameOf(std::string_view entry) { return entry.substr(0, entry.find('=')); }

}  // namespace

bool IsSecretVariable(std::string_view name) {
  if (name == "WARD_PASSWORD" || name == "WARD_PASSWORD_FILE" || name == "WARD_PASSWORD_COMMAND")
    return true;
  if (name.rfind("AWS_", 0) != 0) return false;
  for (std::string_view word : {"KEY", "SECRET", "TOKEN", "PASSWORD", "CREDENTIALS"}) {
    if (name.find(word) != std::string_view::npos) return true;
  }
  return false;
}

ChildEnv::ChildEnv(const std::vector<std::string>& pass, const std::vector<std::string>& add) {
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view name = NameOf(*e);
    if (IsSecretVariable(name) && std::find(pass.begin(), pass.end(), name) == pass.end()) continue;
    entries_.emplace_back(*e);
  }
  for (const auto& kv : add) {
    std::string_view name = NameOf(kv);
    std::erase_if(entries_, [&](const std::string& s) { return NameOf(s) == name; });
    entries_.push_back(kv);
  }
}

char* const* ChildEnv::envp() {
  pointers_.clear();
  for (auto& s : entries_) pointers_.push_back(s.data());
  pointers_.push_back(nullptr);
  return pointers_.data();
}

}  // namespace ward::io
