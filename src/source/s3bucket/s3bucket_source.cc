// S3BucketSource: see s3bucket.h.
#include <unistd.h>

#include <algorithm>
#include <future>
#include <map>
#include <optional>
#include <unordered_map>

#include <spdlog/spdlog.h>

#include "base/sync.h"
#include "crypto/crypto.h"
#include "io/file.h"
#include "repo/cache.h"
#include "source/s3bucket/key_path.h"
#include "source/s3bucket/s3bucket.h"

namespace ward::source {

namespace {

using s3bucket::Bucket;
using s3bucket::ListedObject;
using s3bucket::ObjectHead;

struct Object {
  ListedObject listed;
  ObjectHead head;
  bool failed = false;  // could not be read: not in the snapshot
};

// The inode that stands for an ETag: the first 8 bytes of SHA-256 over it
// (never 0). Together with size and LastModified (mtime and ctime) it makes
// the engine's files cache treat "same ETag, size and LastModified" as
// unchanged.
uint64_t EtagInode(const std::string& etag) {
  std::string in = "ward s3 etag\n" + etag;
  Id h = crypto::Sha256(AsBytes(in));
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | h.bytes[i];
  return v == 0 ? 1 : v;
}

// The HEAD cache (S3BucketSourceOptions::head_cache): per key, the listing's
// ETag, size and LastModified and what HEAD said while they were those.
constexpr int kHeadCacheVersion = 1;

nlohmann::json PairsToJson(const std::vector<std::pair<std::string, std::string>>& v) {
  nlohmann::json a = nlohmann::json::array();
  for (const auto& [k, x] : v) a.push_back({k, x});
  return a;
}

bool PairsFromJson(const nlohmann::json& a, std::vector<std::pair<std::string, std::string>>* out) {
  if (!a.is_array()) return false;
  for (const auto& e : a) {
    if (!e.is_array() || e.size() != 2 || !e[0].is_string() || !e[1].is_string()) return false;
    out->emplace_back(e[0].get<std::string>(), e[1].get<std::string>());
  }
  return true;
}

nlohmann::json CacheEntry(const Object& o) {
  const ObjectHead& h = o.head;
  return {{"etag", o.listed.etag},
          {"size", o.listed.size},
          {"mtime_ns", o.listed.mtime_ns},
          {"head",
           {{"size", h.size}, {"etag", h.etag}, {"mtime_ns", h.mtime_ns}, {"content_type", h.content_type},
            {"version_id", h.version_id}, {"storage_class", h.storage_class}, {"sse", h.sse},
            {"restore", h.restore}, {"meta", PairsToJson(h.meta)}, {"system", PairsToJson(h.system)}}}};
}

// The cached HEAD of `l`, if the cache holds one taken while the object had
// the listed ETag, size and LastModified.
std::optional<ObjectHead> CachedHead(const nlohmann::json& objects, const ListedObject& l) {
  auto it = objects.find(l.key);
  if (it == objects.end() || !it->is_object()) return std::nullopt;
  const nlohmann::json& e = *it;
  try {
    if (e.at("etag").get<std::string>() != l.etag || e.at("size").get<uint64_t>() != l.size ||
        e.at("mtime_ns").get<int64_t>() != l.mtime_ns) {
      return std::nullopt;
    }
    const nlohmann::json& j = e.at("head");
    ObjectHead h;
    h.size = j.at("size").get<uint64_t>();
    h.etag = j.at("etag").get<std::string>();
    h.mtime_ns = j.at("mtime_ns").get<int64_t>();
    h.content_type = j.at("content_type").get<std::string>();
    h.version_id = j.at("version_id").get<std::string>();
    h.storage_class = j.at("storage_class").get<std::string>();
    h.sse = j.at("sse").get<std::string>();
    h.restore = j.at("restore").get<std::string>();
    if (!PairsFromJson(j.at("meta"), &h.meta) || !PairsFromJson(j.at("system"), &h.system)) return std::nullopt;
    if (h.etag != l.etag || h.size != l.size) return std::nullopt;
    return h;
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;  // a damaged entry is a miss
  }
}

// The cache's objects for `location`; an empty object when there is no
// usable cache file (missing, damaged, another version or location).
nlohmann::json LoadHeadCache(const std::string& path, const std::string& location) {
  nlohmann::json none = nlohmann::json::object();
  if (path.empty()) return none;
  auto data = io::ReadWholeFile(path);
  if (!data.ok()) return none;
  auto j = nlohmann::json::parse(data->begin(), data->end(), nullptr, false);
  if (j.is_discarded() || !j.is_object() || j.value("version", 0) != kHeadCacheVersion ||
      j.value("location", "") != location || !j.contains("objects") || !j["objects"].is_object()) {
    spdlog::debug("head cache {} unusable; every object is asked again", path);
    return none;
  }
  return std::move(j["objects"]);
}

bool IsArchived(const Object& o) {
  const std::string& sc = o.listed.storage_class;
  if (sc != "GLACIER" && sc != "DEEP_ARCHIVE") return false;
  // A temporary copy restored from the archive reads like any object.
  return o.head.restore.find("ongoing-request=\"false\"") == std::string::npos;
}

// Bytes [offset, offset + piece) of the object (all of it when it fits in
// one piece), as listed: same ETag, same version.
Result<Bytes> FetchPiece(Bucket& bucket, const Object& o, uint64_t piece, uint64_t offset) {
  const uint64_t size = o.head.size;
  uint64_t length = size <= piece ? size : std::min(piece, size - offset);
  return bucket.Get(o.listed.key, o.head.etag, o.head.version_id, offset, length, size);
}

// Reads one object in pieces; the next piece is fetched while the engine
// works on the current one.
class ObjectReader : public Reader {
 public:
  ObjectReader(Bucket* bucket, Object* object, uint64_t piece) : bucket_(bucket), object_(object), piece_(piece) {}

  ~ObjectReader() override {
    if (next_.valid()) next_.wait();
  }

  // Fetches the first piece (so that Open reports a missing or changed
  // object), or takes it from a readahead, and starts fetching the second.
  Status Start(std::future<Result<Bytes>>* ahead = nullptr) {
    if (ahead != nullptr) {
      WARD_ASSIGN_OR_RETURN(current_, ahead->get());
    } else {
      WARD_ASSIGN_OR_RETURN(current_, Fetch(0));
    }
    fetched_ = current_.size();
    Prefetch();
    return Status::OK();
  }

  Result<size_t> Read(std::span<uint8_t> out) override {
    size_t done = 0;
    while (done < out.size()) {
      if (pos_ == current_.size()) {
        if (!next_.valid()) break;  // end of object
        Result<Bytes> n = next_.get();
        if (!n.ok()) return Fail(n.status());
        current_ = std::move(*n);
        pos_ = 0;
        fetched_ += current_.size();
        Prefetch();
        continue;
      }
      size_t n = std::min(out.size() - done, current_.size() - pos_);
      std::memcpy(out.data() + done, current_.data() + pos_, n);
      pos_ += n;
      done += n;
    }
    return done;
  }

  Status Finish() override {
    if (fetched_ != object_->head.size || pos_ != current_.size() || next_.valid()) {
      return Fail(DataLossError(bucket_->Location() + ": " + object_->listed.key + ": read " +
                                std::to_string(fetched_) + " of " + std::to_string(object_->head.size) + " bytes"));
    }
    return Status::OK();
  }

  Status Fail(const Status& s) {
    object_->failed = true;
    return s;
  }

 private:
  Result<Bytes> Fetch(uint64_t offset) { return FetchPiece(*bucket_, *object_, piece_, offset); }

  void Prefetch() {
    uint64_t offset = fetched_;
    if (offset >= object_->head.size) return;
    next_ = std::async(std::launch::async, [this, offset] { return Fetch(offset); });
  }

  Bucket* bucket_;
  Object* object_;
  const uint64_t piece_;
  Bytes current_;
  size_t pos_ = 0;
  uint64_t fetched_ = 0;  // bytes in current_ and before it
  std::future<Result<Bytes>> next_;
};

class S3BucketSource : public Source {
 public:
  S3BucketSource(std::unique_ptr<Bucket> bucket, S3BucketSourceOptions options)
      : bucket_(std::move(bucket)), options_(std::move(options)) {}

  Result<std::vector<Entry>> List(const std::string& path, std::vector<Status>* skipped) override {
    if (!loaded_) {
      WARD_RETURN_IF_ERROR(Load(skipped));
    }
    auto it = dirs_.find(path);
    if (it == dirs_.end()) return NotFoundError(bucket_->Location() + ": no folder '" + path + "' in the listing");
    return it->second;
  }

  Result<std::unique_ptr<Reader>> Open(const std::string& path, const Entry&) override {
    auto it = files_.find(path);
    if (it == files_.end()) return NotFoundError(bucket_->Location() + ": no object at '" + path + "' in the listing");
    Object& o = objects_[it->second];
    std::optional<std::future<Result<Bytes>>> ahead = Readahead(walk_pos_[it->second]);
    auto reader = std::make_unique<ObjectReader>(bucket_.get(), &o, options_.piece_size);
    Status s = reader->Start(ahead ? &*ahead : nullptr);
    if (!s.ok()) return reader->Fail(s);
    return std::unique_ptr<Reader>(std::move(reader));
  }

  bool PartialOk() const override { return true; }
  // Until the bucket has been listed, every failure is fatal: a listing that
  // fails (credentials, missing bucket) must not leave an empty snapshot.
  // After it, single objects that cannot be read are named and left out.
  bool PartialOkFor(const std::string&) const override { return listed_; }

  std::vector<std::string> Paths() const override { return {bucket_->Location()}; }
  std::string Kind() const override { return "s3"; }

  ~S3BucketSource() override {
    for (auto& [pos, f] : ahead_) f.wait();
  }

  nlohmann::json Position() const override {
    std::vector<const Object*> stored;
    uint64_t bytes = 0, unreadable = 0;
    for (const Object& o : objects_) {
      if (o.failed) {
        unreadable++;
        continue;
      }
      stored.push_back(&o);
      bytes += o.head.size;
    }
    std::sort(stored.begin(), stored.end(),
              [](const Object* a, const Object* b) { return a->listed.key < b->listed.key; });
    crypto::Sha256Stream digest;
    for (const Object* o : stored) {
      std::string line = o->listed.key;
      line.push_back('\0');
      line += o->head.etag;
      line.push_back('\0');
      line += std::to_string(o->head.size) + "\n";
      digest.Update(AsBytes(line));
    }
    const auto& url = bucket_->url();
    nlohmann::json j = {{"url", bucket_->Location()},
                        {"bucket", url.bucket},
                        {"prefix", url.prefix},
                        {"objects", stored.size()},
                        {"bytes", bytes},
                        {"listing_digest", digest.Finish().Hex()}};
    if (unreadable > 0) j["unreadable"] = unreadable;
    if (vanished_ > 0) j["vanished"] = vanished_;
    spdlog::debug("{}: {} objects read ahead, {} of them unused", bucket_->Location(), read_ahead_, ahead_unused_);
    return j;
  }

 private:
  Status Load(std::vector<Status>* skipped);
  // Writes the HEAD cache for the objects listed and read now.
  void SaveHeadCache() const;
  Entry FileEntry(const Object& o, const std::string& name) const;
  // Records an Open at walk position `pos`; returns the object's first piece
  // if it was read ahead, and reads the next objects ahead when the engine
  // has been reading everything (see S3BucketSourceOptions::readahead).
  std::optional<std::future<Result<Bytes>>> Readahead(size_t pos);
  void Walk(const std::string& dir);

  std::unique_ptr<Bucket> bucket_;
  S3BucketSourceOptions options_;
  bool loaded_ = false;
  bool listed_ = false;
  uint64_t vanished_ = 0;
  std::vector<Object> objects_;
  std::unordered_map<std::string, std::vector<Entry>> dirs_;  // encoded dir path -> sorted entries
  std::unordered_map<std::string, size_t> files_;             // encoded file path -> objects_ index

  // Readahead: the engine walks folders depth-first in name order and opens
  // the files it does not find unchanged, so walk_[k] is the k-th object it
  // can open.
  std::vector<size_t> walk_;      // objects_ indexes in walk order
  std::vector<size_t> walk_pos_;  // objects_ index -> position in walk_
  std::map<size_t, std::future<Result<Bytes>>> ahead_;  // walk position -> first piece
  size_t ahead_bytes_ = 0;
  int64_t last_open_ = -1;
  int streak_ = 0;
  uint64_t read_ahead_ = 0, ahead_unused_ = 0;
  size_t heads_asked_ = 0;
};

void S3BucketSource::SaveHeadCache() const {
  const std::string& path = options_.head_cache;
  nlohmann::json objects = nlohmann::json::object();
  for (const Object& o : objects_) {
    if (!o.failed) objects[o.listed.key] = CacheEntry(o);
  }
  nlohmann::json j = {{"version", kHeadCacheVersion}, {"location", bucket_->Location()}, {"objects", objects}};
  // An unwritable cache is no cache, not an error.
  size_t slash = path.rfind('/');
  if (slash != std::string::npos && !io::MakeDirs(path.substr(0, slash), 0700).ok()) return;
  Status s = io::WriteFileAtomic(path, AsBytes(j.dump()), false, 0600);
  if (!s.ok()) spdlog::debug("head cache not written: {}", s.message());
}

void S3BucketSource::Walk(const std::string& dir) {
  for (const Entry& e : dirs_[dir]) {
    std::string p = Join(dir, e.node.name);
    if (e.node.type == repo::NodeType::kDir) {
      Walk(p);
    } else {
      size_t idx = files_[p];
      walk_pos_[idx] = walk_.size();
      walk_.push_back(idx);
    }
  }
}

std::optional<std::future<Result<Bytes>>> S3BucketSource::Readahead(size_t pos) {
  streak_ = static_cast<int64_t>(pos) == last_open_ + 1 ? streak_ + 1 : 1;
  last_open_ = static_cast<int64_t>(pos);
  // Objects read ahead and passed over were unchanged after all.
  std::optional<std::future<Result<Bytes>>> mine;
  while (!ahead_.empty() && ahead_.begin()->first <= pos) {
    auto node = ahead_.extract(ahead_.begin());
    ahead_bytes_ -= objects_[walk_[node.key()]].head.size;
    if (node.key() == pos) {
      mine = std::move(node.mapped());
    } else {
      ahead_unused_++;  // its future waits in its destructor
    }
  }
  if (options_.readahead <= 0 || streak_ < options_.readahead_after) return mine;
  const size_t end = std::min(walk_.size(), pos + 1 + static_cast<size_t>(options_.readahead));
  for (size_t k = pos + 1; k < end; ++k) {
    const Object& o = objects_[walk_[k]];
    if (ahead_.count(k) || o.head.size > options_.readahead_max_object) continue;
    if (ahead_bytes_ + o.head.size > static_cast<uint64_t>(options_.readahead) * options_.readahead_max_object) break;
    ahead_bytes_ += o.head.size;
    read_ahead_++;
    Bucket* b = bucket_.get();
    const uint64_t piece = options_.piece_size;
    ahead_[k] = std::async(std::launch::async, [b, &o, piece] { return FetchPiece(*b, o, piece, 0); });
  }
  return mine;
}

Entry S3BucketSource::FileEntry(const Object& o, const std::string& name) const {
  Entry e;
  repo::Node& n = e.node;
  n.name = name;
  n.type = repo::NodeType::kFile;
  n.mode = 0600;
  n.uid = ::getuid();
  n.gid = ::getgid();
  n.size = o.head.size;
  n.mtime_ns = o.listed.mtime_ns;
  n.ctime_ns = o.listed.mtime_ns;
  n.inode = EtagInode(o.head.etag);
  auto& x = n.xattrs;
  x.emplace_back("s3.key", o.listed.key);
  x.emplace_back("s3.etag", o.head.etag);
  if (!o.head.content_type.empty()) x.emplace_back("s3.content-type", o.head.content_type);
  x.emplace_back("s3.storage-class", o.listed.storage_class);
  if (!o.head.version_id.empty()) x.emplace_back("s3.version-id", o.head.version_id);
  if (!o.head.sse.empty()) x.emplace_back("s3.sse", o.head.sse);
  for (const auto& [k, v] : o.head.meta) x.emplace_back("s3.meta." + k, v);
  for (const auto& [k, v] : o.head.system) x.emplace_back("s3." + k, v);
  std::sort(x.begin(), x.end());
  e.cacheable = true;
  return e;
}

Status S3BucketSource::Load(std::vector<Status>* skipped) {
  const std::string prefix = bucket_->KeyPrefix();
  std::vector<Object> listed;
  WARD_RETURN_IF_ERROR(bucket_->List(prefix, [&](ListedObject o) {
    listed.push_back(Object{std::move(o), {}, false});
    return Status::OK();
  }));
  listed_ = true;

  // HEAD every object the HEAD cache does not know with its listed ETag,
  // size and LastModified, `connections` at a time.
  const nlohmann::json cached = LoadHeadCache(options_.head_cache, bucket_->Location());
  std::vector<size_t> ask;
  for (size_t i = 0; i < listed.size(); ++i) {
    if (auto h = CachedHead(cached, listed[i].listed)) {
      listed[i].head = std::move(*h);
    } else {
      ask.push_back(i);
    }
  }
  std::vector<Status> heads(listed.size());
  ParallelFor(ask.size(), options_.bucket.connections, [&](size_t k) {
    const size_t i = ask[k];
    auto h = bucket_->Head(listed[i].listed.key);
    if (h.ok()) {
      listed[i].head = std::move(*h);
    } else {
      heads[i] = h.status();
    }
  });
  heads_asked_ = ask.size();
  for (size_t i = 0; i < listed.size(); ++i) {
    Object& o = listed[i];
    if (heads[i].code() == StatusCode::kNotFound) {
      vanished_++;  // deleted since the listing: not part of this point in time
      continue;
    }
    if (!heads[i].ok()) {
      skipped->push_back(heads[i]);
      o.failed = true;
      objects_.push_back(std::move(o));
      continue;
    }
    if (o.head.etag != o.listed.etag || o.head.size != o.listed.size) {
      // Replaced since the listing: take the newer object whole (content,
      // metadata and time from one version).
      o.listed.etag = o.head.etag;
      o.listed.size = o.head.size;
      if (o.head.mtime_ns != 0) o.listed.mtime_ns = o.head.mtime_ns;
      if (!o.head.storage_class.empty()) o.listed.storage_class = o.head.storage_class;
    }
    if (IsArchived(o)) {
      skipped->push_back(FailedPreconditionError(
          bucket_->Location() + ": " + o.listed.key + " is in storage class " + o.listed.storage_class +
          " and cannot be read before it is restored from the archive (S3 RestoreObject): left out"));
      o.failed = true;
    }
    objects_.push_back(std::move(o));
  }

  if (!options_.head_cache.empty() && (!ask.empty() || cached.size() != objects_.size())) SaveHeadCache();

  std::vector<std::string> keys;
  keys.reserve(objects_.size());
  for (const Object& o : objects_) keys.push_back(o.listed.key.substr(prefix.size()));
  std::vector<std::string> paths = s3bucket::KeysToPaths(keys);

  // Folders: entries sorted by name; a folder's time is the newest time below
  // it, so an unchanged folder encodes to the same tree as before.
  std::map<std::string, std::map<std::string, Entry>> dirs;
  std::map<std::string, int64_t> dir_time;
  dirs[""];
  for (size_t i = 0; i < objects_.size(); ++i) {
    const Object& o = objects_[i];
    if (o.failed) continue;
    const std::string& p = paths[i];
    size_t slash = p.rfind('/');
    std::string dir = slash == std::string::npos ? "" : p.substr(0, slash);
    std::string name = slash == std::string::npos ? p : p.substr(slash + 1);
    dirs[dir][name] = FileEntry(o, name);
    files_[p] = i;
    // Every ancestor folder exists and knows its newest object.
    std::string d = dir;
    for (;;) {
      int64_t& t = dir_time[d];
      t = std::max(t, o.listed.mtime_ns);
      if (d.empty()) break;
      size_t s = d.rfind('/');
      std::string parent = s == std::string::npos ? "" : d.substr(0, s);
      std::string leaf = s == std::string::npos ? d : d.substr(s + 1);
      if (!dirs[parent].count(leaf)) {
        Entry e;
        e.node.name = leaf;
        e.node.type = repo::NodeType::kDir;
        e.node.mode = 0700;
        e.node.uid = ::getuid();
        e.node.gid = ::getgid();
        e.cacheable = false;
        dirs[parent][leaf] = std::move(e);
      }
      d = parent;
    }
  }
  for (auto& [dir, entries] : dirs) {
    std::vector<Entry> out;
    out.reserve(entries.size());
    for (auto& [name, e] : entries) {
      if (e.node.type == repo::NodeType::kDir) {
        e.node.mtime_ns = e.node.ctime_ns = dir_time[Join(dir, name)];
      }
      out.push_back(std::move(e));
    }
    dirs_[dir] = std::move(out);
  }
  walk_pos_.assign(objects_.size(), 0);
  Walk("");
  loaded_ = true;
  spdlog::debug("{}: {} objects listed, {} asked with HEAD, {} vanished, {} left out", bucket_->Location(),
                listed.size(), heads_asked_, vanished_,
                std::count_if(objects_.begin(), objects_.end(), [](const Object& o) { return o.failed; }));
  return Status::OK();
}

}  // namespace

Result<std::unique_ptr<Source>> NewS3BucketSource(const S3BucketSourceOptions& options,
                                                  const storage::s3::EnvLookup& env) {
  if (options.piece_size < (64u << 10)) {
    return InvalidArgumentError("S3 source piece size must be at least 64 KiB");
  }
  auto bucket = s3bucket::OpenBucket(options.url, options.bucket, env);
  if (!bucket.ok()) return bucket.status();
  return std::unique_ptr<Source>(std::make_unique<S3BucketSource>(std::move(*bucket), options));
}

std::string DefaultHeadCache(const std::string& url) {
  const std::string dir = repo::DefaultCacheDir();
  if (dir.empty()) return "";
  return dir + "/s3-sources/" + crypto::Sha256(AsBytes(url)).Hex().substr(0, 32) + ".json";
}

Result<std::unique_ptr<Source>> MakeS3BucketSource(const plan::PlanSource& ps) {
  auto fail = [&](const Status& s) { return Status(s.code(), "source '" + ps.name + "': " + s.message()); };
  for (const char* secret : {"secret_access_key", "aws_secret_access_key", "access_key_id", "aws_access_key_id",
                             "secret_key", "access_key", "session_token", "aws_session_token", "password"}) {
    if (ps.config.contains(secret)) {
      return InvalidArgumentError("source '" + ps.name + "': '" + secret +
                                  "' does not belong in a plan: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
                                  "in the environment, or name a profile of ~/.aws/credentials with profile = \"...\"");
    }
  }
  S3BucketSourceOptions o;
  WARD_ASSIGN_OR_RETURN(o.url, ps.String("url", true));
  WARD_ASSIGN_OR_RETURN(int64_t connections, ps.Int("connections", o.bucket.connections));
  if (connections < 1 || connections > 256) {
    return InvalidArgumentError("source '" + ps.name + "': connections must be 1..256, not " +
                                std::to_string(connections));
  }
  o.bucket.connections = static_cast<int>(connections);
  WARD_ASSIGN_OR_RETURN(o.bucket.region, ps.String("region"));
  WARD_ASSIGN_OR_RETURN(o.bucket.virtual_host, ps.Bool("virtual_host"));
  WARD_ASSIGN_OR_RETURN(o.bucket.ca_file, ps.String("ca_file"));
  WARD_ASSIGN_OR_RETURN(std::string profile, ps.String("profile"));
  storage::s3::EnvLookup env = storage::s3::ProcessEnv();
  if (!profile.empty()) {
    // The profile's keys, not the environment's: hide AWS_* keys and name
    // the profile, so credentials.h finds it the way the AWS CLI would.
    storage::s3::EnvLookup process = env;
    env = [process, profile](const std::string& name) -> std::optional<std::string> {
      if (name == "AWS_ACCESS_KEY_ID" || name == "AWS_SECRET_ACCESS_KEY" || name == "AWS_SESSION_TOKEN") {
        return std::nullopt;
      }
      if (name == "AWS_PROFILE") return profile;
      return process(name);
    };
  }
  WARD_ASSIGN_OR_RETURN(bool head_cache, ps.Bool("head_cache", true));
  if (head_cache) o.head_cache = DefaultHeadCache(o.url);
  auto s = NewS3BucketSource(o, env);
  if (!s.ok()) return fail(s.status());
  return std::move(*s);
}

const SourceKind& S3BucketKind() {
  static const SourceKind kind{
      "s3", {"url", "connections", "region", "virtual_host", "ca_file", "profile", "head_cache"}, &MakeS3BucketSource};
  return kind;
}

}  // namespace ward::source
