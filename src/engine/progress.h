// Progress counters that long-running jobs (backup, restore, check) update
// and that the command line reads to draw a progress bar, print plain lines
// or emit JSON status lines. Only atomics: jobs never wait for the display.
// Thread safety: all members are atomics or guarded by mu.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>

namespace ward::engine {

struct Progress {
  std::atomic<uint64_t> files_done{0};
  std::atomic<uint64_t> bytes_done{0};
  std::atomic<uint64_t> files_total{0};
  std::atomic<uint64_t> bytes_total{0};
  std::atomic<bool> totals_known{false};
  std::atomic<uint64_t> errors{0};
  std::atomic<uint64_t> bytes_stored{0};

  std::mutex mu;
  std::string current;  // the item being worked on, for display

  void SetCurrent(const std::string& item) {
    std::lock_guard lock(mu);
    current = item;
  }
  std::string Current() {
    std::lock_guard lock(mu);
    return current;
  }
};

}  // namespace ward::engine
