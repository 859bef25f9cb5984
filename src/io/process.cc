#include "io/process.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <sstream>

#include "io/file.h"

namespace ward::io {

namespace {
constexpr size_t kBootPrefix = 12;
}  // namespace

std::string ThisBootId() {
  static const std::string id = [] {
    auto b = ReadWholeFile("/proc/sys/kernel/random/boot_id");
    if (!b.ok()) return std::string();
    std::string s(AsString(*b));
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    return s;
  }();
  return id;
}

uint64_t ProcessStartTicks(int64_t pid) {
  auto stat = ReadWholeFile("/proc/" + std::to_string(pid) + "/stat");
  if (!stat.ok()) return 0;
  std::string s(AsString(*stat));
  size_t paren = s.rfind(')');  // the command name may contain spaces
  if (paren == std::string::npos) return 0;
  std::istringstream in(s.substr(paren + 2));
  std::string field;
  // Field 3 (state) is the first after ')'; starttime is field 22.
  for (int i = 3; i <= 22 && (in >> field); ++i) {
    if (i == 22) return std::strtoull(field.c_str(), nullptr, 10);
  }
  return 0;
}

namespace {
bool OnThisBoot(const ProcessOwner& owner) {
  const std::string boot = ThisBootId();
  if (owner.boot_id.empty() || boot.empty() || owner.pid <= 0) return false;
  // A full boot ID must match; a temporary name's prefix must start it.
  return owner.boot_id.size() >= boot.size() ? owner.boot_id == boot : boot.rfind(owner.boot_id, 0) == 0;
}
}  // namespace

bool IsAliveOnThisMachine(const ProcessOwner& owner) {
  if (!OnThisBoot(owner)) return false;
  if (::kill(static_cast<pid_t>(owner.pid), 0) != 0 && errno == ESRCH) return false;
  uint64_t start = ProcessStartTicks(owner.pid);
  return start != 0 && start == owner.pid_start;
}

bool IsGoneFromThisMachine(const ProcessOwner& owner) {
  if (!OnThisBoot(owner)) return false;
  if (::kill(static_cast<pid_t>(owner.pid), 0) != 0 && errno == ESRCH) return true;
  uint64_t start = ProcessStartTicks(owner.pid);
  return owner.pid_start != 0 && start != 0 && start != owner.pid_start;  // PID reused
}

std::string TempOwnerTag() {
  static const std::string tag = [] {
    std::string boot;
    for (char c : ThisBootId()) {
      if (c != '-' && boot.size() < kBootPrefix) boot += c;
    }
    if (boot.empty()) boot = "0";
    return boot + "." + std::to_string(::getpid()) + "." + std::to_string(ProcessStartTicks(::getpid()));
  }();
  return tag;
}

std::optional<ProcessOwner> ParseTempOwner(std::string_view name) {
  size_t at = name.rfind(".tmp-");
  if (at == std::string_view::npos) return std::nullopt;
  std::string_view rest = name.substr(at + 5);
  size_t dot1 = rest.find('.'), dot2 = rest.find('.', dot1 == rest.npos ? rest.npos : dot1 + 1);
  size_t dash = rest.find('-', dot2 == rest.npos ? rest.npos : dot2 + 1);
  if (dot1 == rest.npos || dot2 == rest.npos || dash == rest.npos) return std::nullopt;
  ProcessOwner o;
  std::string boot(rest.substr(0, dot1));
  if (boot.size() != kBootPrefix) return std::nullopt;
  // Boot IDs are written with dashes (8-4-4-4-12); the prefix drops them.
  o.boot_id = boot.substr(0, 8) + "-" + boot.substr(8, 4);
  auto num = [](std::string_view s, auto* out) {
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
    return ec == std::errc() && p == s.data() + s.size();
  };
  if (!num(rest.substr(dot1 + 1, dot2 - dot1 - 1), &o.pid) ||
      !num(rest.substr(dot2 + 1, dash - dot2 - 1), &o.pid_start)) {
    return std::nullopt;
  }
  return o;
}

}  // namespace ward::io
