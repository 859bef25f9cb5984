#include "storage/retry/retry_backend.h"

#include <algorithm>
#include <thread>
#include <unordered_set>

namespace ward::storage {

std::chrono::milliseconds BackoffCeiling(const RetryOptions& o, int retry) {
  int64_t ceiling = std::max<int64_t>(o.base.count(), 0);
  for (int i = 0; i < retry && ceiling < o.cap.count(); ++i) ceiling *= 2;
  return std::chrono::milliseconds(std::min<int64_t>(ceiling, o.cap.count()));
}

RetryBackend::RetryBackend(std::unique_ptr<Backend> inner, RetryOptions options)
    : BackendWrapper(std::move(inner)), options_(std::move(options)) {
  if (options_.max_attempts < 1) options_.max_attempts = 1;
  if (!options_.sleep) {
    options_.sleep = [](std::chrono::milliseconds d) { std::this_thread::sleep_for(d); };
  }
  uint64_t seed = options_.seed;
  if (seed == 0) seed = (uint64_t{std::random_device{}()} << 32) | std::random_device{}();
  rng_.seed(seed);
}

std::chrono::milliseconds RetryBackend::NextDelay(int retry) {
  int64_t ceiling = BackoffCeiling(options_, retry).count();
  std::lock_guard lock(rng_mu_);
  std::uniform_int_distribution<int64_t> dist(0, ceiling);
  return std::chrono::milliseconds(dist(rng_));
}

Status RetryBackend::Run(const std::string& op, const std::function<Status(int)>& fn) {
  Status s;
  for (int attempt = 1;; ++attempt) {
    s = fn(attempt);
    if (s.code() != StatusCode::kUnavailable) return s;
    if (attempt >= options_.max_attempts) break;
    auto delay = NextDelay(attempt - 1);
    if (options_.on_retry) options_.on_retry(op, attempt, s, delay);
    ++retries_;
    options_.sleep(delay);
  }
  return Status(s.code(), s.message() + " (gave up after " + std::to_string(options_.max_attempts) +
                              " attempts)");
}

Status RetryBackend::Create() {
  return Run("create", [&](int) { return inner()->Create(); });
}

Status RetryBackend::Save(const Handle& h, ByteView data) {
  return Run("save " + h.ToString(), [&](int attempt) -> Status {
    Status r = inner()->Save(h, data);
    if (r.code() != StatusCode::kAlreadyExists || attempt == 1) return r;
    // An earlier attempt may have stored the object before failing: it is
    // ours if it holds exactly these bytes. (Comparing the bytes themselves
    // is at least as strong as comparing size and SHA-256.)
    auto stored = inner()->Load(h, 0, 0);
    if (!stored.ok()) {
      // A transient read failure repeats the whole Save; anything else
      // leaves the honest answer: the name exists.
      return stored.status().code() == StatusCode::kUnavailable ? stored.status() : r;
    }
    if (stored->size() == data.size() && std::equal(stored->begin(), stored->end(), data.begin())) {
      return Status::OK();
    }
    return r;
  });
}

Result<Bytes> RetryBackend::Load(const Handle& h, uint64_t offset, uint64_t length) {
  Bytes out;
  Status s = Run("load " + h.ToString(), [&](int) -> Status {
    auto r = inner()->Load(h, offset, length);
    if (!r.ok()) return r.status();
    out = std::move(*r);
    return Status::OK();
  });
  if (!s.ok()) return s;
  return out;
}

Result<FileInfo> RetryBackend::Stat(const Handle& h) {
  FileInfo out;
  Status s = Run("stat " + h.ToString(), [&](int) -> Status {
    auto r = inner()->Stat(h);
    if (!r.ok()) return r.status();
    out = std::move(*r);
    return Status::OK();
  });
  if (!s.ok()) return s;
  return out;
}

Status RetryBackend::List(FileType t, const std::function<Status(const FileInfo&)>& fn) {
  std::unordered_set<std::string> delivered;
  Status fn_error;
  Status s = Run(std::string("list ") + FileTypeName(t), [&](int) -> Status {
    Status r = inner()->List(t, [&](const FileInfo& fi) -> Status {
      if (!delivered.insert(fi.name).second) return Status::OK();
      Status e = fn(fi);
      if (!e.ok()) fn_error = e;
      return e;
    });
    // fn's own error ends the listing, whatever its code: never retried.
    if (!fn_error.ok()) return CancelledError("listing stopped by its callback");
    return r;
  });
  if (!fn_error.ok()) return fn_error;
  return s;
}

Status RetryBackend::Remove(const Handle& h) {
  // Learn first whether there is anything to remove, so that a kNotFound
  // after a lost reply can be told from a missing object.
  auto info = Stat(h);
  if (!info.ok()) return info.status();
  return Run("remove " + h.ToString(), [&](int attempt) -> Status {
    Status r = inner()->Remove(h);
    if (r.code() == StatusCode::kNotFound && attempt > 1) return Status::OK();
    return r;
  });
}

std::unique_ptr<Backend> NewRetryBackend(std::unique_ptr<Backend> inner, RetryOptions options) {
  return std::make_unique<RetryBackend>(std::move(inner), std::move(options));
}

}  // namespace ward::storage
