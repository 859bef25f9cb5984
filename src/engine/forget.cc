#include "engine/forget.h"

#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <mutex>

#include <fmt/format.h>

namespace ward::engine {

namespace {

std::string Join(const std::vector<std::string>& v, const char* sep) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) out += (i ? sep : "") + v[i];
  return out;
}

// Local broken-down time in `tz` (TZ is process-global: serialise).
Result<struct tm> InZone(UnixNanos t, const std::string& tz) {
  static std::mutex mu;
  std::lock_guard lock(mu);
  std::string saved;
  const char* old = std::getenv("TZ");
  bool had = old != nullptr;
  if (had) saved = old;
  if (!tz.empty()) {
    ::setenv("TZ", tz.c_str(), 1);
    ::tzset();
  }
  time_t secs = static_cast<time_t>(t / 1000000000 - (t % 1000000000 < 0 ? 1 : 0));
  struct tm out;
  localtime_r(&secs, &out);
  if (!tz.empty()) {
    if (had) {
      ::setenv("TZ", saved.c_str(), 1);
    } else {
      ::unsetenv("TZ");
    }
    ::tzset();
  }
  return out;
}

}  // namespace

std::string RetentionPolicy::Describe() const {
  std::vector<std::string> parts;
  if (last) parts.push_back(fmt::format("last {}", last));
  if (hourly) parts.push_back(fmt::format("hourly {}", hourly));
  if (daily) parts.push_back(fmt::format("daily {}", daily));
  if (weekly) parts.push_back(fmt::format("weekly {}", weekly));
  if (monthly) parts.push_back(fmt::format("monthly {}", monthly));
  if (yearly) parts.push_back(fmt::format("yearly {}", yearly));
  if (within_ns) parts.push_back("within " + FormatDuration(double(within_ns) / 1e9));
  return Join(parts, ", ");
}

Result<std::vector<ForgetGroup>> ApplyPolicy(const std::vector<repo::Snapshot>& snapshots,
                                             const RetentionPolicy& policy, const std::vector<std::string>& group_by,
                                             const std::string& time_zone,
                                             const std::map<Id, std::vector<std::string>>& holds) {
  for (const auto& g : group_by) {
    if (g != "host" && g != "source" && g != "paths" && g != "tags") {
      return InvalidArgumentError("--group-by '" + g + "': use host, source, paths and/or tags");
    }
  }
  if (!time_zone.empty()) {
    std::string path = "/usr/share/zoneinfo/" + time_zone;
    if (time_zone.find("..") != std::string::npos || ::access(path.c_str(), R_OK) != 0) {
      if (time_zone != "UTC") {
        return InvalidArgumentError("unknown time zone '" + time_zone + "': use an IANA name such as Europe/Berlin");
      }
    }
  }
  std::map<std::string, ForgetGroup> groups;
  std::map<std::string, std::vector<repo::Snapshot>> members;
  for (const auto& s : snapshots) {
    ForgetGroup g;
    std::string k;
    for (const auto& field : group_by) {
      std::string v;
      if (field == "host") v = s.hostname;
      if (field == "source") v = s.service.empty() ? s.source : s.source + ":" + s.service;
      if (field == "paths") v = Join(s.paths, ",");
      if (field == "tags") {
        auto tags = s.tags;
        std::sort(tags.begin(), tags.end());
        v = Join(tags, ",");
      }
      g.key[field] = v;
      k += field + "=" + v + "\n";
    }
    groups.try_emplace(k, g);
    members[k].push_back(s);
  }
  std::vector<ForgetGroup> out;
  for (auto& [k, g] : groups) {
    auto& list = members[k];
    std::sort(list.begin(), list.end(), [](const auto& a, const auto& b) { return a.time > b.time; });
    std::map<Id, std::vector<std::string>> reasons;
    struct Bucket {
      int limit;
      const char* name;
      std::string last;
      int used = 0;
    };
    std::vector<Bucket> buckets = {{policy.hourly, "hourly", "", 0},
                                   {policy.daily, "daily", "", 0},
                                   {policy.weekly, "weekly", "", 0},
                                   {policy.monthly, "monthly", "", 0},
                                   {policy.yearly, "yearly", "", 0}};
    UnixNanos newest = list.empty() ? 0 : list.front().time;
    for (size_t i = 0; i < list.size(); ++i) {
      const auto& s = list[i];
      auto& why = reasons[s.id];
      if (policy.last && static_cast<int>(i) < policy.last) why.push_back(fmt::format("last {}", i + 1));
      if (policy.within_ns && s.time >= newest - policy.within_ns) {
        why.push_back("within " + FormatDuration(double(policy.within_ns) / 1e9));
      }
      WARD_ASSIGN_OR_RETURN(struct tm t, InZone(s.time, time_zone));
      char iso[16];
      strftime(iso, sizeof iso, "%G-%V", &t);
      std::string keys[5] = {fmt::format("{:04}-{:02}-{:02} {:02}", t.tm_year + 1900, t.tm_mon + 1, t.tm_mday, t.tm_hour),
                             fmt::format("{:04}-{:02}-{:02}", t.tm_year + 1900, t.tm_mon + 1, t.tm_mday), iso,
                             fmt::format("{:04}-{:02}", t.tm_year + 1900, t.tm_mon + 1),
                             fmt::format("{:04}", t.tm_year + 1900)};
      for (int b = 0; b < 5; ++b) {
        auto& bucket = buckets[b];
        if (bucket.limit == 0 || keys[b] == bucket.last) continue;
        bucket.last = keys[b];  // newest first: the first one seen in a bucket is its newest
        if (bucket.used < bucket.limit) {
          ++bucket.used;
          why.push_back(fmt::format("{} {}", bucket.name, bucket.used));
        }
      }
      auto h = holds.find(s.id);
      if (h != holds.end()) {
        for (const auto& r : h->second) why.push_back("held: " + r);
      }
      if (why.empty()) {
        g.remove.push_back(s);
      } else {
        g.keep.push_back({s, why});
      }
    }
    out.push_back(std::move(g));
  }
  return out;
}

}  // namespace ward::engine
