// ward coverage: does a snapshot exist for every interval of the expected
// cadence? (The runbook's "check that daily snapshots exist for the desired
// time range".) Exit status 1 when an interval has none.
#include <iostream>

#include <fmt/format.h>

#include "base/time.h"
#include "cmd/common.h"

namespace ward::cmd {

namespace {
struct CoverageOpts {
  std::string every;
  std::string since, until;
  SnapshotFilter filter;
};
}  // namespace

void RegisterCoverage(CLI::App& app, GlobalOptions& g, Runner* runner) {
  static CoverageOpts o;
  auto* cmd = app.add_subcommand("coverage", "List the intervals that have no snapshot (exit 1 on a gap)");
  cmd->add_option("--every", o.every, "the expected cadence: 1h, 1d, 15m, 1w ...")->required();
  cmd->add_option("--since", o.since, "start of the range (default: the first matching snapshot)");
  cmd->add_option("--until", o.until, "end of the range (default: now)");
  o.filter.AddFlags(cmd, false);
  cmd->footer(
      "Intervals start at --since and are --every long; each must hold at least one snapshot.\n"
      "Example: ward coverage --every 1d --since 2026-11-01 --source postgres --json");
  cmd->callback([&g, runner] {
    *runner = [&g]() -> int {
      auto every = ParseDuration(o.every);
      if (!every.ok()) return Fail(every.status().WithContext("--every"), kExitUsage);
      if (*every <= 0) return Fail("--every " + o.every + ": give a cadence longer than zero, e.g. 1d", kExitUsage);
      std::optional<UnixNanos> since, until;
      if (!o.since.empty()) {
        auto t = ParseTime(o.since);
        if (!t.ok()) return Fail(t.status().WithContext("--since"), kExitUsage);
        since = *t;
      }
      if (!o.until.empty()) {
        auto t = ParseTime(o.until);
        if (!t.ok()) return Fail(t.status().WithContext("--until"), kExitUsage);
        until = o.until.size() == 10 ? *t + 86400ll * 1000000000 : *t;  // a date means the whole day
      }
      int code = 0;
      auto repo = OpenRepository(g, &code);
      if (!repo) return code;
      auto snaps = o.filter.Select(*repo, &code);
      if (!snaps) return code;
      UnixNanos end = until ? *until : NowNanos();
      if (!since) {
        if (snaps->empty()) return Fail("no snapshot matches, so there is no range to check: give --since", kExitFailure);
        since = snaps->front().time;
      }
      if (*since >= end) return Fail("--since is not before --until", kExitUsage);
      struct Gap {
        UnixNanos start, end;
        int64_t intervals;
      };
      std::vector<Gap> gaps;
      int64_t intervals = 0, covered = 0;
      size_t i = 0;  // snapshots are sorted by time
      for (UnixNanos t = *since; t < end; t += *every) {
        UnixNanos next = std::min(t + *every, end);
        ++intervals;
        while (i < snaps->size() && (*snaps)[i].time < t) ++i;
        bool have = i < snaps->size() && (*snaps)[i].time < next;
        if (have) {
          ++covered;
        } else if (!gaps.empty() && gaps.back().end == t) {
          gaps.back().end = next;
          gaps.back().intervals++;
        } else {
          gaps.push_back({t, next, 1});
        }
      }
      if (g.json) {
        nlohmann::json jg = nlohmann::json::array();
        for (const auto& gp : gaps) {
          jg.push_back({{"start", FormatRfc3339(gp.start)}, {"end", FormatRfc3339(gp.end)}, {"intervals", gp.intervals}});
        }
        PrintJson({{"message_type", "coverage"},
                   {"every", o.every},
                   {"since", FormatRfc3339(*since)},
                   {"until", FormatRfc3339(end)},
                   {"intervals", intervals},
                   {"covered", covered},
                   {"missing", intervals - covered},
                   {"gaps", jg},
                   {"ok", gaps.empty()}});
      } else if (!g.quiet || !gaps.empty()) {
        for (const auto& gp : gaps) {
          std::cout << fmt::format("missing {} .. {} ({} interval{} of {})\n", FormatLocalTime(gp.start),
                                   FormatLocalTime(gp.end), gp.intervals, gp.intervals == 1 ? "" : "s", o.every);
        }
        std::cout << fmt::format("{} of {} intervals of {} from {} to {} have a snapshot\n", covered, intervals, o.every,
                                 FormatLocalTime(*since), FormatLocalTime(end));
      }
      if (!gaps.empty()) {
        if (!g.json) std::cerr << fmt::format("ward: coverage has {} gap(s)\n", gaps.size());
        return kExitFailure;
      }
      return kExitOk;
    };
  });
}

}  // namespace ward::cmd
