#include "plan/schedule.h"

#include <fmt/format.h>

#include <array>
#include <cctype>
#include <vector>

namespace ward::plan {

namespace {

constexpr char kAccepted[] =
    "use 5-field cron \"m h dom mon dow\" (e.g. \"0 3 * * mon\", \"*/15 * * * *\"), "
    "@hourly, @daily, @weekly, @monthly or @every DURATION (e.g. @every 30s)";

struct Field {
  const char* name;
  int min, max;
  const char* const* names;  // spelled values, indexed from `min`, or nullptr
};

constexpr const char* kMonthNames[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                       "jul", "aug", "sep", "oct", "nov", "dec"};
constexpr const char* kDayNames[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    size_t end = s.find(sep, start);
    out.push_back(
        s.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    if (end == std::string_view::npos) return out;
    start = end + 1;
  }
}

// One value of a field: a number or (for months and weekdays) a name.
Result<int> Value(std::string_view v, const Field& f) {
  if (!v.empty() && std::isdigit(static_cast<unsigned char>(v[0]))) {
    int n = 0;
    for (char c : v) {
      if (!std::isdigit(static_cast<unsigned char>(c)) || n > 1000) {
        return InvalidArgumentError(fmt::format("'{}' is not a number", v));
      }
      n = n * 10 + (c - '0');
    }
    // Sunday is both 0 and 7.
    int max = f.names == kDayNames ? 7 : f.max;
    if (n < f.min || n > max) {
      return InvalidArgumentError(
          fmt::format("{} {} is out of range {}-{}", f.name, n, f.min, max));
    }
    return n == 7 && f.names == kDayNames ? 0 : n;
  }
  if (f.names != nullptr) {
    std::string lower;
    for (char c : v) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    for (int i = 0; i <= f.max - f.min; ++i) {
      if (lower == f.names[i]) return f.min + i;
    }
  }
  return InvalidArgumentError(fmt::format("'{}' is not a valid {}", v, f.name));
}

template <size_t N>
Status ParseField(std::string_view text, const Field& f, std::bitset<N>* out) {
  for (std::string_view part : Split(text, ',')) {
    std::string_view range = part;
    int step = 1;
    if (size_t slash = part.find('/'); slash != std::string_view::npos) {
      range = part.substr(0, slash);
      std::string_view s = part.substr(slash + 1);
      step = 0;
      for (char c : s) {
        if (!std::isdigit(static_cast<unsigned char>(c)) || step > 1000) {
          step = 0;
          break;
        }
        step = step * 10 + (c - '0');
      }
      if (step <= 0)
        return InvalidArgumentError(
            fmt::format("step '{}' in the {} field must be a whole number above 0", s, f.name));
    }
    int lo, hi;
    if (range == "*") {
      lo = f.min;
      hi = f.max;
    } else if (size_t dash = range.find('-'); dash != std::string_view::npos) {
      WARD_ASSIGN_OR_RETURN(lo, Value(range.substr(0, dash), f));
      WARD_ASSIGN_OR_RETURN(hi, Value(range.substr(dash + 1), f));
      if (hi == 0 && f.names == kDayNames) hi = 7;  // "fri-sun"
      if (hi < lo)
        return InvalidArgumentError(
            fmt::format("range '{}' in the {} field runs backwards", range, f.name));
    } else {
      WARD_ASSIGN_OR_RETURN(lo, Value(range, f));
      // "a/n" means from a to the end, stepping n.
      hi = part.find('/') != std::string_view::npos ? f.max : lo;
    }
    for (int v = lo; v <= hi; v += step)
      out->set(static_cast<size_t>(v == 7 && f.names == kDayNames ? 0 : v));
  }
  return Status::OK();
}

}  // namespace

Result<Schedule> Schedule::Parse(std::string_view text) {
  auto bad = [&](const std::string& why) {
    return InvalidArgumentError(
        fmt::format("schedule '{}': {}{}", text, why.empty() ? "" : why + "; ", kAccepted));
  };
  Schedule s;
  s.text_ = std::string(text);
  std::string_view cron = text;
  if (text == "@hourly") {
    cron = "0 * * * *";
  } else if (text == "@daily") {
    cron = "0 0 * * *";
  } else if (text == "@weekly") {
    cron = "0 0 * * 0";
  } else if (text == "@monthly") {
    cron = "0 0 1 * *";
  } else if (text.rfind("@every ", 0) == 0) {
    std::string_view d = text.substr(7);
    while (!d.empty() && d.front() == ' ') d.remove_prefix(1);
    auto ns = ParseDuration(d);
    if (!ns.ok()) return bad(ns.status().message());
    if (*ns <= 0) return bad("the interval must be longer than 0s");
    s.every_ns_ = *ns;
    return s;
  } else if (!text.empty() && text[0] == '@') {
    return bad("");
  }
  std::vector<std::string_view> fields;
  for (std::string_view f : Split(cron, ' ')) {
    if (!f.empty()) fields.push_back(f);
  }
  if (fields.size() != 5) return bad(fmt::format("{} fields where cron has 5", fields.size()));
  static const Field kFields[] = {{"minute", 0, 59, nullptr},
                                  {"hour", 0, 23, nullptr},
                                  {"day of month", 1, 31, nullptr},
                                  {"month", 1, 12, kMonthNames},
                                  {"day of week", 0, 6, kDayNames}};
  Status st = ParseField(fields[0], kFields[0], &s.minutes_);
  if (st.ok()) st = ParseField(fields[1], kFields[1], &s.hours_);
  if (st.ok()) st = ParseField(fields[2], kFields[2], &s.days_);
  if (st.ok()) st = ParseField(fields[3], kFields[3], &s.months_);
  if (st.ok()) st = ParseField(fields[4], kFields[4], &s.weekdays_);
  if (!st.ok()) return bad(st.message());
  s.any_day_ = fields[2][0] == '*';
  s.any_weekday_ = fields[4][0] == '*';
  // Leap days come at most 8 years apart (2096 to 2104).
  const UnixNanos probe = FromCivilUtc({2000, 1, 1});
  if (!s.Next(probe)) return bad("it never fires (no month has that day)");
  return s;
}

bool Schedule::DayMatches(int year, int month, int day) const {
  bool dom = days_[static_cast<size_t>(day)];
  if (any_day_ && any_weekday_) return true;
  int weekday = ToCivilUtc(FromCivilUtc({year, month, day})).weekday;
  bool dow = weekdays_[static_cast<size_t>(weekday)];
  if (any_day_) return dow;
  if (any_weekday_) return dom;
  return dom || dow;
}

std::optional<UnixNanos> Schedule::Next(UnixNanos after) const {
  if (every_ns_ > 0) {
    UnixNanos next;
    if (__builtin_add_overflow(after, every_ns_, &next)) return std::nullopt;
    return next;
  }
  CivilTime c = ToCivilUtc(after);
  if (c.year < kMinYear) c = {kMinYear, 1, 1};
  c.second = 0;
  // The next whole minute: from here every step moves forward.
  auto next_day = [&c] {
    c.hour = 0;
    c.minute = 0;
    if (++c.day > DaysInMonth(c.year, c.month)) {
      c.day = 1;
      if (++c.month > 12) {
        c.month = 1;
        ++c.year;
      }
    }
  };
  auto next_hour = [&] {
    c.minute = 0;
    if (++c.hour == 24) next_day();
  };
  if (++c.minute == 60) next_hour();
  const int last_year = std::min(kMaxYear, c.year + 9);
  while (c.year <= last_year) {
    if (!months_[static_cast<size_t>(c.month)]) {
      c.day = DaysInMonth(c.year, c.month);
      next_day();
    } else if (!DayMatches(c.year, c.month, c.day)) {
      next_day();
    } else if (!hours_[static_cast<size_t>(c.hour)]) {
      next_hour();
    } else if (!minutes_[static_cast<size_t>(c.minute)]) {
      if (++c.minute == 60) next_hour();
    } else {
      return FromCivilUtc(c);
    }
  }
  return std::nullopt;
}

}  // namespace ward::plan
