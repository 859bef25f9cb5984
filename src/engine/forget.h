// Retention: which snapshots a policy keeps (restic's forget semantics).
//
// Snapshots are grouped (by host, source, paths and/or tags); within each
// group, newest first, a snapshot is kept if it is among the last N, the
// newest of one of the N most recent hours/days/ISO weeks/months/years (in
// the chosen time zone), within a duration of the group's newest snapshot, or
// under a legal hold. Everything else in the group is removed. Every kept
// snapshot carries the reasons it was kept.
// Thread safety: pure functions.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "base/status.h"
#include "repo/snapshot.h"

namespace ward::engine {

struct RetentionPolicy {
  int last = 0, hourly = 0, daily = 0, weekly = 0, monthly = 0, yearly = 0;
  int64_t within_ns = 0;
  bool Empty() const { return !last && !hourly && !daily && !weekly && !monthly && !yearly && !within_ns; }
  std::string Describe() const;
};

struct ForgetGroup {
  std::map<std::string, std::string> key;  // "host" -> "db1", ...
  struct Kept {
    repo::Snapshot snapshot;
    std::vector<std::string> reasons;  // "last 1", "daily 3", "held: case 42", ...
  };
  std::vector<Kept> keep;
  std::vector<repo::Snapshot> remove;
};

// `group_by`: any of host, source, paths, tags. `time_zone`: an IANA name
// ("Europe/Berlin", "UTC") or "" for local time. `holds`: snapshot ID ->
// reasons of its active holds.
Result<std::vector<ForgetGroup>> ApplyPolicy(const std::vector<repo::Snapshot>& snapshots,
                                             const RetentionPolicy& policy, const std::vector<std::string>& group_by,
                                             const std::string& time_zone,
                                             const std::map<Id, std::vector<std::string>>& holds);

}  // namespace ward::engine
