#include "base/time.h"

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <ctime>

#include <fmt/format.h>

namespace ward {

UnixNanos NowNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

namespace {

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

bool IsLeapYear(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

// The inverse of DaysFromCivil.
void CivilFromDays(int64_t z, int* y, int* m, int* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  *m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  *y = static_cast<int>(static_cast<int64_t>(yoe) + era * 400 + (*m <= 2));
}

bool ParseDigits(std::string_view s, size_t pos, size_t n, int* out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = 0; i < n; ++i) {
    char c = s[pos + i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *out = v;
  return true;
}

}  // namespace

int DaysInMonth(int y, int m) {
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeapYear(y) ? 29 : kDays[m - 1];
}

CivilTime ToCivilUtc(UnixNanos t) {
  int64_t secs = FloorDiv(t, 1000000000);
  int64_t days = FloorDiv(secs, 86400);
  int64_t rest = secs - days * 86400;
  CivilTime c;
  CivilFromDays(days, &c.year, &c.month, &c.day);
  c.hour = static_cast<int>(rest / 3600);
  c.minute = static_cast<int>(rest / 60 % 60);
  c.second = static_cast<int>(rest % 60);
  c.weekday = static_cast<int>(((days % 7) + 11) % 7);  // day 0 was a Thursday (4)
  return c;
}

UnixNanos FromCivilUtc(const CivilTime& c) {
  int64_t secs = DaysFromCivil(c.year, static_cast<unsigned>(c.month), static_cast<unsigned>(c.day)) * 86400 +
                 c.hour * 3600 + c.minute * 60 + c.second;
  return secs * 1000000000;
}

std::string FormatRfc3339(UnixNanos t) {
  int64_t secs = FloorDiv(t, 1000000000);
  int64_t nanos = t - secs * 1000000000;
  time_t tt = static_cast<time_t>(secs);
  struct tm tm;
  gmtime_r(&tt, &tm);
  char buf[64];
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::string out = buf;
  if (nanos) {
    std::string frac = fmt::format("{:09}", nanos);
    while (!frac.empty() && frac.back() == '0') frac.pop_back();
    out += "." + frac;
  }
  return out + "Z";
}

std::string FormatLocalTime(UnixNanos t) {
  time_t tt = static_cast<time_t>(FloorDiv(t, 1000000000));
  struct tm tm;
  localtime_r(&tt, &tm);
  char buf[64];
  strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

Result<UnixNanos> ParseTime(std::string_view s) {
  auto bad = [&] {
    return InvalidArgumentError("invalid time '" + std::string(s) +
                                "': use RFC 3339 (2026-01-31T12:00:00Z) or YYYY-MM-DD[ HH:MM:SS]");
  };
  auto out_of_range = [&](const std::string& why) {
    return InvalidArgumentError("invalid time '" + std::string(s) + "': " + why);
  };
  int y, mo, d, h = 0, mi = 0, se = 0;
  if (!ParseDigits(s, 0, 4, &y) || s.size() < 10 || s[4] != '-' || !ParseDigits(s, 5, 2, &mo) ||
      s[7] != '-' || !ParseDigits(s, 8, 2, &d)) {
    return bad();
  }
  size_t pos = 10;
  int64_t nanos = 0;
  bool has_zone = false;
  int64_t offset_secs = 0;
  int oh = 0, om = 0;
  if (pos < s.size()) {
    if (s[pos] != 'T' && s[pos] != 't' && s[pos] != ' ') return bad();
    ++pos;
    if (!ParseDigits(s, pos, 2, &h) || pos + 2 >= s.size() || s[pos + 2] != ':' ||
        !ParseDigits(s, pos + 3, 2, &mi)) {
      return bad();
    }
    pos += 5;
    if (pos < s.size() && s[pos] == ':') {
      if (!ParseDigits(s, pos + 1, 2, &se)) return bad();
      pos += 3;
    }
    if (pos < s.size() && s[pos] == '.') {
      ++pos;
      int digits = 0;
      while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
        if (digits < 9) {
          nanos = nanos * 10 + (s[pos] - '0');
          ++digits;
        }
        ++pos;
      }
      if (digits == 0) return bad();
      for (; digits < 9; ++digits) nanos *= 10;
    }
    if (pos < s.size()) {
      if (s[pos] == 'Z' || s[pos] == 'z') {
        has_zone = true;
        ++pos;
      } else if (s[pos] == '+' || s[pos] == '-') {
        if (!ParseDigits(s, pos + 1, 2, &oh) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
            !ParseDigits(s, pos + 4, 2, &om)) {
          return bad();
        }
        offset_secs = (oh * 3600 + om * 60) * (s[pos] == '-' ? -1 : 1);
        has_zone = true;
        pos += 6;
      }
    }
    if (pos != s.size()) return bad();
  }
  // Every field is checked here: mktime and DaysFromCivil would silently
  // carry an out-of-range one into the next (February 30 as March 2).
  static const char* const kMonths[] = {"January", "February", "March",     "April",   "May",      "June",
                                        "July",    "August",   "September", "October", "November", "December"};
  if (mo < 1 || mo > 12) return out_of_range("month " + std::to_string(mo) + " does not exist (use 01-12)");
  if (d < 1 || d > DaysInMonth(y, mo)) {
    return out_of_range(fmt::format("{} {} has {} days", kMonths[mo - 1], y, DaysInMonth(y, mo)));
  }
  if (h > 23) return out_of_range("the hour must be 00-23");
  if (mi > 59) return out_of_range("the minute must be 00-59");
  if (se > 60) return out_of_range("the second must be 00-59 (60 for a leap second)");
  if (oh > 23 || om > 59) return out_of_range("the UTC offset must be between -23:59 and +23:59");
  // Nanoseconds in an int64 reach from 1677-09-21 to 2262-04-11.
  if (y < kMinYear || y > kMaxYear) {
    return out_of_range(fmt::format("the year must be between {} and {}", kMinYear, kMaxYear));
  }
  int64_t secs;
  if (has_zone) {
    secs = DaysFromCivil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se - offset_secs;
  } else {
    struct tm tm = {};
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = se;
    tm.tm_isdst = -1;
    errno = 0;
    time_t t = mktime(&tm);
    if (t == static_cast<time_t>(-1) && errno != 0) return out_of_range("not representable in the local time zone");
    secs = t;
  }
  return secs * 1000000000 + nanos;
}

Result<int64_t> ParseDuration(std::string_view s) {
  auto bad = [&] {
    return InvalidArgumentError("invalid duration '" + std::string(s) +
                                "': use a number with a unit s, m, h, d, w or y (e.g. 1h, 7d, 2h30m)");
  };
  auto too_long = [&] {
    return InvalidArgumentError("invalid duration '" + std::string(s) + "': too long (at most 292y)");
  };
  if (s.empty()) return bad();
  int64_t total = 0;  // nanoseconds
  size_t pos = 0;
  while (pos < s.size()) {
    int64_t n = 0;
    size_t start = pos;
    bool overflow = false;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      overflow |= __builtin_mul_overflow(n, 10, &n) || __builtin_add_overflow(n, s[pos] - '0', &n);
      ++pos;
    }
    if (pos == start || pos == s.size()) return bad();
    int64_t unit;
    switch (s[pos]) {
      case 's': unit = 1; break;
      case 'm': unit = 60; break;
      case 'h': unit = 3600; break;
      case 'd': unit = 86400; break;
      case 'w': unit = 7 * 86400; break;
      case 'y': unit = 365 * 86400; break;
      default: return bad();
    }
    ++pos;
    int64_t part;
    if (overflow || __builtin_mul_overflow(n, unit * 1000000000, &part) ||
        __builtin_add_overflow(total, part, &total)) {
      return too_long();
    }
  }
  return total;
}

}  // namespace ward
