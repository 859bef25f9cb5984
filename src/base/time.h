// Time points, RFC 3339 and duration parsing.
//
// ward stores times as nanoseconds since the Unix epoch (UTC) in an int64.
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"

namespace ward {

using UnixNanos = int64_t;

UnixNanos NowNanos();

// "2026-11-22T17:46:13.123456789Z" (nanoseconds omitted when zero); UTC.
std::string FormatRfc3339(UnixNanos t);
// Same instant in the local time zone with its offset, seconds precision.
std::string FormatLocalTime(UnixNanos t);

// The years whose every instant fits in UnixNanos (which spans 1677-09-21 to
// 2262-04-11).
inline constexpr int kMinYear = 1678;
inline constexpr int kMaxYear = 2261;

// Accepts RFC 3339 ("2026-11-22T17:46:13Z", "...+02:00", fractional seconds),
// "2026-11-22 17:46:13" and "2026-11-22" (both local time). Every field is
// checked (February 30, hour 24, offset +25:00 are errors, not carried into
// the next field) and the year must be kMinYear..kMaxYear. Errors are
// kInvalidArgument naming the text and what is wrong with it.
Result<UnixNanos> ParseTime(std::string_view text);

// "90s", "15m", "1h", "2h30m", "7d", "2w", "1y2m"... -> nanoseconds.
// Units: s, m (minutes), h, d, w, y (365 d). Fails on anything else, and on
// a total that does not fit in int64 nanoseconds (about 292 years).
Result<int64_t> ParseDuration(std::string_view text);

// Calendar arithmetic in UTC (proleptic Gregorian), for schedules.
struct CivilTime {
  int year = 1970, month = 1, day = 1;  // month 1-12, day 1-31
  int hour = 0, minute = 0, second = 0;
  int weekday = 4;  // 0 = Sunday; output only (1970-01-01 was a Thursday)
};
int DaysInMonth(int year, int month);
// Whole seconds of t (floored) as a UTC calendar time.
CivilTime ToCivilUtc(UnixNanos t);
// The instant of a UTC calendar time; fields must be in range (weekday is
// ignored). The caller keeps the year within kMinYear..kMaxYear.
UnixNanos FromCivilUtc(const CivilTime& c);

}  // namespace ward
