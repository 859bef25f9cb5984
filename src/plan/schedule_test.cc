#include "plan/schedule.h"

#include <gtest/gtest.h>

namespace ward::plan {
namespace {

UnixNanos T(const char* rfc3339) { return *ParseTime(rfc3339); }

std::string NextAfter(const char* schedule, const char* after) {
  auto s = Schedule::Parse(schedule);
  if (!s.ok()) return s.status().message();
  auto n = s->Next(T(after));
  return n ? FormatRfc3339(*n) : "never";
}

TEST(ScheduleTest, CronFieldsStepsListsRangesAndNames) {
  EXPECT_EQ(NextAfter("0 * * * *", "2026-12-03T14:05:09Z"), "2026-12-03T15:00:00Z");
  EXPECT_EQ(NextAfter("*/15 * * * *", "2026-12-03T14:05:09Z"), "2026-12-03T14:15:00Z");
  EXPECT_EQ(NextAfter("*/15 * * * *", "2026-12-03T14:15:00Z"),
            "2026-12-03T14:30:00Z");  // strictly after
  EXPECT_EQ(NextAfter("5,35 2-4 * * *", "2026-12-03T03:40:00Z"), "2026-12-03T04:05:00Z");
  EXPECT_EQ(NextAfter("10-50/20 * * * *", "2026-12-03T03:31:00Z"), "2026-12-03T03:50:00Z");
  EXPECT_EQ(NextAfter("30/15 * * * *", "2026-12-03T03:46:00Z"), "2026-12-03T04:30:00Z");
  EXPECT_EQ(NextAfter("0 3 * * mon", "2026-12-03T14:00:00Z"),
            "2026-12-07T03:00:00Z");  // Thu -> Mon
  EXPECT_EQ(NextAfter("0 3 * * MON-wed", "2026-12-08T14:00:00Z"), "2026-12-09T03:00:00Z");
  EXPECT_EQ(NextAfter("0 0 * * 7", "2026-12-03T00:00:00Z"), "2026-12-06T00:00:00Z");  // 7 is Sunday
  EXPECT_EQ(NextAfter("0 0 * * fri-sun", "2026-12-06T00:00:00Z"), "2026-12-11T00:00:00Z");
  EXPECT_EQ(NextAfter("0 0 1 jan,jul *", "2026-12-03T00:00:00Z"), "2027-01-01T00:00:00Z");
  // dom and dow both restricted: either one fires (Vixie cron).
  EXPECT_EQ(NextAfter("0 0 15 * fri", "2026-12-05T00:00:00Z"), "2026-12-11T00:00:00Z");
  EXPECT_EQ(NextAfter("0 0 15 * fri", "2026-12-12T00:00:00Z"), "2026-12-15T00:00:00Z");
}

TEST(ScheduleTest, NextAcrossMonthAndYearEndsAndLeapDays) {
  EXPECT_EQ(NextAfter("0 0 31 * *", "2026-04-15T00:00:00Z"),
            "2026-05-31T00:00:00Z");  // April has 30
  EXPECT_EQ(NextAfter("30 23 * * *", "2026-02-28T23:45:00Z"), "2026-03-01T23:30:00Z");
  EXPECT_EQ(NextAfter("0 0 29 2 *", "2026-01-01T00:00:00Z"), "2028-02-29T00:00:00Z");
  EXPECT_EQ(NextAfter("0 0 29 2 *", "2096-03-01T00:00:00Z"),
            "2104-02-29T00:00:00Z");  // 2100 is no leap year
  EXPECT_EQ(NextAfter("59 23 31 12 *", "2026-12-31T23:59:00Z"), "2027-12-31T23:59:00Z");
  EXPECT_EQ(NextAfter("@monthly", "2026-01-31T12:00:00Z"), "2026-02-01T00:00:00Z");
  EXPECT_EQ(NextAfter("@monthly", "2026-12-15T00:00:00Z"), "2027-01-01T00:00:00Z");
  EXPECT_EQ(NextAfter("@daily", "2026-12-31T00:00:00Z"), "2027-01-01T00:00:00Z");
  EXPECT_EQ(NextAfter("@hourly", "2026-12-31T23:00:01Z"), "2027-01-01T00:00:00Z");
  EXPECT_EQ(NextAfter("@weekly", "2026-12-03T00:00:00Z"), "2026-12-06T00:00:00Z");
  EXPECT_EQ(NextAfter("@daily", "2261-12-31T00:00:00Z"), "never");  // past what UnixNanos holds
}

TEST(ScheduleTest, EveryIsAnIntervalFromTheGivenTime) {
  EXPECT_EQ(NextAfter("@every 30s", "2026-12-03T14:05:09Z"), "2026-12-03T14:05:39Z");
  EXPECT_EQ(NextAfter("@every 2h30m", "2026-12-31T23:00:00Z"), "2027-01-01T01:30:00Z");
  EXPECT_EQ(Schedule::Parse("@every 90s")->every_ns(), 90ll * 1000000000);
  EXPECT_EQ(Schedule::Parse("@every 1d")->Next(INT64_MAX - 5), std::nullopt);
}

TEST(ScheduleTest, RejectsWhatCronDoesNotMeanNamingTheText) {
  struct Case {
    const char* text;
    const char* why;
  } cases[] = {
      {"every tuesday", "2 fields where cron has 5"},
      {"", "0 fields"},
      {"* * * *", "4 fields"},
      {"* * * * * *", "6 fields"},
      {"61 * * * *", "minute 61 is out of range 0-59"},
      {"0 24 * * *", "hour 24 is out of range 0-23"},
      {"0 0 0 * *", "day of month 0 is out of range 1-31"},
      {"0 0 * 13 *", "month 13 is out of range 1-12"},
      {"0 0 * * 8", "day of week 8 is out of range 0-7"},
      {"0 0 * * tues", "'tues' is not a valid day of week"},
      {"0 0 * smarch *", "'smarch' is not a valid month"},
      {"*/0 * * * *", "step '0'"},
      {"*/x * * * *", "step 'x'"},
      {"30-10 * * * *", "runs backwards"},
      {"0 0 30 2 *", "never fires"},
      {"0 0 31 4,6,9,11 *", "never fires"},
      {"@yearlyish", "schedule '@yearlyish'"},
      {"@every", "schedule '@every'"},
      {"@every 0s", "longer than 0s"},
      {"@every 5", "invalid duration"},
      {"@every 99999999999999999999h", "too long"},
  };
  for (const auto& c : cases) {
    auto s = Schedule::Parse(c.text);
    ASSERT_FALSE(s.ok()) << "accepted: " << c.text;
    const std::string m = s.status().message();
    EXPECT_NE(m.find(c.why), std::string::npos) << c.text << " -> " << m;
    EXPECT_NE(m.find("schedule '" + std::string(c.text) + "'"), std::string::npos) << m;
    EXPECT_NE(m.find("@every DURATION"), std::string::npos) << m;  // says what is accepted
    EXPECT_EQ(m.find('\n'), std::string::npos) << m;
  }
}

}  // namespace
}  // namespace ward::plan
