// The bucket restore target: see s3bucket.h.
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "source/s3bucket/key_path.h"
#include "source/s3bucket/s3bucket.h"

namespace ward::source {

namespace {

using s3bucket::Bucket;
using s3bucket::HeaderList;

constexpr uint64_t kMinPartSize = 5ull << 20;
constexpr uint64_t kMaxParts = 10000;
// Every queued upload counts at least this much against the memory budget,
// so that empty objects cannot pile up without bound.
constexpr uint64_t kMinJobCost = 4096;

bool ValidStorageClass(const std::string& c) {
  if (c.empty()) return false;
  return std::all_of(c.begin(), c.end(), [](char ch) { return (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_'; });
}

bool IsHexMd5(const std::string& etag) {
  return etag.size() == 32 && std::all_of(etag.begin(), etag.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

bool PrefixesOverlap(const std::string& a, const std::string& b) {
  if (a.empty() || b.empty() || a == b) return true;
  return a.rfind(b + "/", 0) == 0 || b.rfind(a + "/", 0) == 0;
}

const std::string* Xattr(const repo::Node& n, const std::string& name) {
  for (const auto& [k, v] : n.xattrs) {
    if (k == name) return &v;
  }
  return nullptr;
}

// Reads exactly `n` bytes unless the stream ends first.
Result<size_t> ReadUpTo(Reader& r, uint8_t* out, size_t n) { return r.Read(std::span<uint8_t>(out, n)); }

// A counter of bytes held by uploads in flight: Acquire blocks while the
// budget is spent (a single cost above the budget passes when nothing else
// is held).
class Budget {
 public:
  explicit Budget(uint64_t cap) : cap_(cap) {}
  void Acquire(uint64_t n) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return used_ == 0 || used_ + n <= cap_; });
    used_ += n;
  }
  void Release(uint64_t n) {
    std::lock_guard lock(mu_);
    used_ -= n;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  const uint64_t cap_;
  uint64_t used_ = 0;
};

class S3BucketTarget : public RestoreTarget {
 public:
  S3BucketTarget(std::unique_ptr<Bucket> bucket, S3BucketRestoreOptions options)
      : bucket_(std::move(bucket)),
        options_(std::move(options)),
        budget_(std::max<uint64_t>(options_.multipart_threshold,
                                   options_.part_size * static_cast<uint64_t>(std::min(options_.bucket.connections, 4)))),
        started_(std::chrono::steady_clock::now()) {
    for (int i = 0; i < options_.bucket.connections; ++i) workers_.emplace_back([this] { Work(); });
  }

  ~S3BucketTarget() override { Stop(/*drain=*/false); }

  Status RestoreFile(const std::string& path, const repo::Node& node, Reader& content) override;
  Result<nlohmann::json> Finish() override;
  std::string Summary() const override;

 private:
  struct Upload {
    std::string key;
    Bytes data;
    HeaderList headers;
    std::string md5_hex;
    std::string source_etag;
    bool source_plain = false;  // the source's ETag was the MD5 of its bytes
    uint64_t cost = 0;
  };

  Result<std::string> TargetKey(const std::string& path, const repo::Node& node) const;
  Result<HeaderList> Headers(const repo::Node& node, std::string* storage_class) const;
  Status Multipart(const std::string& key, const repo::Node& node, HeaderList headers, Reader& content);
  void PutOne(Upload& u);
  void CheckSource(const std::string& key, const std::string& md5_hex, const std::string& source_etag,
                   bool source_plain);

  void Submit(std::function<void()> job);
  void Work();
  void Stop(bool drain);
  void Failed(const Status& s);
  Status FirstError();

  std::unique_ptr<Bucket> bucket_;
  S3BucketRestoreOptions options_;
  Budget budget_;
  std::chrono::steady_clock::time_point started_;

  std::mutex mu_;
  std::condition_variable work_cv_, idle_cv_;
  std::deque<std::function<void()>> jobs_;
  int running_ = 0;
  bool stopping_ = false;
  std::vector<std::thread> workers_;

  // Under mu_.
  Status first_error_;
  uint64_t failures_ = 0;
  uint64_t objects_ = 0, bytes_ = 0, multipart_ = 0, etag_verified_ = 0;
  uint64_t source_matched_ = 0, source_unverifiable_ = 0;
};

void S3BucketTarget::Submit(std::function<void()> job) {
  std::lock_guard lock(mu_);
  jobs_.push_back(std::move(job));
  work_cv_.notify_one();
}

void S3BucketTarget::Work() {
  for (;;) {
    std::function<void()> job;
    {
      std::unique_lock lock(mu_);
      work_cv_.wait(lock, [&] { return stopping_ || !jobs_.empty(); });
      if (jobs_.empty()) return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
      running_++;
    }
    job();
    std::lock_guard lock(mu_);
    running_--;
    idle_cv_.notify_all();
  }
}

void S3BucketTarget::Stop(bool drain) {
  {
    std::unique_lock lock(mu_);
    if (drain) idle_cv_.wait(lock, [&] { return jobs_.empty() && running_ == 0; });
    // Abandoned (the restore failed): uploads not yet started are dropped.
    jobs_.clear();
    stopping_ = true;
    work_cv_.notify_all();
  }
  for (auto& t : workers_) {
    if (t.joinable()) t.join();
  }
}

void S3BucketTarget::Failed(const Status& s) {
  std::lock_guard lock(mu_);
  failures_++;
  if (first_error_.ok()) first_error_ = s;
}

Status S3BucketTarget::FirstError() {
  std::lock_guard lock(mu_);
  return first_error_;
}

Result<std::string> S3BucketTarget::TargetKey(const std::string& path, const repo::Node& node) const {
  const std::string* original = Xattr(node, "s3.key");
  if (original == nullptr) {
    return InvalidArgumentError("'" + path + "' has no recorded S3 key (xattr s3.key): it was not backed up from an "
                                "S3 bucket; restore it with --target DIR");
  }
  auto rel = s3bucket::DecodePath(path);
  if (!rel.ok()) return rel.status();
  const std::string& k = *original;
  bool matches = k == *rel || (k.size() > rel->size() && k.compare(k.size() - rel->size(), rel->size(), *rel) == 0 &&
                               k[k.size() - rel->size() - 1] == '/');
  if (!matches) {
    return DataLossError("'" + path + "' in the snapshot does not match its recorded key '" + k +
                         "': the snapshot's tree is inconsistent; run `ward check`");
  }
  std::string key = bucket_->KeyPrefix() + *rel;
  if (key.empty()) {
    return InvalidArgumentError("object '" + k + "' would be restored to an empty key: give --to a prefix");
  }
  return key;
}

Result<HeaderList> S3BucketTarget::Headers(const repo::Node& node, std::string* storage_class) const {
  HeaderList h;
  std::string recorded_class = "STANDARD";
  for (const auto& [name, value] : node.xattrs) {
    if (name == "s3.content-type") {
      h.emplace_back("content-type", value);
    } else if (name.rfind("s3.meta.", 0) == 0) {
      h.emplace_back("x-amz-meta-" + name.substr(8), value);
    } else if (name == "s3.storage-class") {
      recorded_class = value;
    } else if (name.size() > 3 && name.rfind("s3.", 0) == 0) {
      std::string header = name.substr(3);
      const auto& sys = s3bucket::SystemHeaders();
      if (std::find(sys.begin(), sys.end(), header) != sys.end()) h.emplace_back(header, value);
    }
  }
  *storage_class = options_.storage_class.empty() ? recorded_class : options_.storage_class;
  // STANDARD is every bucket's default: say nothing, so that servers that
  // only know their default are not asked.
  if (*storage_class != "STANDARD" || !options_.storage_class.empty()) {
    if (!ValidStorageClass(*storage_class)) {
      return InvalidArgumentError("recorded storage class '" + *storage_class + "' is not of the form STANDARD_IA");
    }
    h.emplace_back("x-amz-storage-class", *storage_class);
  }
  return h;
}

void S3BucketTarget::CheckSource(const std::string& key, const std::string& md5_hex, const std::string& source_etag,
                                 bool source_plain) {
  // The backed-up object's own ETag: for a single-part upload without
  // server-side encryption it is the MD5 of its bytes, so the restored
  // bytes must hash to it. Other ETags (multipart, KMS) say nothing here.
  std::lock_guard lock(mu_);
  if (source_etag == md5_hex) {
    source_matched_++;
  } else if (source_plain) {
    failures_++;
    if (first_error_.ok()) {
      first_error_ = DataLossError(bucket_->Location() + ": " + key + ": the restored bytes hash to " + md5_hex +
                                   " but the backed-up object had ETag " + source_etag +
                                   ": the snapshot does not hold the object as it was; run `ward check --read-data`");
    }
  } else {
    source_unverifiable_++;
  }
}

void S3BucketTarget::PutOne(Upload& u) {
  auto r = bucket_->Put(u.key, u.data, u.headers);
  if (!r.ok()) {
    Failed(r.status());
    return;
  }
  // With KMS (or customer keys) the ETag is not the MD5; Content-MD5 has
  // still been checked by the server.
  bool etag_is_md5 = r->sse.rfind("aws:kms", 0) != 0;
  if (etag_is_md5 && r->etag != u.md5_hex) {
    Failed(DataLossError(bucket_->Location() + ": " + u.key + ": the server stored ETag " + r->etag +
                         " for bytes whose MD5 is " + u.md5_hex + ": the object is not what was sent"));
    return;
  }
  CheckSource(u.key, u.md5_hex, u.source_etag, u.source_plain);
  std::lock_guard lock(mu_);
  objects_++;
  bytes_ += u.data.size();
  if (etag_is_md5) etag_verified_++;
}

Status S3BucketTarget::RestoreFile(const std::string& path, const repo::Node& node, Reader& content) {
  WARD_RETURN_IF_ERROR(FirstError());
  WARD_ASSIGN_OR_RETURN(std::string key, TargetKey(path, node));
  std::string storage_class;
  WARD_ASSIGN_OR_RETURN(HeaderList headers, Headers(node, &storage_class));
  if (node.size > options_.multipart_threshold) {
    return Multipart(key, node, std::move(headers), content);
  }
  auto u = std::make_shared<Upload>();
  u->key = key;
  u->headers = std::move(headers);
  u->cost = std::max<uint64_t>(node.size, kMinJobCost);
  const std::string* etag = Xattr(node, "s3.etag");
  u->source_etag = etag ? *etag : "";
  u->source_plain = IsHexMd5(u->source_etag) && Xattr(node, "s3.sse") == nullptr;
  budget_.Acquire(u->cost);
  u->data.resize(node.size + 1);
  auto n = ReadUpTo(content, u->data.data(), u->data.size());
  Status fin = n.ok() ? content.Finish() : n.status();
  if (fin.ok() && *n != node.size) {
    fin = DataLossError("'" + path + "' holds " + std::to_string(*n) + " bytes in the snapshot, its node says " +
                        std::to_string(node.size));
  }
  if (!fin.ok()) {
    budget_.Release(u->cost);
    return fin;
  }
  u->data.resize(node.size);
  u->md5_hex = s3bucket::Md5Hex(u->data);
  Submit([this, u] {
    PutOne(*u);
    budget_.Release(u->cost);
  });
  return Status::OK();
}

Status S3BucketTarget::Multipart(const std::string& key, const repo::Node& node, HeaderList headers,
                                 Reader& content) {
  uint64_t part_size = options_.part_size;
  while ((node.size + part_size - 1) / part_size > kMaxParts) part_size *= 2;
  const size_t parts = static_cast<size_t>((node.size + part_size - 1) / part_size);
  WARD_ASSIGN_OR_RETURN(std::string upload_id, bucket_->CreateMultipart(key, headers));

  struct Shared {
    std::mutex mu;
    std::condition_variable done_cv;
    size_t done = 0;
    Status error;
    std::vector<std::string> etags;
    std::vector<Bytes> md5s;
  };
  auto shared = std::make_shared<Shared>();
  shared->etags.resize(parts);
  shared->md5s.resize(parts);
  s3bucket::Md5Stream whole;
  uint64_t total = 0;
  Status read_error;
  size_t submitted = 0;
  for (size_t i = 0; i < parts; ++i) {
    {
      std::lock_guard lock(shared->mu);
      if (!shared->error.ok()) break;
    }
    const uint64_t want = std::min<uint64_t>(part_size, node.size - total);
    budget_.Acquire(want);
    auto data = std::make_shared<Bytes>(want);
    auto n = ReadUpTo(content, data->data(), data->size());
    if (!n.ok() || *n != want) {
      budget_.Release(want);
      read_error = n.ok() ? DataLossError("'" + key + "': the snapshot holds fewer bytes than its node's " +
                                          std::to_string(node.size))
                          : n.status();
      break;
    }
    total += want;
    whole.Update(*data);
    shared->md5s[i] = s3bucket::Md5(*data);
    submitted++;
    Submit([this, shared, data, i, key, upload_id, want] {
      auto etag = bucket_->UploadPart(key, upload_id, static_cast<int>(i + 1), *data);
      budget_.Release(want);
      std::lock_guard lock(shared->mu);
      if (etag.ok()) {
        shared->etags[i] = *etag;
      } else if (shared->error.ok()) {
        shared->error = etag.status();
      }
      shared->done++;
      shared->done_cv.notify_all();
    });
  }
  if (read_error.ok()) {
    // The stream must end exactly here.
    uint8_t extra;
    auto n = ReadUpTo(content, &extra, 1);
    read_error = !n.ok() ? n.status() : *n != 0 ? DataLossError("'" + key + "': the snapshot holds more bytes than its node's " + std::to_string(node.size)) : content.Finish();
  }
  Status error;
  {
    std::unique_lock lock(shared->mu);
    shared->done_cv.wait(lock, [&] { return shared->done == submitted; });
    error = shared->error;
  }
  if (error.ok()) error = read_error;
  if (error.ok() && submitted != parts) error = InternalError("'" + key + "': not every part was uploaded");
  if (!error.ok()) {
    bucket_->AbortMultipart(key, upload_id).IgnoreError();  // the first error is what matters
    return error;
  }
  const std::string expected = s3bucket::MultipartEtag(shared->md5s);
  Status complete = bucket_->CompleteMultipart(key, upload_id, shared->etags);
  // A lost reply to a completion that worked is answered NoSuchUpload on a
  // retry: the object's ETag below decides.
  if (!complete.ok() && complete.code() != StatusCode::kNotFound) {
    bucket_->AbortMultipart(key, upload_id).IgnoreError();
    return complete;
  }
  auto head = bucket_->Head(key);
  if (!head.ok()) return complete.ok() ? head.status() : complete;
  const std::string md5_hex = HexEncode(whole.Finish());
  bool verified = false;
  if (head->etag == expected && head->size == node.size) {
    verified = true;
  } else if (complete.ok() && head->etag.find('-') == std::string::npos && head->size == node.size &&
             head->sse.rfind("aws:kms", 0) != 0) {
    // Some servers give multipart objects a plain MD5 ETag.
    verified = head->etag == md5_hex;
  } else if (complete.ok() && head->size == node.size) {
    // An ETag in no form we can check: read the object back.
    s3bucket::Md5Stream back;
    uint64_t off = 0;
    Status rs;
    while (off < node.size) {
      uint64_t len = std::min<uint64_t>(part_size, node.size - off);
      auto piece = bucket_->Get(key, head->etag, "", off, len, node.size);
      if (!piece.ok()) {
        rs = piece.status();
        break;
      }
      back.Update(*piece);
      off += len;
    }
    if (!rs.ok()) return rs.WithContext("reading " + key + " back to verify it");
    verified = HexEncode(back.Finish()) == md5_hex;
  }
  if (!verified) {
    return DataLossError(fmt::format("{}: {} has ETag {} and {} bytes after a multipart upload whose parts hash "
                                     "to {} ({} bytes): the object is not what was sent",
                                     bucket_->Location(), key, head->etag, head->size, expected, node.size));
  }
  const std::string* etag = Xattr(node, "s3.etag");
  std::string source_etag = etag ? *etag : "";
  if (source_etag == expected) {
    // The backed-up object was uploaded in parts of the same size.
    std::lock_guard lock(mu_);
    source_matched_++;
  } else {
    CheckSource(key, md5_hex, source_etag, IsHexMd5(source_etag) && Xattr(node, "s3.sse") == nullptr);
  }
  std::lock_guard lock(mu_);
  objects_++;
  bytes_ += node.size;
  multipart_++;
  etag_verified_++;
  return Status::OK();
}

std::string S3BucketTarget::Summary() const {
  // Read after Finish: the workers have stopped.
  return fmt::format("{} object(s) ({}) into {}; ETags checked: {} after upload, {} against the backed-up objects",
                     objects_, FormatBytes(bytes_), bucket_->Location(), etag_verified_, source_matched_);
}

Result<nlohmann::json> S3BucketTarget::Finish() {
  Stop(/*drain=*/true);
  std::lock_guard lock(mu_);
  if (!first_error_.ok()) {
    if (failures_ > 1) {
      return Status(first_error_.code(),
                    first_error_.message() + fmt::format(" (and {} more objects failed)", failures_ - 1));
    }
    return first_error_;
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  return nlohmann::json{{"target", bucket_->Location()},
                        {"bucket", bucket_->url().bucket},
                        {"prefix", bucket_->url().prefix},
                        {"objects", objects_},
                        {"bytes", bytes_},
                        {"multipart", multipart_},
                        {"storage_class", options_.storage_class.empty() ? "recorded" : options_.storage_class},
                        {"etag_verified", etag_verified_},
                        {"source_etag_matched", source_matched_},
                        {"source_etag_unverifiable", source_unverifiable_},
                        {"seconds", seconds},
                        {"ok", true}};
}

}  // namespace

Result<std::unique_ptr<RestoreTarget>> NewS3BucketRestoreTarget(const S3BucketRestoreOptions& options,
                                                                const storage::s3::EnvLookup& env) {
  if (!options.storage_class.empty() && !ValidStorageClass(options.storage_class)) {
    return InvalidArgumentError("--storage-class '" + options.storage_class +
                                "' is not a storage class: use a name such as STANDARD, STANDARD_IA, GLACIER_IR");
  }
  if (options.part_size < kMinPartSize || options.part_size > (5ull << 30)) {
    return InvalidArgumentError("S3 part size must be between 5 MiB and 5 GiB");
  }
  if (options.multipart_threshold < options.part_size || options.multipart_threshold > (5ull << 30)) {
    return InvalidArgumentError("the S3 multipart threshold must be between the part size and 5 GiB");
  }
  WARD_ASSIGN_OR_RETURN(std::unique_ptr<Bucket> bucket, s3bucket::OpenBucket(options.url, options.bucket, env));
  WARD_RETURN_IF_ERROR(bucket->Check());
  if (!options.allow_overwrite) {
    const std::string to = bucket->Location();
    std::string from = options.position.is_object() ? options.position.value("url", "") : "";
    if (!from.empty()) {
      auto src = storage::s3::ParseS3Url(from);
      // Any endpoint: one bucket has many names (an alias, a proxy, path or
      // virtual-host style), so the same bucket name counts as the same bucket.
      if (src.ok() && src->bucket == bucket->url().bucket && PrefixesOverlap(src->prefix, bucket->url().prefix)) {
        return FailedPreconditionError("--to " + to + " overlaps " + src->ToString() +
                                       ", where the snapshot was taken: restoring there replaces live objects. "
                                       "Restore into another bucket or prefix, or pass --allow-overwrite to do it "
                                       "on purpose");
      }
    } else {
      WARD_ASSIGN_OR_RETURN(bool occupied, bucket->AnyUnder(bucket->KeyPrefix()));
      if (occupied) {
        return FailedPreconditionError("--to " + to +
                                       " already holds objects and the snapshot does not record where it was taken: "
                                       "restore into an empty prefix, or pass --allow-overwrite to do it on purpose");
      }
    }
  }
  return std::unique_ptr<RestoreTarget>(std::make_unique<S3BucketTarget>(std::move(bucket), options));
}

Result<std::unique_ptr<RestoreTarget>> MakeS3BucketRestoreTarget(const RestoreTargetOptions& options) {
  if (!options.kind.empty() && options.kind != "s3") {
    return InvalidArgumentError("--to " + options.to + ": an S3 bucket can only receive an S3 source, not '" +
                                options.kind + "'");
  }
  S3BucketRestoreOptions o;
  o.url = options.to;
  o.storage_class = options.storage_class;
  o.position = options.position;
  o.allow_overwrite = options.allow_overwrite;
  return NewS3BucketRestoreTarget(o);
}

}  // namespace ward::source
