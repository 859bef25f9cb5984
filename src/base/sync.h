// Small concurrency building blocks for ward's pipelines.
//
// BoundedQueue: a multi-producer multi-consumer FIFO whose capacity is counted
// in caller-defined units (bytes, usually), so memory stays bounded however
// fast the producer is. Close() wakes every waiter; Pop() then drains what is
// left and returns nullopt. All methods are thread-safe.
//
// Latch: counts down to zero once; Wait() blocks until it does.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>
#include <utility>

namespace ward {

template <typename T>
class BoundedQueue {
 public:
  explicit BoundedQueue(size_t capacity) : capacity_(capacity) {}

  // Blocks while the queue holds `capacity` units or more (an item larger than
  // the capacity is admitted when the queue is empty). Returns false if closed.
  bool Push(T item, size_t cost = 1) {
    std::unique_lock lock(mu_);
    not_full_.wait(lock, [&] { return closed_ || used_ == 0 || used_ + cost <= capacity_; });
    if (closed_) return false;
    items_.emplace_back(std::move(item), cost);
    used_ += cost;
    not_empty_.notify_one();
    return true;
  }

  std::optional<T> Pop() {
    std::unique_lock lock(mu_);
    not_empty_.wait(lock, [&] { return closed_ || !items_.empty(); });
    if (items_.empty()) return std::nullopt;
    auto [item, cost] = std::move(items_.front());
    items_.pop_front();
    used_ -= cost;
    not_full_.notify_all();
    return std::move(item);
  }

  void Close() {
    std::lock_guard lock(mu_);
    closed_ = true;
    not_empty_.notify_all();
    not_full_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable not_full_, not_empty_;
  std::deque<std::pair<T, size_t>> items_;
  size_t used_ = 0;
  const size_t capacity_;
  bool closed_ = false;
};

class Latch {
 public:
  explicit Latch(ptrdiff_t count = 1) : count_(count) {}
  void CountDown(ptrdiff_t n = 1) {
    std::lock_guard lock(mu_);
    count_ -= n;
    if (count_ <= 0) cv_.notify_all();
  }
  void Add(ptrdiff_t n) {
    std::lock_guard lock(mu_);
    count_ += n;
  }
  void Wait() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return count_ <= 0; });
  }
  bool Done() {
    std::lock_guard lock(mu_);
    return count_ <= 0;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  ptrdiff_t count_;
};

}  // namespace ward

#include <atomic>
#include <functional>
#include <thread>
#include <vector>

namespace ward {

// Runs fn(i) for i in [0, n) on up to `threads` threads; returns when all are
// done. fn must be thread-safe.
inline void ParallelFor(size_t n, int threads, const std::function<void(size_t)>& fn) {
  if (n == 0) return;
  size_t t = std::min<size_t>(n, static_cast<size_t>(threads < 1 ? 1 : threads));
  if (t == 1) {
    for (size_t i = 0; i < n; ++i) fn(i);
    return;
  }
  std::atomic<size_t> next{0};
  std::vector<std::thread> pool;
  for (size_t k = 0; k < t; ++k) {
    pool.emplace_back([&] {
      for (size_t i; (i = next++) < n;) fn(i);
    });
  }
  for (auto& th : pool) th.join();
}

}  // namespace ward
