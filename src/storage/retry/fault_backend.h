// FaultInjectionBackend: a Backend wrapper that fails calls on purpose, for
// tests of everything stacked above a backend (LevelDB's
// fault_injection_test, applied to storage).
//
// Two kinds of failure, matching what a network does to a request:
//   kBefore  the call fails without reaching the inner backend (the request
//            never arrived);
//   kAfter   the call runs on the inner backend, then fails anyway (the reply
//            was lost): a Save has stored the object, a Remove has removed
//            it. A List delivers the first half of its names, then fails.
// Faults come from a script (FailNext: the next N calls of an operation fail
// with a given kind and code), or at random (SetRandomFaults: each call fails
// with probability `rate`, kind chosen at random, code kUnavailable), from a
// seeded generator so a failing run can be repeated exactly.
//
// Thread safety: every method may be called from several threads at once.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>

#include "storage/backend.h"

namespace ward::storage {

class FaultInjectionBackend : public BackendWrapper {
 public:
  enum class Op { kCreate, kSave, kLoad, kStat, kList, kRemove };
  enum class Kind { kBefore, kAfter };
  static constexpr int kOps = 6;

  explicit FaultInjectionBackend(std::unique_ptr<Backend> inner);

  // The next `times` calls of `op` fail as `kind`, with `code`.
  void FailNext(Op op, Kind kind, StatusCode code = StatusCode::kUnavailable, int times = 1);
  // Every call (of any operation) fails with probability `rate`, as kBefore
  // or kAfter with equal odds, with kUnavailable. rate 0 turns this off.
  void SetRandomFaults(double rate, uint64_t seed);

  // Calls that reached this wrapper, per operation, and faults injected.
  int calls(Op op) const { return calls_[static_cast<int>(op)].load(); }
  int faults() const { return faults_.load(); }

  Status Create() override;
  Status Save(const Handle& h, ByteView data) override;
  Result<Bytes> Load(const Handle& h, uint64_t offset, uint64_t length) override;
  Result<FileInfo> Stat(const Handle& h) override;
  Status List(FileType t, const std::function<Status(const FileInfo&)>& fn) override;
  Status Remove(const Handle& h) override;

 private:
  struct Fault {
    Kind kind;
    StatusCode code;
  };
  // Counts the call and decides whether (and how) it fails.
  std::optional<Fault> Decide(Op op);
  Status Injected(Op op, const Fault& f, const std::string& what) const;

  mutable std::mutex mu_;
  std::array<std::deque<Fault>, kOps> scripted_;
  double rate_ = 0;
  std::mt19937_64 rng_;
  std::array<std::atomic<int>, kOps> calls_{};
  std::atomic<int> faults_{0};
};

}  // namespace ward::storage
