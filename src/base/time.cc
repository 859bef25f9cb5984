#include "base/time.h"

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
  int y, mo, d, h = 0, mi = 0, se = 0;
  if (!ParseDigits(s, 0, 4, &y) || s.size() < 10 || s[4] != '-' || !ParseDigits(s, 5, 2, &mo) ||
      s[7] != '-' || !ParseDigits(s, 8, 2, &d)) {
    return bad();
  }
  if (mo < 1 || mo > 12 || d < 1 || d > 31) return bad();
  size_t pos = 10;
  int64_t nanos = 0;
  bool has_zone = false;
  int64_t offset_secs = 0;
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
        int oh, om;
        if (!ParseDigits(s, pos + 1, 2, &oh) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
            !ParseDigits(s, pos + 4, 2, &om)) {
          return bad();
        }
        offset_secs = (oh * 3600 + om * 60) * (s[pos] == '-' ? -1 : 1);
        has_zone = true;
        pos += 6;
      }
    }
    if (pos != s.size() || h > 23 || mi > 59 || se > 60) return bad();
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
    secs = mktime(&tm);
  }
  return secs * 1000000000 + nanos;
}

Result<int64_t> ParseDuration(std::string_view s) {
  auto bad = [&] {
    return InvalidArgumentError("invalid duration '" + std::string(s) +
                                "': use a number with a unit s, m, h, d, w or y (e.g. 1h, 7d, 2h30m)");
  };
  if (s.empty()) return bad();
  int64_t total = 0;
  size_t pos = 0;
  while (pos < s.size()) {
    int64_t n = 0;
    size_t start = pos;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      n = n * 10 + (s[pos] - '0');
      if (n > 1000000000) return bad();
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
    total += n * unit;
  }
  return total * 1000000000;
}

}  // namespace ward
