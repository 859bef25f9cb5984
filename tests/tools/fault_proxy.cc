#include "tests/tools/fault_proxy.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace ward::testing {

namespace {

constexpr size_t kMaxHead = 1 << 20;

uint64_t SplitMix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

std::string Lower(std::string s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}

// The value of header `name` (lower-case) in a request or reply head, or "".
std::string HeaderValue(const std::string& head, const std::string& name) {
  size_t pos = head.find("\r\n");
  while (pos != std::string::npos && pos + 2 < head.size()) {
    size_t start = pos + 2;
    size_t end = head.find("\r\n", start);
    if (end == std::string::npos || end == start) break;
    std::string line = head.substr(start, end - start);
    size_t colon = line.find(':');
    if (colon != std::string::npos && Lower(line.substr(0, colon)) == name) {
      std::string v = line.substr(colon + 1);
      v.erase(0, v.find_first_not_of(" \t"));
      v.erase(v.find_last_not_of(" \t") + 1);
      return v;
    }
    pos = end;
  }
  return "";
}

bool WriteAll(int fd, const char* data, size_t n) {
  while (n > 0) {
    ssize_t w = ::send(fd, data, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    data += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

bool WriteAll(int fd, const std::string& s) { return WriteAll(fd, s.data(), s.size()); }

// A socket with a read buffer.
class Conn {
 public:
  explicit Conn(int fd) : fd_(fd) {}
  int fd() const { return fd_; }
  size_t received() const { return received_; }

  // Reads up to and including the blank line ending a head.
  bool ReadHead(std::string* head) {
    for (;;) {
      size_t end = buf_.find("\r\n\r\n");
      if (end != std::string::npos) {
        *head = buf_.substr(0, end + 4);
        buf_.erase(0, end + 4);
        return true;
      }
      if (buf_.size() > kMaxHead || !Fill()) return false;
    }
  }

  bool ReadExact(size_t n, std::string* out) {
    while (buf_.size() < n) {
      if (!Fill()) return false;
    }
    out->append(buf_, 0, n);
    buf_.erase(0, n);
    return true;
  }

  bool ReadLine(std::string* out) {
    for (;;) {
      size_t end = buf_.find("\r\n");
      if (end != std::string::npos) {
        out->append(buf_, 0, end + 2);
        buf_.erase(0, end + 2);
        return true;
      }
      if (buf_.size() > kMaxHead || !Fill()) return false;
    }
  }

  void ReadToEof(std::string* out) {
    while (Fill()) {
    }
    out->append(buf_);
    buf_.clear();
  }

 private:
  bool Fill() {
    char tmp[64 << 10];
    for (;;) {
      ssize_t r = ::recv(fd_, tmp, sizeof tmp, 0);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) return false;
      buf_.append(tmp, static_cast<size_t>(r));
      received_ += static_cast<size_t>(r);
      return true;
    }
  }

  int fd_;
  std::string buf_;
  size_t received_ = 0;
};

// Reads a chunked body, framing included, into *out.
bool ReadChunked(Conn* c, std::string* out) {
  for (;;) {
    std::string line;
    if (!c->ReadLine(&line)) return false;
    out->append(line);
    size_t size = std::strtoull(line.c_str(), nullptr, 16);
    if (size == 0) {
      // Trailers, up to the blank line.
      for (;;) {
        std::string t;
        if (!c->ReadLine(&t)) return false;
        out->append(t);
        if (t == "\r\n") return true;
      }
    }
    if (!c->ReadExact(size + 2, out)) return false;
  }
}

int Connect(const std::string& host, int port) {
  struct addrinfo hints = {}, *res = nullptr;
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  if (getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res) != 0) return -1;
  int fd = -1;
  for (auto* a = res; a != nullptr; a = a->ai_next) {
    fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    if (::connect(fd, a->ai_addr, a->ai_addrlen) == 0) break;
    ::close(fd);
    fd = -1;
  }
  freeaddrinfo(res);
  if (fd >= 0) {
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  return fd;
}

void ResetAndClose(int fd) {
  struct linger lg = {1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  ::close(fd);
}

std::string CannedReply(int status, const char* reason, const char* code, bool head_request) {
  std::string body = std::string("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>") + code +
                     "</Code><Message>injected by the fault proxy</Message>"
                     "<RequestId>fault-proxy</RequestId></Error>";
  std::string out = "HTTP/1.1 " + std::to_string(status) + " " + reason +
                    "\r\nContent-Type: application/xml\r\nx-amz-request-id: fault-proxy\r\n"
                    "Content-Length: " +
                    std::to_string(head_request ? 0 : body.size()) + "\r\n\r\n";
  if (!head_request) out += body;
  return out;
}

}  // namespace

const char* FaultKindName(FaultKind k) {
  switch (k) {
    case FaultKind::kDropRequest:
      return "drop";
    case FaultKind::kDropReply:
      return "drop-reply";
    case FaultKind::kResetReply:
      return "reset";
    case FaultKind::kInternalError:
      return "500";
    case FaultKind::kSlowDown:
      return "503";
  }
  return "?";
}

Result<FaultKind> ParseFaultKind(const std::string& name) {
  for (FaultKind k : {FaultKind::kDropRequest, FaultKind::kDropReply, FaultKind::kResetReply,
                      FaultKind::kInternalError, FaultKind::kSlowDown}) {
    if (name == FaultKindName(k)) return k;
  }
  return InvalidArgumentError("unknown fault '" + name +
                              "': use drop, drop-reply, reset, 500, 503");
}

int64_t FaultProxyStats::TotalFaults() const {
  int64_t n = 0;
  for (int64_t f : faults) n += f;
  return n;
}

FaultProxy::FaultProxy(FaultProxyOptions options) : options_(std::move(options)) {}

FaultProxy::~FaultProxy() { Stop(); }

Status FaultProxy::Start() {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) return ErrnoStatus(errno, "fault proxy socket");
  int one = 1;
  setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(options_.listen_port));
  if (inet_pton(AF_INET, options_.listen_host.c_str(), &addr.sin_addr) != 1) {
    return InvalidArgumentError("fault proxy: listen host must be an IPv4 address, not '" +
                                options_.listen_host + "'");
  }
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listen_fd_, 128) != 0) {
    int err = errno;
    ::close(listen_fd_);
    listen_fd_ = -1;
    return ErrnoStatus(err, "fault proxy: binding " + options_.listen_host + ":" +
                                std::to_string(options_.listen_port));
  }
  socklen_t len = sizeof addr;
  getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  accept_thread_ = std::thread([this] { AcceptLoop(); });
  return Status::OK();
}

void FaultProxy::Stop() {
  if (listen_fd_ < 0) return;
  stopping_ = true;
  ::shutdown(listen_fd_, SHUT_RDWR);
  if (accept_thread_.joinable()) accept_thread_.join();
  ::close(listen_fd_);
  listen_fd_ = -1;
  {
    std::lock_guard lock(mu_);
    for (int fd : conn_fds_) ::shutdown(fd, SHUT_RDWR);
  }
  // Connection threads are detached; wait until the last one has finished.
  std::unique_lock lock(active_mu_);
  active_cv_.wait(lock, [&] { return active_ == 0; });
}

void FaultProxy::AcceptLoop() {
  while (!stopping_) {
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      return;  // shut down
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    {
      std::lock_guard lock(active_mu_);
      ++active_;
    }
    std::thread([this, fd] {
      Serve(fd);
      std::lock_guard lock(active_mu_);
      if (--active_ == 0) active_cv_.notify_all();
    }).detach();
  }
}

bool FaultProxy::Decide(uint64_t n, const std::string& request_line, FaultKind* kind) {
  {
    std::lock_guard lock(mu_);
    for (FaultRule& r : options_.rules) {
      if (r.times != 0 && request_line.find(r.match) != std::string::npos) {
        if (r.times > 0) --r.times;
        *kind = r.kind;
        return true;
      }
    }
  }
  if (options_.rate <= 0 || options_.kinds.empty()) return false;
  uint64_t x = SplitMix64(options_.seed ^ SplitMix64(n));
  double u = static_cast<double>(x >> 11) * 0x1.0p-53;
  if (u >= options_.rate) return false;
  *kind = options_.kinds[SplitMix64(x) % options_.kinds.size()];
  return true;
}

void FaultProxy::AddRule(FaultRule rule) {
  std::lock_guard lock(mu_);
  options_.rules.push_back(std::move(rule));
}

FaultProxyStats FaultProxy::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

std::vector<std::string> FaultProxy::RequestHeads() const {
  std::lock_guard lock(mu_);
  return heads_;
}

void FaultProxy::Serve(int client_fd) {
  auto track = [&](int fd, bool add) {
    std::lock_guard lock(mu_);
    if (add) {
      conn_fds_.push_back(fd);
    } else {
      conn_fds_.erase(std::remove(conn_fds_.begin(), conn_fds_.end(), fd), conn_fds_.end());
    }
  };
  track(client_fd, true);
  Conn client(client_fd);
  std::unique_ptr<Conn> upstream;
  bool upstream_reused = false;
  auto close_upstream = [&] {
    if (upstream) {
      track(upstream->fd(), false);
      ::close(upstream->fd());
      upstream.reset();
    }
  };
  bool reset_client = false;

  while (!stopping_) {
    std::string head;
    if (!client.ReadHead(&head)) break;
    std::string request_line = head.substr(0, head.find("\r\n"));
    bool head_request = request_line.rfind("HEAD ", 0) == 0;
    if (!HeaderValue(head, "transfer-encoding").empty()) {
      WriteAll(client_fd,
               "HTTP/1.1 501 Not Implemented\r\nContent-Length: 0\r\n"
               "Connection: close\r\n\r\n");
      break;
    }
    std::string body;
    size_t content_length = std::strtoull(HeaderValue(head, "content-length").c_str(), nullptr, 10);
    if (content_length > 0 && !client.ReadExact(content_length, &body)) break;

    uint64_t n = next_request_++;
    FaultKind kind{};
    bool fault = Decide(n, request_line, &kind);
    {
      std::lock_guard lock(mu_);
      ++stats_.requests;
      if (fault) ++stats_.faults[static_cast<int>(kind)];
      if (options_.record_heads) heads_.push_back(head);
    }
    if (fault && kind == FaultKind::kDropRequest) break;
    if (fault && kind == FaultKind::kInternalError) {
      if (!WriteAll(client_fd,
                    CannedReply(500, "Internal Server Error", "InternalError", head_request))) {
        break;
      }
      continue;
    }
    if (fault && kind == FaultKind::kSlowDown) {
      if (!WriteAll(client_fd, CannedReply(503, "Slow Down", "SlowDown", head_request))) break;
      continue;
    }

    // Forward; on a reused upstream connection that turns out to be closed
    // before any reply byte, reconnect once and send again.
    std::string reply_head;
    bool got_head = false;
    for (int attempt = 0; attempt < 2 && !got_head; ++attempt) {
      if (!upstream) {
        int fd = Connect(options_.upstream_host, options_.upstream_port);
        if (fd < 0) break;
        track(fd, true);
        upstream = std::make_unique<Conn>(fd);
        upstream_reused = false;
      }
      size_t before = upstream->received();
      bool sent = WriteAll(upstream->fd(), head) && WriteAll(upstream->fd(), body);
      if (sent) {
        // Skip interim 1xx replies.
        for (;;) {
          if (!upstream->ReadHead(&reply_head)) break;
          if (reply_head.rfind("HTTP/1.1 1", 0) == 0 || reply_head.rfind("HTTP/1.0 1", 0) == 0) {
            continue;
          }
          got_head = true;
          break;
        }
      }
      if (!got_head) {
        bool retryable = upstream_reused && upstream->received() == before;
        close_upstream();
        if (!retryable) break;
      }
    }
    if (!got_head) break;  // upstream unreachable: the client sees a dropped connection
    {
      std::lock_guard lock(mu_);
      ++stats_.forwarded;
    }
    upstream_reused = true;

    int status = std::atoi(reply_head.substr(reply_head.find(' ') + 1).c_str());
    std::string reply_body;
    bool close_after = Lower(HeaderValue(reply_head, "connection")) == "close";
    bool ok = true;
    if (head_request || status == 204 || status == 304) {
      // No body.
    } else if (Lower(HeaderValue(reply_head, "transfer-encoding")).find("chunked") !=
               std::string::npos) {
      ok = ReadChunked(upstream.get(), &reply_body);
    } else if (!HeaderValue(reply_head, "content-length").empty()) {
      size_t len = std::strtoull(HeaderValue(reply_head, "content-length").c_str(), nullptr, 10);
      ok = upstream->ReadExact(len, &reply_body);
    } else {
      upstream->ReadToEof(&reply_body);
      close_after = true;
    }
    if (!ok) break;
    if (close_after) close_upstream();

    if (fault && kind == FaultKind::kDropReply) break;
    if (fault && kind == FaultKind::kResetReply) {
      std::string all = reply_head + reply_body;
      WriteAll(client_fd, all.data(), all.size() / 2);
      reset_client = true;
      break;
    }
    if (!WriteAll(client_fd, reply_head) || !WriteAll(client_fd, reply_body)) break;
    if (close_after) break;
  }
  close_upstream();
  track(client_fd, false);
  if (reset_client) {
    ResetAndClose(client_fd);
  } else {
    ::close(client_fd);
  }
}

}  // namespace ward::testing
