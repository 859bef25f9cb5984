// Schedules: when a plan's jobs run (SPEC §9). A schedule is one of
//   - 5-field cron "m h dom mon dow" in UTC: each field `*`, a number, a
//     range `a-b`, a list `a,b-c`, a step `*/n` or `a-b/n` or `a/n`; months
//     and weekdays also by name (jan..dec, sun..sat; 0 and 7 are Sunday).
//     As in Vixie cron, when both dom and dow are restricted a day matching
//     either one fires;
//   - @hourly, @daily, @weekly (Sunday 00:00), @monthly (the 1st, 00:00);
//   - "@every DURATION" (base/time.h units, e.g. "@every 30s", "@every 2h30m").
//
// Next() is pure (it reads no clock), so the daemon can inject its clock and
// tests can step through months and years.
// Thread safety: a Schedule is an immutable value.
#pragma once

#include <bitset>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"
#include "base/time.h"

namespace ward::plan {

class Schedule {
 public:
  // kInvalidArgument naming the text and what is accepted, for anything else
  // (a field out of range, an unknown name, a cron that never fires such as
  // "0 0 30 2 *").
  static Result<Schedule> Parse(std::string_view text);

  // The first time strictly after `after` at which the schedule fires: for
  // cron, the next matching whole minute; for @every, after + the interval.
  // nullopt when that would be past the last year UnixNanos holds.
  std::optional<UnixNanos> Next(UnixNanos after) const;

  const std::string& text() const { return text_; }
  // The interval of an @every schedule; 0 for cron ones.
  int64_t every_ns() const { return every_ns_; }

 private:
  Schedule() = default;
  bool DayMatches(int year, int month, int day) const;

  std::string text_;
  int64_t every_ns_ = 0;
  std::bitset<60> minutes_;
  std::bitset<24> hours_;
  std::bitset<32> days_;     // 1-31
  std::bitset<13> months_;   // 1-12
  std::bitset<7> weekdays_;  // 0 = Sunday
  bool any_day_ = true;      // dom field starts with '*'
  bool any_weekday_ = true;  // dow field starts with '*'
};

}  // namespace ward::plan
