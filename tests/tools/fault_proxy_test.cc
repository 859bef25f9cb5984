// The fault proxy against a tiny loopback upstream that records the raw bytes
// it receives: forwarding is byte-exact, faults happen as configured and are
// reproducible from the seed.
#include "tests/tools/fault_proxy.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

namespace ward::testing {
namespace {

// Reads one HTTP message (head + Content-Length body) from fd into *out.
bool ReadMessage(int fd, std::string* buf, std::string* out) {
  char tmp[65536];
  for (;;) {
    size_t end = buf->find("\r\n\r\n");
    if (end != std::string::npos) {
      size_t len = 0;
      std::string head = buf->substr(0, end + 4);
      for (std::string name : {"Content-Length: ", "content-length: "}) {
        size_t p = head.find(name);
        if (p != std::string::npos) len = std::stoul(head.substr(p + name.size()));
      }
      if (buf->size() >= end + 4 + len) {
        *out = buf->substr(0, end + 4 + len);
        buf->erase(0, end + 4 + len);
        return true;
      }
    }
    ssize_t r = ::recv(fd, tmp, sizeof tmp, 0);
    if (r <= 0) return false;
    buf->append(tmp, static_cast<size_t>(r));
  }
}

// An upstream that records every request verbatim and answers 200 with a
// body of `reply_size` bytes.
class RecordingUpstream {
 public:
  explicit RecordingUpstream(size_t reply_size) : reply_size_(reply_size) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a = {};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(fd_, 16);
    socklen_t len = sizeof a;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] {
      for (;;) {
        int c = ::accept(fd_, nullptr, nullptr);
        if (c < 0) return;
        std::thread([this, c] {
          std::string buf, msg;
          while (ReadMessage(c, &buf, &msg)) {
            {
              std::lock_guard lock(mu_);
              requests_.push_back(msg);
            }
            std::string body(reply_size_, 'r');
            std::string reply =
                "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
                body;
            ::send(c, reply.data(), reply.size(), MSG_NOSIGNAL);
          }
          ::close(c);
        }).detach();
      }
    });
  }
  ~RecordingUpstream() {
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
  }
  int port() const { return port_; }
  std::vector<std::string> requests() {
    std::lock_guard lock(mu_);
    return requests_;
  }

 private:
  size_t reply_size_;
  int fd_;
  int port_;
  std::thread thread_;
  std::mutex mu_;
  std::vector<std::string> requests_;
};

int ConnectTo(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a = {};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Sends `request` on a fresh connection; returns the reply, or "" if the
// connection was closed or reset before a complete reply.
std::string RoundTrip(int port, const std::string& request) {
  int fd = ConnectTo(port);
  if (fd < 0) return "";
  ::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  std::string buf, reply;
  bool ok = ReadMessage(fd, &buf, &reply);
  ::close(fd);
  return ok ? reply : "";
}

const std::string kRequest =
    "PUT /bucket/key%20x?partNumber=1&uploadId=abc HTTP/1.1\r\n"
    "Host: 127.0.0.1:7480\r\n"
    "x-amz-date: 20260101T000000Z\r\n"
    "X-Odd-Case:   spaced   value  \r\n"
    "Authorization: AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/s3/aws4_request, "
    "SignedHeaders=host;x-amz-date, Signature=00\r\n"
    "Content-Length: 11\r\n"
    "\r\n"
    "hello\r\nbody";

TEST(FaultProxyTest, ForwardsRequestsByteForByteOnKeepAliveConnections) {
  RecordingUpstream upstream(5);
  FaultProxyOptions o;
  o.upstream_port = upstream.port();
  o.record_heads = true;
  FaultProxy proxy(o);
  ASSERT_TRUE(proxy.Start().ok());

  int fd = ConnectTo(proxy.port());
  ASSERT_GE(fd, 0);
  std::string buf, reply;
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(::send(fd, kRequest.data(), kRequest.size(), 0),
              static_cast<ssize_t>(kRequest.size()));
    ASSERT_TRUE(ReadMessage(fd, &buf, &reply));
    EXPECT_EQ(reply, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nrrrrr");
  }
  ::close(fd);
  auto got = upstream.requests();
  ASSERT_EQ(got.size(), 3u);
  for (const auto& r : got) EXPECT_EQ(r, kRequest);
  EXPECT_EQ(proxy.stats().forwarded, 3);
  ASSERT_EQ(proxy.RequestHeads().size(), 3u);
  EXPECT_EQ(proxy.RequestHeads()[0], kRequest.substr(0, kRequest.find("\r\n\r\n") + 4));
}

TEST(FaultProxyTest, CannedErrorsDoNotReachTheUpstream) {
  RecordingUpstream upstream(0);
  FaultProxyOptions o;
  o.upstream_port = upstream.port();
  o.rules = {{"partNumber=1", FaultKind::kSlowDown, 1},
             {"partNumber=1", FaultKind::kInternalError, 1}};
  FaultProxy proxy(o);
  ASSERT_TRUE(proxy.Start().ok());
  std::string r1 = RoundTrip(proxy.port(), kRequest);
  EXPECT_EQ(r1.rfind("HTTP/1.1 503 Slow Down", 0), 0u) << r1;
  EXPECT_NE(r1.find("<Code>SlowDown</Code>"), std::string::npos);
  std::string r2 = RoundTrip(proxy.port(), kRequest);
  EXPECT_EQ(r2.rfind("HTTP/1.1 500", 0), 0u) << r2;
  EXPECT_NE(r2.find("<Code>InternalError</Code>"), std::string::npos);
  EXPECT_TRUE(upstream.requests().empty());
  // The rules are used up: the third request goes through.
  EXPECT_EQ(RoundTrip(proxy.port(), kRequest).rfind("HTTP/1.1 200", 0), 0u);
  EXPECT_EQ(upstream.requests().size(), 1u);
  auto st = proxy.stats();
  EXPECT_EQ(st.faults[static_cast<int>(FaultKind::kSlowDown)], 1);
  EXPECT_EQ(st.faults[static_cast<int>(FaultKind::kInternalError)], 1);
}

TEST(FaultProxyTest, DroppedAndResetRepliesStillReachTheUpstream) {
  RecordingUpstream upstream(100000);
  FaultProxyOptions o;
  o.upstream_port = upstream.port();
  o.rules = {{"PUT", FaultKind::kDropRequest, 1},
             {"PUT", FaultKind::kDropReply, 1},
             {"PUT", FaultKind::kResetReply, 1}};
  FaultProxy proxy(o);
  ASSERT_TRUE(proxy.Start().ok());
  EXPECT_EQ(RoundTrip(proxy.port(), kRequest), "");  // dropped before forwarding
  EXPECT_EQ(upstream.requests().size(), 0u);
  EXPECT_EQ(RoundTrip(proxy.port(), kRequest), "");  // executed, reply lost
  EXPECT_EQ(upstream.requests().size(), 1u);
  EXPECT_EQ(RoundTrip(proxy.port(), kRequest), "");  // executed, reply cut short
  EXPECT_EQ(upstream.requests().size(), 2u);
  EXPECT_EQ(proxy.stats().TotalFaults(), 3);
}

TEST(FaultProxyTest, RandomFaultsAreReproducibleFromTheSeed) {
  RecordingUpstream upstream(1);
  auto run = [&](uint64_t seed) {
    FaultProxyOptions o;
    o.upstream_port = upstream.port();
    o.rate = 0.3;
    o.seed = seed;
    o.kinds = {FaultKind::kInternalError, FaultKind::kSlowDown, FaultKind::kDropRequest};
    FaultProxy proxy(o);
    EXPECT_TRUE(proxy.Start().ok());
    std::string outcomes;
    for (int i = 0; i < 60; ++i) {
      std::string r = RoundTrip(proxy.port(), kRequest);
      outcomes += r.empty() ? 'x' : r[9];  // status digit, or x for a drop
    }
    return outcomes;
  };
  std::string a = run(42), b = run(42), c = run(43);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  size_t faults = 60 - static_cast<size_t>(std::count(a.begin(), a.end(), '2'));
  EXPECT_GT(faults, 5u);
  EXPECT_LT(faults, 35u);
  EXPECT_NE(a.find('5'), std::string::npos);
  EXPECT_NE(a.find('x'), std::string::npos);
}

TEST(FaultProxyTest, ChunkedRequestsAreRefusedAndStopClosesConnections) {
  RecordingUpstream upstream(0);
  FaultProxyOptions o;
  o.upstream_port = upstream.port();
  FaultProxy proxy(o);
  ASSERT_TRUE(proxy.Start().ok());
  std::string chunked =
      "PUT /b/k HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
  EXPECT_EQ(RoundTrip(proxy.port(), chunked).rfind("HTTP/1.1 501", 0), 0u);
  int idle = ConnectTo(proxy.port());  // an idle keep-alive client
  ASSERT_GE(idle, 0);
  proxy.Stop();  // must not hang on the idle connection
  char c;
  EXPECT_LE(::recv(idle, &c, 1, 0), 0);
  ::close(idle);
  EXPECT_LT(ConnectTo(proxy.port()), 0);
}

}  // namespace
}  // namespace ward::testing
