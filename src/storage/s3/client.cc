#include "storage/s3/client.h"

#include <curl/curl.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>

#include "storage/s3/xml.h"

namespace ward::storage::s3 {

namespace {

std::once_flag g_curl_init;

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool HasLineBreak(std::string_view s) {
  return s.find('\r') != std::string_view::npos || s.find('\n') != std::string_view::npos;
}

struct UploadState {
  ByteView data;
  size_t pos = 0;
};

size_t ReadBody(char* buf, size_t size, size_t nitems, void* userdata) {
  auto* st = static_cast<UploadState*>(userdata);
  size_t n = std::min(size * nitems, st->data.size() - st->pos);
  if (n > 0) std::memcpy(buf, st->data.data() + st->pos, n);
  st->pos += n;
  return n;
}

// libcurl rewinds the body when it re-sends a request on a fresh connection.
int SeekBody(void* userdata, curl_off_t offset, int origin) {
  auto* st = static_cast<UploadState*>(userdata);
  if (origin != SEEK_SET || offset < 0 || static_cast<uint64_t>(offset) > st->data.size()) {
    return CURL_SEEKFUNC_CANTSEEK;
  }
  st->pos = static_cast<size_t>(offset);
  return CURL_SEEKFUNC_OK;
}

struct DownloadState {
  S3Response* response;
  uint64_t max_body;
  CURL* curl;
  bool reserved = false;
  bool too_large = false;
};

size_t WriteBody(char* ptr, size_t size, size_t nmemb, void* userdata) {
  auto* st = static_cast<DownloadState*>(userdata);
  size_t n = size * nmemb;
  Bytes& body = st->response->body;
  if (!st->reserved) {
    // One allocation for the whole body instead of log2(size) regrowths.
    st->reserved = true;
    curl_off_t length = -1;
    if (curl_easy_getinfo(st->curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length) == CURLE_OK &&
        length > 0 && static_cast<uint64_t>(length) <= st->max_body) {
      body.reserve(static_cast<size_t>(length));
    }
  }
  if (body.size() + n > st->max_body) {
    st->too_large = true;
    return 0;  // aborts the transfer with CURLE_WRITE_ERROR
  }
  body.insert(body.end(), reinterpret_cast<const uint8_t*>(ptr),
              reinterpret_cast<const uint8_t*>(ptr) + n);
  return n;
}

size_t WriteHeader(char* buffer, size_t size, size_t nitems, void* userdata) {
  auto* r = static_cast<S3Response*>(userdata);
  size_t n = size * nitems;
  std::string_view line(buffer, n);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  if (line.substr(0, 5) == "HTTP/") {
    // A new status line (after "100 Continue", or a re-sent request): only
    // the final reply's headers count.
    r->headers.clear();
    return n;
  }
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) return n;
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  r->headers.emplace_back(Lower(line.substr(0, colon)), std::string(value));
  return n;
}

Status CurlFailure(CURLcode rc, const char* errbuf, const std::string& what) {
  std::string detail = errbuf[0] != '\0' ? std::string(errbuf) : curl_easy_strerror(rc);
  std::string msg = what + ": " + detail;
  switch (rc) {
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
      return InvalidArgumentError(msg);
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
      return FailedPreconditionError(
          msg +
          " (the server's TLS certificate is not trusted: check the endpoint, or give the CA "
          "bundle with the S3 ca_file option)");
    case CURLE_OUT_OF_MEMORY:
      return ResourceExhaustedError(msg);
    default:
      // Connection refused or reset, timeouts, DNS failures, truncated
      // replies, TLS handshake failures: all may pass. The retry wrapper
      // repeats the call; a persistent one surfaces with this message.
      return UnavailableError(msg);
  }
}

}  // namespace

std::optional<std::string> S3Response::Header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k == name) return v;
  }
  return std::nullopt;
}

S3Error ParseS3Error(const S3Response& r) {
  S3Error e;
  if (r.body.empty()) return e;
  auto doc = ParseXml(AsString(r.body));
  if (!doc.ok() || doc->name != "Error") return e;
  e.code = doc->ChildText("Code");
  e.message = doc->ChildText("Message");
  e.request_id = doc->ChildText("RequestId");
  return e;
}

// A pool of easy handles sharing one DNS and TLS-session cache.
struct S3Client::Pool {
  struct Entry {
    CURL* curl;
    bool has_connected;  // it has made a connection before (so may reuse one)
  };

  explicit Pool(int max) : max_handles(std::max(1, max)) {
    share = curl_share_init();
    curl_share_setopt(share, CURLSHOPT_LOCKFUNC, &Pool::Lock);
    curl_share_setopt(share, CURLSHOPT_UNLOCKFUNC, &Pool::Unlock);
    curl_share_setopt(share, CURLSHOPT_USERDATA, this);
    curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
  }

  ~Pool() {
    for (Entry& e : idle) curl_easy_cleanup(e.curl);
    curl_share_cleanup(share);
  }

  static void Lock(CURL*, curl_lock_data data, curl_lock_access, void* userptr) {
    static_cast<Pool*>(userptr)->share_mu[static_cast<size_t>(data) % kLocks].lock();
  }
  static void Unlock(CURL*, curl_lock_data data, void* userptr) {
    static_cast<Pool*>(userptr)->share_mu[static_cast<size_t>(data) % kLocks].unlock();
  }

  Result<Entry> Acquire() {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return !idle.empty() || created < max_handles; });
    if (!idle.empty()) {
      Entry e = idle.back();
      idle.pop_back();
      return e;
    }
    CURL* c = curl_easy_init();
    if (c == nullptr)
      return ResourceExhaustedError("cannot create an HTTP handle (curl_easy_init)");
    ++created;
    return Entry{c, false};
  }

  void Release(Entry e) {
    std::lock_guard lock(mu);
    idle.push_back(e);
    cv.notify_one();
  }

  static constexpr size_t kLocks = 8;
  const int max_handles;
  CURLSH* share = nullptr;
  std::mutex share_mu[kLocks];
  std::mutex mu;
  std::condition_variable cv;
  std::vector<Entry> idle;
  int created = 0;
};

S3Client::S3Client(ClientConfig config) : config_(std::move(config)) {
  pool_ = std::make_unique<Pool>(config_.connections);
}

S3Client::~S3Client() = default;

Result<std::unique_ptr<S3Client>> S3Client::Create(ClientConfig config) {
  if (config.scheme != "https" && config.scheme != "http") {
    return InvalidArgumentError("S3 endpoint scheme must be https or http, not '" + config.scheme +
                                "'");
  }
  if (config.host.empty()) return InvalidArgumentError("S3 endpoint has no host");
  if (config.connections < 1 || config.connections > 256) {
    return InvalidArgumentError("S3 connections must be between 1 and 256, not " +
                                std::to_string(config.connections));
  }
  if (config.credentials.access_key_id.empty() || config.credentials.secret_access_key.empty()) {
    return FailedPreconditionError(
        "no S3 credentials: set AWS_ACCESS_KEY_ID and "
        "AWS_SECRET_ACCESS_KEY, or AWS_PROFILE");
  }
  // They become header values: a line break would smuggle in a header.
  if (HasLineBreak(config.credentials.access_key_id) ||
      HasLineBreak(config.credentials.session_token)) {
    return InvalidArgumentError(
        "the S3 access key ID or session token contains a line break: "
        "check AWS_ACCESS_KEY_ID and AWS_SESSION_TOKEN");
  }
  if (!config.clock) {
    config.clock = [] {
      return static_cast<int64_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                      std::chrono::system_clock::now().time_since_epoch())
                                      .count());
    };
  }
  CURLcode init_rc = CURLE_OK;
  std::call_once(g_curl_init, [&] { init_rc = curl_global_init(CURL_GLOBAL_DEFAULT); });
  if (init_rc != CURLE_OK) {
    return InternalError(std::string("curl_global_init failed: ") + curl_easy_strerror(init_rc));
  }
  return std::unique_ptr<S3Client>(new S3Client(std::move(config)));
}

std::string S3Client::EndpointUrl() const {
  std::string out = config_.scheme + "://" + config_.host;
  if (config_.port != 0) out += ":" + std::to_string(config_.port);
  return out;
}

Result<S3Response> S3Client::Send(const S3Request& req) {
  // What goes on the wire, and what is signed.
  std::string host = config_.host;
  std::string path;
  if (config_.virtual_host && !req.bucket.empty()) {
    host = req.bucket + "." + host;
    path = "/" + req.key;
  } else if (!req.bucket.empty()) {
    path = "/" + req.bucket;
    if (!req.key.empty()) path += "/" + req.key;
  } else {
    path = "/";
  }
  std::string host_header = host;
  if (config_.port != 0) host_header += ":" + std::to_string(config_.port);
  std::string query = CanonicalQueryString(req.query);
  std::string url = config_.scheme + "://" + host_header + CanonicalPath(path);
  if (!query.empty()) url += "?" + query;

  std::string payload_hash;
  if (req.body.empty()) {
    payload_hash = std::string(kEmptyPayloadSha256);
  } else if (config_.sign_payload) {
    payload_hash = Sha256Hex(req.body);
  } else {
    payload_hash = std::string(kUnsignedPayload);
  }

  SignableRequest sr;
  sr.method = req.method;
  sr.path = path;
  sr.query = req.query;
  sr.payload_hash = payload_hash;
  sr.headers.emplace_back("host", host_header);
  std::string amz_date = AmzDate(config_.clock());
  sr.headers.emplace_back("x-amz-date", amz_date);
  sr.headers.emplace_back("x-amz-content-sha256", payload_hash);
  if (!config_.credentials.session_token.empty()) {
    sr.headers.emplace_back("x-amz-security-token", config_.credentials.session_token);
  }
  for (const auto& [name, value] : req.headers) {
    if (name.empty() || HasLineBreak(name) || HasLineBreak(value) ||
        name.find(':') != std::string::npos) {
      return InvalidArgumentError("refusing to send a malformed HTTP header '" + name + "'");
    }
    sr.headers.emplace_back(name, value);
  }
  SigningContext ctx{config_.credentials.access_key_id, config_.credentials.secret_access_key,
                     config_.region, "s3", amz_date};
  SignatureParts sig = Sign(sr, ctx);

  struct curl_slist* slist = nullptr;
  auto add_header = [&](const std::string& name, const std::string& value) {
    std::string line = name + ": " + value;
    // An empty value needs "name;" for libcurl to send it at all.
    if (value.empty()) line = name + ";";
    slist = curl_slist_append(slist, line.c_str());
  };
  for (const auto& [name, value] : sr.headers) add_header(name, value);
  add_header("Authorization", sig.authorization);
  // No "Expect: 100-continue" round trip; no default Content-Type.
  slist = curl_slist_append(slist, "Expect:");
  slist = curl_slist_append(slist, "Content-Type:");
  std::fill(sig.authorization.begin(), sig.authorization.end(), '\0');
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> headers_owner(slist,
                                                                            &curl_slist_free_all);

  WARD_ASSIGN_OR_RETURN(Pool::Entry entry, pool_->Acquire());
  CURL* c = entry.curl;
  curl_easy_reset(c);  // keeps the live connection and caches

  S3Response response;
  UploadState upload{req.body, 0};
  DownloadState download{&response, std::max<uint64_t>(req.max_body, 64 << 10), c};
  char errbuf[CURL_ERROR_SIZE];
  errbuf[0] = '\0';

  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  // Keys may hold "." and ".." segments ("x/../y"): send the path as signed,
  // never with the dot segments removed.
  curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c, CURLOPT_SHARE, pool_->share);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, slist);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "ward/0.1");
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, static_cast<long>(config_.connect_timeout_seconds));
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1024L);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, static_cast<long>(config_.low_speed_seconds));
  curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(c, CURLOPT_BUFFERSIZE, 512L << 10);
  curl_easy_setopt(c, CURLOPT_UPLOAD_BUFFERSIZE, 512L << 10);
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
  if (!config_.ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, config_.ca_file.c_str());
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> connect_to(nullptr,
                                                                         &curl_slist_free_all);
  if (!config_.connect_address.empty()) {
    connect_to.reset(curl_slist_append(nullptr, ("::" + config_.connect_address).c_str()));
    curl_easy_setopt(c, CURLOPT_CONNECT_TO, connect_to.get());
  }
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, &WriteHeader);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &response);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &WriteBody);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &download);
  if (req.method == "HEAD") {
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  } else if (req.method == "PUT" || req.method == "POST") {
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
    curl_easy_setopt(c, CURLOPT_READFUNCTION, &ReadBody);
    curl_easy_setopt(c, CURLOPT_READDATA, &upload);
    curl_easy_setopt(c, CURLOPT_SEEKFUNCTION, &SeekBody);
    curl_easy_setopt(c, CURLOPT_SEEKDATA, &upload);
    if (req.method == "POST") curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "POST");
  } else if (req.method == "GET") {
    curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
  } else if (req.method == "DELETE") {
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "DELETE");
  } else {
    pool_->Release(entry);
    return InvalidArgumentError("unsupported HTTP method " + req.method);
  }

  CURLcode rc = curl_easy_perform(c);
  long status = 0;
  long connects = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &connects);
  // Drop our references to this call's buffers before the handle goes back.
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, nullptr);
  curl_easy_setopt(c, CURLOPT_CONNECT_TO, nullptr);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, nullptr);
  bool had_connected = entry.has_connected;
  entry.has_connected = had_connected || connects > 0 || rc == CURLE_OK;
  pool_->Release(entry);

  std::string what = req.method + " " + CanonicalPath(path);
  if (download.too_large) {
    return ResourceExhaustedError(what + ": the reply is larger than the expected " +
                                  std::to_string(req.max_body) + " bytes");
  }
  if (rc != CURLE_OK) return CurlFailure(rc, errbuf, what);
  response.status = status;
  // A fresh connection on a handle that had one: either the old connection
  // was closed and replaced before sending, or libcurl re-sent the request.
  response.maybe_resent = had_connected && connects > 0;
  return response;
}

Status ListObjectsV2(const ListObjectsRequest& req,
                     const std::function<Status(const XmlElement& contents, const std::string& key)>& fn) {
  std::string token;
  for (;;) {
    S3Request page;
    page.bucket = req.bucket;
    page.query.emplace_back("list-type", "2");
    if (req.url_encoding) page.query.emplace_back("encoding-type", "url");
    if (!req.prefix.empty()) page.query.emplace_back("prefix", req.prefix);
    if (!token.empty()) page.query.emplace_back("continuation-token", token);
    page.max_body = req.max_body;
    WARD_ASSIGN_OR_RETURN(S3Response r, req.send(page));
    if (r.status != 200) return req.refused(r);
    auto doc = ParseXml(AsString(r.body));
    if (!doc.ok()) return UnavailableError(req.what + ": " + doc.status().message());
    if (doc->name != "ListBucketResult") {
      return UnavailableError(req.what + ": unexpected reply <" + doc->name + ">");
    }
    // A server that ignores encoding-type sends keys as they are.
    const bool encoded = doc->ChildText("EncodingType") == "url";
    for (const XmlElement* c : doc->Children("Contents")) {
      std::string key = c->ChildText("Key");
      if (encoded) {
        std::replace(key.begin(), key.end(), '+', ' ');
        key = UriDecode(key);
      }
      WARD_RETURN_IF_ERROR(fn(*c, key));
    }
    if (doc->ChildText("IsTruncated") != "true") return Status::OK();
    std::string next = doc->ChildText("NextContinuationToken");
    if (next.empty() || next == token) {
      return UnavailableError(req.what + ": truncated reply without a new continuation token");
    }
    token = std::move(next);
  }
}

}  // namespace ward::storage::s3
