// FaultProxy: an HTTP/1.1 proxy for tests that sits between a client and a
// server (ward and Ceph RGW) and fails a chosen share of requests the way a
// network and an overloaded server do.
//
// Each request is read whole from the client and, unless a fault says
// otherwise, forwarded byte for byte (request line, headers in their order
// and spelling, the original Host header, body) on a keep-alive connection to
// the upstream server, whose reply is passed back byte for byte. So SigV4
// signatures still validate and the server sees exactly what the client sent.
//
// Faults (FaultKind):
//   kDropRequest   close the client connection without forwarding (nothing
//                  reached the server)
//   kDropReply     forward, let the server execute the request, then close
//                  the client connection without a reply (the reply is lost)
//   kResetReply    forward, send the first half of the reply, then reset the
//                  connection (RST)
//   kInternalError answer 500 InternalError without forwarding
//   kSlowDown      answer 503 SlowDown without forwarding
// At random: request number n (counted from 0 in arrival order) fails with
// probability `rate`, its kind drawn from `kinds`; the decision is a pure
// function of (seed, n), so a run with one client thread is reproducible.
// By rule: a request whose request line contains `match` gets `kind`, for
// the first `times` matches (-1: always); rules win over the random draw.
//
// Limits: Content-Length request bodies only (a chunked request gets 501);
// replies may be Content-Length, chunked or close-delimited. Meant for
// loopback tests, not for production traffic.
//
// Thread safety: Start/Stop from one thread; stats() and RequestHeads() from
// any thread. Each client connection is served by its own thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/status.h"

namespace ward::testing {

enum class FaultKind { kDropRequest, kDropReply, kResetReply, kInternalError, kSlowDown };

// "drop", "drop-reply", "reset", "500", "503".
const char* FaultKindName(FaultKind k);
Result<FaultKind> ParseFaultKind(const std::string& name);

struct FaultRule {
  std::string match;  // substring of the request line ("PUT /bucket/p/data/")
  FaultKind kind;
  int times = -1;  // matches to fail; -1: every one
};

struct FaultProxyOptions {
  std::string listen_host = "127.0.0.1";
  int listen_port = 0;  // 0: any free port (see port())
  std::string upstream_host = "127.0.0.1";
  int upstream_port = 7480;
  double rate = 0;  // share of requests failed at random
  uint64_t seed = 1;
  std::vector<FaultKind> kinds = {FaultKind::kDropRequest, FaultKind::kDropReply,
                                  FaultKind::kResetReply, FaultKind::kInternalError,
                                  FaultKind::kSlowDown};
  std::vector<FaultRule> rules;
  bool record_heads = false;  // keep every request head (request line + headers)
};

struct FaultProxyStats {
  int64_t requests = 0;    // requests read from clients
  int64_t forwarded = 0;   // requests sent upstream
  int64_t faults[5] = {};  // per FaultKind
  int64_t TotalFaults() const;
};

class FaultProxy {
 public:
  explicit FaultProxy(FaultProxyOptions options);
  ~FaultProxy();  // stops
  FaultProxy(const FaultProxy&) = delete;
  FaultProxy& operator=(const FaultProxy&) = delete;

  // Binds and starts serving; port() is valid afterwards.
  Status Start();
  // Closes the listening socket and every connection; joins all threads.
  void Stop();

  int port() const { return port_; }
  FaultProxyStats stats() const;
  std::vector<std::string> RequestHeads() const;
  // Adds a rule while running.
  void AddRule(FaultRule rule);

 private:
  void AcceptLoop();
  void Serve(int client_fd);
  bool Decide(uint64_t n, const std::string& request_line, FaultKind* kind);

  FaultProxyOptions options_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread accept_thread_;
  std::atomic<uint64_t> next_request_{0};

  // Connection threads run detached; Stop() waits for active_ to drop to 0.
  std::mutex active_mu_;
  std::condition_variable active_cv_;
  int active_ = 0;

  mutable std::mutex mu_;
  std::vector<int> conn_fds_;  // open client and upstream sockets, for Stop()
  FaultProxyStats stats_;
  std::vector<std::string> heads_;
};

}  // namespace ward::testing
