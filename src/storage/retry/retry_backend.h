// RetryBackend: repeats calls that fail with kUnavailable, around any Backend.
//
// Each call is tried up to max_attempts times. Before retry number n (0 for
// the first retry) it sleeps a random delay in [0, min(cap, base * 2^n)]
// ("full jitter"), so that many clients hit by the same outage do not come
// back in lock-step. Only kUnavailable is retried; every other code is final
// and returned at once. When the attempts run out, the last kUnavailable is
// returned with "(gave up after N attempts)" appended.
//
// What a retry must not change:
//   - Save never replaces. If an attempt fails transiently, the object may
//     still have been stored (the reply was lost). A later attempt then gets
//     kAlreadyExists; the wrapper loads the stored object and reports success
//     only if it holds exactly `data` (same size, same bytes). kAlreadyExists
//     on the first attempt is returned as is, without a read.
//   - Remove of a missing object is kNotFound. The wrapper checks with Stat
//     (retried) that the object exists before removing it; a kNotFound after
//     a transient failure then means an earlier attempt removed it, and is
//     success.
//   - List delivers each name once: after a transient failure part-way, the
//     listing restarts and names already passed to fn are skipped. An error
//     returned by fn itself is never retried.
//
// The sleep function and the random seed are injectable, so tests neither
// sleep nor depend on chance. on_retry, when set, is called before each
// sleep (for logging: "retrying PUT ... in 1.2s").
//
// Thread safety: every method may be called from several threads at once;
// the random source is guarded by a mutex.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <string>

#include "storage/backend.h"

namespace ward::storage {

struct RetryOptions {
  int max_attempts = 8;  // total tries, including the first
  std::chrono::milliseconds base{250};
  std::chrono::milliseconds cap{30000};
  uint64_t seed = 0;  // 0: seeded from std::random_device
  // Default: std::this_thread::sleep_for.
  std::function<void(std::chrono::milliseconds)> sleep;
  // Called before each retry with the operation ("save pack 1a2b..."), the
  // number of the attempt that failed (1-based), its status and the delay.
  std::function<void(const std::string& op, int attempt, const Status& failure,
                     std::chrono::milliseconds delay)>
      on_retry;
};

// The full-jitter bound before retry number `retry` (0-based):
// min(cap, base * 2^retry), without overflow for any retry count.
std::chrono::milliseconds BackoffCeiling(const RetryOptions& o, int retry);

class RetryBackend : public BackendWrapper {
 public:
  RetryBackend(std::unique_ptr<Backend> inner, RetryOptions options);

  Status Create() override;
  Status Save(const Handle& h, ByteView data) override;
  Result<Bytes> Load(const Handle& h, uint64_t offset, uint64_t length) override;
  Result<FileInfo> Stat(const Handle& h) override;
  Status List(FileType t, const std::function<Status(const FileInfo&)>& fn) override;
  Status Remove(const Handle& h) override;

  // Retries performed so far (all operations); for tests and metrics.
  int64_t retries() const { return retries_.load(); }

 private:
  // Runs fn(attempt) (attempt counts from 1) until it returns something
  // other than kUnavailable or the attempts run out.
  Status Run(const std::string& op, const std::function<Status(int attempt)>& fn);
  std::chrono::milliseconds NextDelay(int retry);

  RetryOptions options_;
  std::mutex rng_mu_;
  std::mt19937_64 rng_;
  std::atomic<int64_t> retries_{0};
};

std::unique_ptr<Backend> NewRetryBackend(std::unique_ptr<Backend> inner, RetryOptions options = {});

}  // namespace ward::storage
