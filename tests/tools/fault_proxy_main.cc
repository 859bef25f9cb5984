// fault_proxy: run FaultProxy (fault_proxy.h) as a standalone program, to put
// faults between any S3 client and server by hand:
//
//   fault_proxy --upstream 127.0.0.1:7480 --listen 127.0.0.1:7481 --rate 0.05 --seed 7
//               [--faults drop,drop-reply,reset,500,503] [--fail-matching 'PUT /b/:503']...
//
// Prints "listening on HOST:PORT" once ready; runs until SIGINT or SIGTERM,
// then prints how many requests it saw and which faults it injected.
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "tests/tools/fault_proxy.h"

namespace {

volatile sig_atomic_t g_stop = 0;

void OnSignal(int) { g_stop = 1; }

bool SplitHostPort(const std::string& s, std::string* host, int* port) {
  size_t colon = s.rfind(':');
  if (colon == std::string::npos) return false;
  *host = s.substr(0, colon);
  char* end = nullptr;
  long p = std::strtol(s.c_str() + colon + 1, &end, 10);
  if (*end != '\0' || p < 0 || p > 65535) return false;
  *port = static_cast<int>(p);
  return true;
}

int Usage() {
  std::fprintf(stderr,
               "usage: fault_proxy --upstream HOST:PORT [--listen HOST:PORT] [--rate R] "
               "[--seed N] [--faults drop,drop-reply,reset,500,503] "
               "[--fail-matching SUBSTRING:FAULT]...\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  using ward::testing::FaultProxy;
  using ward::testing::FaultProxyOptions;
  FaultProxyOptions o;
  o.listen_port = 0;
  bool have_upstream = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (i + 1 >= argc) return Usage();
    std::string val = argv[++i];
    if (arg == "--upstream") {
      if (!SplitHostPort(val, &o.upstream_host, &o.upstream_port)) return Usage();
      have_upstream = true;
    } else if (arg == "--listen") {
      if (!SplitHostPort(val, &o.listen_host, &o.listen_port)) return Usage();
    } else if (arg == "--rate") {
      o.rate = std::strtod(val.c_str(), nullptr);
    } else if (arg == "--seed") {
      o.seed = std::strtoull(val.c_str(), nullptr, 10);
    } else if (arg == "--faults") {
      o.kinds.clear();
      size_t start = 0;
      while (start <= val.size()) {
        size_t comma = val.find(',', start);
        auto k = ward::testing::ParseFaultKind(val.substr(start, comma - start));
        if (!k.ok()) {
          std::fprintf(stderr, "%s\n", k.status().message().c_str());
          return 2;
        }
        o.kinds.push_back(*k);
        if (comma == std::string::npos) break;
        start = comma + 1;
      }
    } else if (arg == "--fail-matching") {
      size_t colon = val.rfind(':');
      if (colon == std::string::npos) return Usage();
      auto k = ward::testing::ParseFaultKind(val.substr(colon + 1));
      if (!k.ok()) {
        std::fprintf(stderr, "%s\n", k.status().message().c_str());
        return 2;
      }
      o.rules.push_back({val.substr(0, colon), *k, -1});
    } else {
      return Usage();
    }
  }
  if (!have_upstream) return Usage();
  FaultProxy proxy(o);
  ward::Status s = proxy.Start();
  if (!s.ok()) {
    std::fprintf(stderr, "fault_proxy: %s\n", s.message().c_str());
    return 1;
  }
  std::printf("listening on %s:%d\n", o.listen_host.c_str(), proxy.port());
  std::fflush(stdout);
  struct sigaction sa = {};
  sa.sa_handler = OnSignal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  while (!g_stop) pause();
  proxy.Stop();
  auto st = proxy.stats();
  std::fprintf(stderr, "fault_proxy: %lld requests, %lld forwarded, faults:",
               static_cast<long long>(st.requests), static_cast<long long>(st.forwarded));
  for (int k = 0; k < 5; ++k) {
    std::fprintf(stderr, " %s=%lld",
                 ward::testing::FaultKindName(static_cast<ward::testing::FaultKind>(k)),
                 static_cast<long long>(st.faults[k]));
  }
  std::fprintf(stderr, "\n");
  return 0;
}
