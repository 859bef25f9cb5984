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

// Accepts RFC 3339 ("2026-11-22T17:46:13Z", "...+02:00", fractional seconds),
// "2026-11-22 17:46:13" and "2026-11-22" (both local time).
Result<UnixNanos> ParseTime(std::string_view text);

// "90s", "15m", "1h", "2h30m", "7d", "2w", "1y2m"... -> nanoseconds.
// Units: s, m (minutes), h, d, w, y (365 d). Fails on anything else.
Result<int64_t> ParseDuration(std::string_view text);

}  // namespace ward
