// Status and Result<T>: how every ward module reports success or failure.
//
// No exception crosses a module boundary: functions that can fail return a
// Status (or a Result<T> holding either a value or a non-OK Status). The codes
// follow Abseil's canonical set, and carry its retry meaning:
//   kUnavailable         transient; retry the call (S3 5xx, reset, timeout)
//   kAborted             retry the whole job (a concurrent writer won a race)
//   kFailedPrecondition  do not retry; the state must change first
//   kDataLoss            corruption: stored bytes do not match; alert
// Thread safety: values; a Status may be copied and read from any thread.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace ward {

enum class StatusCode {
  kOk = 0,
  kCancelled,
  kUnknown,
  kInvalidArgument,
  kDeadlineExceeded,
  kNotFound,
  kAlreadyExists,
  kPermissionDenied,
  kResourceExhausted,
  kFailedPrecondition,
  kAborted,
  kOutOfRange,
  kUnimplemented,
  kInternal,
  kUnavailable,
  kDataLoss,
  kUnauthenticated,
};

const char* StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status OK() { return Status(); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // "message" for errors (the message names the thing and what to do), "OK" otherwise.
  std::string ToString() const;

  // Returns this status with "context: " prepended to the message. OK stays OK.
  Status WithContext(const std::string& context) const;

  // Explicitly discards a status whose failure is acceptable here.
  void IgnoreError() const {}

  bool operator==(const Status& o) const { return code_ == o.code_ && message_ == o.message_; }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status InvalidArgumentError(std::string m) {
  return Status(StatusCode::kInvalidArgument, std::move(m));
}
inline Status NotFoundError(std::string m) { return Status(StatusCode::kNotFound, std::move(m)); }
inline Status AlreadyExistsError(std::string m) {
  return Status(StatusCode::kAlreadyExists, std::move(m));
}
inline Status PermissionDeniedError(std::string m) {
  return Status(StatusCode::kPermissionDenied, std::move(m));
}
inline Status ResourceExhaustedError(std::string m) {
  return Status(StatusCode::kResourceExhausted, std::move(m));
}
inline Status FailedPreconditionError(std::string m) {
  return Status(StatusCode::kFailedPrecondition, std::move(m));
}
inline Status AbortedError(std::string m) { return Status(StatusCode::kAborted, std::move(m)); }
inline Status OutOfRangeError(std::string m) {
  return Status(StatusCode::kOutOfRange, std::move(m));
}
inline Status UnimplementedError(std::string m) {
  return Status(StatusCode::kUnimplemented, std::move(m));
}
inline Status InternalError(std::string m) { return Status(StatusCode::kInternal, std::move(m)); }
inline Status UnavailableError(std::string m) {
  return Status(StatusCode::kUnavailable, std::move(m));
}
inline Status DataLossError(std::string m) { return Status(StatusCode::kDataLoss, std::move(m)); }
inline Status UnauthenticatedError(std::string m) {
  return Status(StatusCode::kUnauthenticated, std::move(m));
}
inline Status CancelledError(std::string m) {
  return Status(StatusCode::kCancelled, std::move(m));
}
inline Status UnknownError(std::string m) { return Status(StatusCode::kUnknown, std::move(m)); }

// Status from errno after a failed system call on `what` (a path or object).
// ENOENT -> kNotFound, EEXIST -> kAlreadyExists, EACCES/EPERM -> kPermissionDenied,
// ENOSPC/EDQUOT -> kResourceExhausted, others -> kUnknown.
Status ErrnoStatus(int err, const std::string& what);

// Result<T>: a T, or the non-OK Status that explains why there is none.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {  // NOLINT: implicit by design
    assert(!std::get<Status>(v_).ok() && "Result constructed from OK status");
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  Status status() const { return ok() ? Status::OK() : std::get<Status>(v_); }

  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }

  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace ward

#define WARD_CONCAT_INNER_(a, b) a##b
#define WARD_CONCAT_(a, b) WARD_CONCAT_INNER_(a, b)

#define WARD_RETURN_IF_ERROR(expr)             \
  do {                                         \
    ::ward::Status ward_status_ = (expr);      \
    if (!ward_status_.ok()) return ward_status_; \
  } while (0)

#define WARD_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                \
  if (!tmp.ok()) return tmp.status();               \
  lhs = std::move(tmp).value()

#define WARD_ASSIGN_OR_RETURN(lhs, expr) \
  WARD_ASSIGN_OR_RETURN_IMPL_(WARD_CONCAT_(ward_result_, __LINE__), lhs, expr)
