#include "repo/repository.h"

#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "io/compress.h"
#include "io/file.h"

namespace ward::repo {

using storage::FileType;
using storage::Handle;
using json = nlohmann::json;

namespace {

constexpr uint8_t kObjectPlain = 0;
constexpr uint8_t kObjectZstd = 2;
constexpr size_t kMaxObjectSize = 1ull << 32;

bool IsContentAddressed(FileType t) {
  return t == FileType::kKey || t == FileType::kIndex || t == FileType::kSnapshot ||
         t == FileType::kPlan || t == FileType::kHold;
}

Result<json> ParseJson(ByteView data, const std::string& what) {
  try {
    return json::parse(AsString(data));
  } catch (const json::exception& e) {
    return DataLossError(what + " is not valid JSON: " + e.what());
  }
}

json KdfToJson(const crypto::KdfParams& p) {
  return {{"algorithm", p.algorithm}, {"ops", p.ops}, {"memory", p.memory},
          {"salt", Base64Encode(p.salt)}};
}

Result<crypto::KdfParams> KdfFromJson(const json& j) {
  try {
    crypto::KdfParams p;
    p.algorithm = j.at("algorithm").get<std::string>();
    p.ops = j.at("ops").get<uint64_t>();
    p.memory = j.at("memory").get<uint64_t>();
    WARD_ASSIGN_OR_RETURN(p.salt, Base64Decode(j.at("salt").get<std::string>()));
    return p;
  } catch (const json::exception& e) {
    return DataLossError(std::string("key file: bad kdf parameters: ") + e.what());
  }
}

// A key file as stored, with what opening it needs. kDataLoss naming what
// is wrong when it is damaged: its name is the SHA-256 of its content, so
// any change to it (the unauthenticated fields too) is seen.
struct KeyFileFields {
  crypto::KdfParams kdf;
  Bytes sealed;
  json doc;
};

Result<KeyFileFields> ParseKeyFile(const Id& kid, ByteView raw) {
  const std::string what = "key file " + kid.Short();
  auto damaged = [&](const std::string& why) { return DataLossError(what + " is damaged: " + why); };
  if (crypto::Sha256(raw) != kid) return damaged("its content does not match its name");
  auto j = ParseJson(raw, what);
  if (!j.ok()) return damaged(std::string(j.status().message()));
  KeyFileFields out;
  try {
    if (!j->is_object() || !j->contains("kdf") || !j->contains("data") || !(*j)["data"].is_string()) {
      return damaged("it lacks its 'kdf' or 'data' field");
    }
    auto kdf = KdfFromJson((*j)["kdf"]);
    if (!kdf.ok()) return damaged(std::string(kdf.status().message()));
    if (Status k = crypto::CheckKdfParams(*kdf); !k.ok()) return damaged(std::string(k.message()));
    auto sealed = Base64Decode((*j)["data"].get<std::string>());
    if (!sealed.ok() || sealed->size() <= crypto::kSealOverhead) return damaged("its 'data' field is not a sealed key");
    if (j->contains("created")) {
      const auto& c = (*j)["created"];
      if (!c.is_string() || !ParseTime(c.get<std::string>()).ok()) {
        return damaged("its 'created' field is not a time");
      }
    }
    out.kdf = std::move(*kdf);
    out.sealed = std::move(*sealed);
  } catch (const json::exception& e) {
    return damaged(e.what());
  }
  out.doc = std::move(*j);
  return out;
}

}  // namespace

std::string LocalHostname() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "localhost";
  return buf;
}

std::string LocalUsername() {
  struct passwd pw, *out = nullptr;
  char buf[4096];
  if (::getpwuid_r(::getuid(), &pw, buf, sizeof buf, &out) == 0 && out) return out->pw_name;
  if (const char* u = std::getenv("USER")) return u;
  return std::to_string(::getuid());
}

Repository::~Repository() = default;

Result<std::unique_ptr<Repository>> Repository::Init(std::unique_ptr<storage::Backend> backend,
                                                     std::string_view password,
                                                     const OpenOptions& options) {
  auto existing = backend->Stat(Handle::Config());
  if (existing.ok()) {
    return AlreadyExistsError("a repository already exists at " + backend->Location() +
                              "; nothing was changed");
  }
  if (existing.status().code() != StatusCode::kNotFound) return existing.status();
  if (Status m = MissingConfig(*backend); m.code() != StatusCode::kNotFound) {
    return m.ok() ? InternalError("config missing yet not missing") : m;
  }
  if (password.empty()) return InvalidArgumentError("empty password: choose a non-empty one");

  std::unique_ptr<Repository> r(new Repository());
  r->backend_ = std::move(backend);
  WARD_RETURN_IF_ERROR(r->backend_->Create().WithContext("creating " + r->backend_->Location()));

  r->enc_ = crypto::Key::Random();
  r->mac_key_ = options.id_key ? *options.id_key : crypto::Key::Random();
  r->mac_ = std::make_unique<crypto::BlobMac>(r->mac_key_);
  r->config_.id = crypto::RandomId().Hex();
  r->config_.chunker.secret = options.chunker_secret.empty() ? crypto::RandomBytes(32) : options.chunker_secret;
  r->config_.compression_level = options.compression_level;
  r->config_.created = NowNanos();
  r->config_.storage = options.storage;
  WARD_RETURN_IF_ERROR(r->backend_->ApplySettings(options.storage));
  r->chunker_ = std::make_unique<Chunker>(r->config_.chunker);

  // Key file first: a config without any key would be unopenable.
  WARD_ASSIGN_OR_RETURN(r->current_key_,
                        r->WriteKeyFile(password, options.kdf ? *options.kdf : crypto::DefaultKdfParams()));
  json cfg = {{"version", r->config_.version},
              {"id", r->config_.id},
              {"chunker",
               {{"min", r->config_.chunker.min_size},
                {"avg", r->config_.chunker.avg_size},
                {"max", r->config_.chunker.max_size},
                {"secret", Base64Encode(r->config_.chunker.secret)}}},
              {"compression", r->config_.compression_level},
              {"created", FormatRfc3339(r->config_.created)}};
  if (!options.storage.lock_mode.empty()) {
    cfg["storage"]["object_lock"] = {{"mode", options.storage.lock_mode}, {"days", options.storage.lock_days}};
  }
  if (!options.storage.storage_class.empty()) cfg["storage"]["storage_class"] = options.storage.storage_class;
  Status s = r->SaveObjectAs(Handle::Config(), AsBytes(cfg.dump()));
  if (s.code() == StatusCode::kAlreadyExists) {
    // Another init won the race: withdraw our key file, leave theirs alone.
    r->backend_->Remove(Handle::Of(FileType::kKey, r->current_key_)).IgnoreError();
    return AlreadyExistsError("a repository already exists at " + r->backend_->Location() +
                              "; nothing was changed");
  }
  WARD_RETURN_IF_ERROR(s);
  r->cache_ = std::make_unique<ObjectCache>(r->backend_->IsLocal() ? "" : options.cache_dir,
                                            r->config_.id);
  return r;
}

Result<std::unique_ptr<Repository>> Repository::Open(std::unique_ptr<storage::Backend> backend,
                                                     std::string_view password,
                                                     const OpenOptions& options) {
  auto cfg = backend->Stat(Handle::Config());
  if (!cfg.ok()) {
    if (cfg.status().code() == StatusCode::kNotFound) return MissingConfig(*backend);
    return cfg.status().WithContext("opening repository " + backend->Location());
  }
  std::unique_ptr<Repository> r(new Repository());
  r->backend_ = std::move(backend);

  std::vector<Id> keys;
  WARD_ASSIGN_OR_RETURN(keys, r->ListIds(FileType::kKey));
  if (keys.empty()) {
    return DataLossError("repository " + r->backend_->Location() +
                         " has no key files: it cannot be opened");
  }
  // Try every key the password opens until one opens the config too: a key
  // file left by an interrupted or losing `init` holds another master key.
  bool password_ok = false;
  Status config_error;
  std::vector<DamagedObject> damaged;
  for (const Id& kid : keys) {
    auto raw = r->backend_->Load(Handle::Of(FileType::kKey, kid), 0, 0);
    if (!raw.ok()) {
      if (raw.status().code() == StatusCode::kNotFound) continue;  // removed meanwhile
      damaged.push_back({kid, raw.status().WithContext("key file " + kid.Short())});
      continue;
    }
    auto kf = ParseKeyFile(kid, *raw);
    if (!kf.ok()) {
      damaged.push_back({kid, kf.status()});
      continue;
    }
    auto derived = crypto::DeriveKey(password, kf->kdf);
    if (!derived.ok()) {
      if (derived.status().code() == StatusCode::kResourceExhausted) return derived.status();
      continue;
    }
    Bytes master;
    if (!crypto::Open(*derived, kf->sealed, &master).ok()) continue;
    auto mj = ParseJson(master, "master key");
    std::fill(master.begin(), master.end(), 0);
    Result<Bytes> enc = DataLossError(""), mac = DataLossError("");
    if (mj.ok() && mj->is_object()) {
      try {
        enc = Base64Decode(mj->value("encrypt", ""));
        mac = Base64Decode(mj->value("mac", ""));
      } catch (const json::exception&) {
      }
    }
    if (!enc.ok() || !mac.ok() || enc->size() != crypto::kKeySize || mac->size() != crypto::kKeySize) {
      // Authenticated yet malformed: written so by a broken ward, not damaged on the way.
      damaged.push_back({kid, DataLossError("key file " + kid.Short() + " opens but holds no valid master key")});
      continue;
    }
    password_ok = true;
    r->enc_ = crypto::Key::FromBytes(*enc);
    r->mac_key_ = crypto::Key::FromBytes(*mac);
    r->current_key_ = kid;
    r->mac_ = std::make_unique<crypto::BlobMac>(r->mac_key_);
    config_error = r->LoadConfig();
    if (config_error.ok()) break;
  }
  if (!password_ok && !damaged.empty()) {
    return DataLossError(fmt::format(
        "no intact key of repository {} opens with this password, and {} key file(s) are damaged ({}): if the "
        "password is right, its key file is damaged; open with another key's password and run 'ward check'",
        r->backend_->Location(), damaged.size(), damaged.front().error.message()));
  }
  if (!password_ok) {
    return UnauthenticatedError("wrong password: no key of repository " + r->backend_->Location() +
                                " opens with it");
  }
  for (const auto& d : damaged) spdlog::warn("{}: run 'ward check'", d.error.message());
  WARD_RETURN_IF_ERROR(config_error);
  // What the repository recorded binds every writer; the command line may
  // only choose a storage class, connections and append-only.
  storage::StorageSettings settings = options.storage;
  settings.lock_mode = r->config_.storage.lock_mode;
  settings.lock_days = r->config_.storage.lock_days;
  if (settings.storage_class.empty()) settings.storage_class = r->config_.storage.storage_class;
  WARD_RETURN_IF_ERROR(r->backend_->ApplySettings(settings).WithContext("repository " + r->backend_->Location()));
  r->chunker_ = std::make_unique<Chunker>(r->config_.chunker);
  r->cache_ = std::make_unique<ObjectCache>(r->backend_->IsLocal() ? "" : options.cache_dir,
                                            r->config_.id);
  return r;
}

Status Repository::MissingConfig(storage::Backend& backend) {
  // An init that was cut off leaves at most a key file: that is no repository
  // yet. Snapshots, index files or packs without a config are one that lost it.
  for (FileType t : {FileType::kSnapshot, FileType::kIndex, FileType::kPack}) {
    bool found = false;
    Status s = backend.List(t, [&](const storage::FileInfo&) {
      found = true;
      return CancelledError("found one");
    });
    if (!found && !s.ok() && s.code() != StatusCode::kNotFound) {
      return s.WithContext("looking for a repository at " + backend.Location());
    }
    if (found) {
      return DataLossError(fmt::format(
          "the repository at {} has lost its config file (its {} files are there): it is damaged; put the config "
          "back from a copy of the repository, and do not run 'ward init' there",
          backend.Location(), storage::FileTypeName(t)));
    }
  }
  return NotFoundError("there is no repository at " + backend.Location() +
                       ": run 'ward init' to create one, or check -r/WARD_REPOSITORY");
}

Result<std::vector<DamagedObject>> Repository::CheckKeyFiles() {
  WARD_ASSIGN_OR_RETURN(std::vector<Id> ids, ListIds(FileType::kKey));
  std::vector<DamagedObject> out;
  for (const Id& id : ids) {
    auto raw = backend_->Load(Handle::Of(FileType::kKey, id), 0, 0);
    if (!raw.ok()) {
      if (raw.status().code() == StatusCode::kNotFound) continue;
      if (raw.status().code() != StatusCode::kDataLoss) return raw.status();
      out.push_back({id, raw.status()});
      continue;
    }
    auto kf = ParseKeyFile(id, *raw);
    if (!kf.ok()) out.push_back({id, kf.status()});
  }
  return out;
}

Status Repository::LoadConfig() {
  WARD_ASSIGN_OR_RETURN(Bytes data, LoadObject(Handle::Config()));
  WARD_ASSIGN_OR_RETURN(json j, ParseJson(data, "repository config"));
  try {
    int version = j.at("version").get<int>();
    if (version > kFormatVersion) {
      return FailedPreconditionError(fmt::format(
          "repository format version {} is newer than this ward supports ({}); upgrade ward", version,
          kFormatVersion));
    }
    config_.version = version;
    config_.id = j.at("id").get<std::string>();
    const auto& c = j.at("chunker");
    config_.chunker.min_size = c.at("min").get<uint32_t>();
    config_.chunker.avg_size = c.at("avg").get<uint32_t>();
    config_.chunker.max_size = c.at("max").get<uint32_t>();
    WARD_ASSIGN_OR_RETURN(config_.chunker.secret, Base64Decode(c.at("secret").get<std::string>()));
    config_.compression_level = j.value("compression", 3);
    if (j.contains("storage")) {
      const auto& st = j["storage"];
      if (st.contains("object_lock")) {
        config_.storage.lock_mode = st["object_lock"].at("mode").get<std::string>();
        config_.storage.lock_days = st["object_lock"].at("days").get<int>();
      }
      config_.storage.storage_class = st.value("storage_class", "");
    }
    if (auto t = ParseTime(j.value("created", "")); t.ok()) config_.created = *t;
  } catch (const json::exception& e) {
    return DataLossError(std::string("repository config is malformed: ") + e.what());
  }
  if (!storage::IsValidName(config_.id)) return DataLossError("repository config: bad id");
  return config_.chunker.Validate();
}

Result<Id> Repository::WriteKeyFile(std::string_view password, const crypto::KdfParams& kdf) {
  WARD_ASSIGN_OR_RETURN(crypto::Key derived, crypto::DeriveKey(password, kdf));
  json master = {{"encrypt", Base64Encode(enc_.view())}, {"mac", Base64Encode(mac_key_.view())}};
  std::string plain = master.dump();
  Bytes sealed;
  crypto::Seal(derived, AsBytes(plain), &sealed);
  std::fill(plain.begin(), plain.end(), '\0');
  json kf = {{"version", 1},
             {"created", FormatRfc3339(NowNanos())},
             {"username", LocalUsername()},
             {"hostname", LocalHostname()},
             {"kdf", KdfToJson(kdf)},
             {"data", Base64Encode(sealed)}};
  std::string text = kf.dump(2);
  Id id = crypto::Sha256(AsBytes(text));
  WARD_RETURN_IF_ERROR(backend_->Save(Handle::Of(FileType::kKey, id), AsBytes(text)));
  return id;
}

Result<Id> Repository::SaveObject(FileType type, ByteView plaintext) {
  Bytes framed;
  framed.reserve(plaintext.size() / 2 + 16);
  framed.push_back(kObjectZstd);
  io::Compress(plaintext, 3, &framed);
  if (framed.size() > plaintext.size() + 1) {
    framed.assign(1, kObjectPlain);
    framed.insert(framed.end(), plaintext.begin(), plaintext.end());
  }
  Bytes sealed;
  crypto::Seal(enc_, framed, &sealed);
  Id id = crypto::Sha256(sealed);
  Handle h = Handle::Of(type, id);
  Status s = backend_->Save(h, sealed);
  if (!s.ok() && s.code() != StatusCode::kAlreadyExists) return s;
  if (cache_ && type != FileType::kSession) cache_->Put(h, sealed);
  return id;
}

Status Repository::SaveObjectAs(const Handle& h, ByteView plaintext) {
  Bytes framed;
  framed.push_back(kObjectZstd);
  io::Compress(plaintext, 3, &framed);
  Bytes sealed;
  crypto::Seal(enc_, framed, &sealed);
  return backend_->Save(h, sealed);
}

Result<Bytes> Repository::LoadObject(const Handle& h) {
  std::optional<Bytes> cached;
  bool cacheable = cache_ && (h.type == FileType::kIndex || h.type == FileType::kSnapshot);
  if (cacheable) cached = cache_->Get(h);
  Bytes sealed;
  if (cached) {
    sealed = std::move(*cached);
  } else {
    WARD_ASSIGN_OR_RETURN(sealed, backend_->Load(h, 0, 0));
    if (IsContentAddressed(h.type) && crypto::Sha256(sealed).Hex() != h.name) {
      return DataLossError(h.ToString() + " is damaged: its content does not match its name");
    }
    if (cacheable) cache_->Put(h, sealed);
  }
  Bytes framed;
  if (!crypto::Open(enc_, sealed, &framed).ok()) {
    return DataLossError(h.ToString() + " is damaged or was not written with this repository's key");
  }
  if (framed.empty()) return DataLossError(h.ToString() + " is empty");
  Bytes out;
  if (framed[0] == kObjectPlain) {
    out.assign(framed.begin() + 1, framed.end());
  } else if (framed[0] == kObjectZstd) {
    Status s = io::DecompressAny(ByteView(framed).subspan(1), kMaxObjectSize, &out);
    if (!s.ok()) return s.WithContext(h.ToString());
  } else {
    return FailedPreconditionError(h.ToString() +
                                   " uses an encoding this ward does not know; upgrade ward");
  }
  return out;
}

Result<std::vector<Id>> Repository::ListIds(FileType type) {
  std::vector<Id> ids;
  WARD_RETURN_IF_ERROR(backend_->List(type, [&](const storage::FileInfo& fi) {
    auto id = Id::FromHex(fi.name);
    if (id.ok()) ids.push_back(*id);
    return Status::OK();
  }));
  std::sort(ids.begin(), ids.end());
  return ids;
}

Result<std::vector<std::pair<Id, IndexFile>>> Repository::LoadAllIndexFiles() {
  WARD_ASSIGN_OR_RETURN(std::vector<Id> ids, ListIds(FileType::kIndex));
  std::vector<std::optional<IndexFile>> files(ids.size());
  std::vector<Status> errors(ids.size());
  ParallelFor(ids.size(), backend_->IsLocal() ? 2 : backend_->Concurrency(), [&](size_t i) {
    auto data = LoadObject(Handle::Of(FileType::kIndex, ids[i]));
    if (!data.ok()) {
      errors[i] = data.status();
      return;
    }
    auto f = IndexFile::Decode(*data);
    if (!f.ok()) {
      errors[i] = f.status().WithContext("index " + ids[i].Short());
      return;
    }
    files[i] = std::move(*f);
  });
  std::vector<std::pair<Id, IndexFile>> out;
  std::vector<DamagedObject> damaged;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (files[i]) {
      out.emplace_back(ids[i], std::move(*files[i]));
    } else if (errors[i].code() == StatusCode::kDataLoss) {
      damaged.push_back({ids[i], errors[i]});
    } else if (errors[i].code() != StatusCode::kNotFound) {
      // An index file deleted by a concurrent prune was superseded by
      // another one; anything else (unreachable storage, a newer format)
      // stops the job.
      return errors[i];
    }
  }
  // A damaged file that a readable one supersedes costs nothing.
  std::set<Id> superseded;
  for (const auto& [id, f] : out) superseded.insert(f.supersedes.begin(), f.supersedes.end());
  std::erase_if(damaged, [&](const DamagedObject& d) { return superseded.count(d.id) > 0; });
  damaged_index_ = std::move(damaged);
  return out;
}

namespace {

std::set<Id> Superseded(const std::vector<std::pair<Id, IndexFile>>& files) {
  std::set<Id> out;
  for (const auto& [id, f] : files) out.insert(f.supersedes.begin(), f.supersedes.end());
  return out;
}

}  // namespace

Result<std::vector<std::pair<Id, IndexFile>>> Repository::LoadIndexFiles() {
  WARD_ASSIGN_OR_RETURN(auto files, LoadAllIndexFiles());
  const std::set<Id> superseded = Superseded(files);
  std::erase_if(files, [&](const auto& f) { return superseded.count(f.first) > 0; });
  return files;
}

Status Repository::LoadIndex() {
  index_.Clear();
  WARD_ASSIGN_OR_RETURN(auto files, LoadAllIndexFiles());
  const std::set<Id> superseded = Superseded(files);
  index_files_.clear();
  std::set<std::string> keep;
  for (const auto& [id, f] : files) {
    keep.insert(id.Hex());
    if (superseded.count(id)) continue;
    index_files_.push_back(id);
    for (const auto& p : f.packs) index_.AddPack(p.id, p.blobs);
  }
  cache_->Retain(FileType::kIndex, keep);
  WARD_ASSIGN_OR_RETURN(plans_, LoadPlans());
  for (const auto& plan : plans_.condemn) {
    for (const auto& p : plan.packs) {
      if (!index_.HasPack(p.id)) index_.AddCondemnedPack(p.id, p.blobs);
    }
  }
  {
    std::lock_guard lock(recover_mu_);
    recovered_ = false;
    recover_status_ = Status::OK();
  }
  index_loaded_ = true;
  if (damaged_index_.empty()) return Status::OK();
  for (const auto& d : damaged_index_) {
    WarnDamaged(d.id, fmt::format("{}; the packs it listed are read from their headers: run 'ward repair index'",
                                  d.error.message()));
  }
  return RecoverUnindexedPacks();
}

void Repository::WarnDamaged(const Id& object, const std::string& message) {
  if (!warn_on_damage_) return;
  std::lock_guard lock(warned_mu_);
  if (warned_.insert(object).second) spdlog::warn("{}", message);
}

Result<uint64_t> Repository::WriteIndex(const std::vector<IndexFile::Pack>& packs,
                                       const std::vector<Id>& supersedes) {
  std::vector<IndexFile> files(1);
  size_t blobs = 0;
  for (const auto& p : packs) {
    if (blobs >= kBlobsPerIndexFile) {
      files.emplace_back();
      blobs = 0;
    }
    files.back().packs.push_back(p);
    blobs += p.blobs.size();
  }
  files.back().supersedes = supersedes;
  if (files.back().packs.empty() && files.back().supersedes.empty()) files.pop_back();
  for (const auto& f : files) {
    WARD_RETURN_IF_ERROR(SaveObject(FileType::kIndex, f.Encode()).status());
  }
  return files.size();
}

Result<std::map<Id, uint64_t>> Repository::ListPacks() {
  std::map<Id, uint64_t> out;
  WARD_RETURN_IF_ERROR(backend_->List(FileType::kPack, [&](const storage::FileInfo& fi) {
    auto id = Id::FromHex(fi.name);
    if (id.ok()) out[*id] = fi.size;
    return Status::OK();
  }));
  return out;
}

Status Repository::RemoveIndexFile(const Id& id) {
  Handle h = Handle::Of(FileType::kIndex, id);
  Status s = backend_->Remove(h);
  if (s.code() == StatusCode::kNotFound) return Status::OK();
  if (s.ok() && cache_) cache_->Drop(h);
  return s;
}

Result<std::vector<PackedBlob>> Repository::ReadPackHeader(const Id& pack, uint64_t size) {
  Handle h = Handle::Of(FileType::kPack, pack);
  // Most headers fit in the last 64 KiB; a longer one costs a second read.
  uint64_t guess = std::min<uint64_t>(size, 64 << 10);
  WARD_ASSIGN_OR_RETURN(Bytes tail, backend_->Load(h, size - guess, guess));
  if (tail.size() >= 4) {
    uint64_t need = uint64_t(LoadLE32(tail.data() + tail.size() - 4)) + 4;
    if (need > tail.size() && need <= size) {
      WARD_ASSIGN_OR_RETURN(tail, backend_->Load(h, size - need, need));
    }
  }
  return ParsePackHeader(enc_, pack, size, tail);
}

Status Repository::RecoverUnindexedPacks() {
  std::lock_guard lock(recover_mu_);
  if (recovered_) return recover_status_;
  recovered_ = true;
  std::vector<std::pair<Id, uint64_t>> unindexed;
  recover_status_ = backend_->List(FileType::kPack, [&](const storage::FileInfo& fi) {
    auto id = Id::FromHex(fi.name);
    if (id.ok() && !index_.HasPack(*id) && !index_.IsCondemned(*id)) unindexed.emplace_back(*id, fi.size);
    return Status::OK();
  });
  if (!recover_status_.ok()) return recover_status_;
  std::vector<Status> errors(unindexed.size());
  ParallelFor(unindexed.size(), backend_->IsLocal() ? 2 : backend_->Concurrency(), [&](size_t i) {
    auto blobs = ReadPackHeader(unindexed[i].first, unindexed[i].second);
    if (blobs.ok()) {
      index_.AddRecoveredPack(unindexed[i].first, *blobs);
    } else {
      errors[i] = blobs.status();
    }
  });
  for (const auto& e : errors) {
    // A pack whose header is damaged holds nothing we could trust; reaching
    // the storage is another matter.
    if (!e.ok() && e.code() != StatusCode::kDataLoss && e.code() != StatusCode::kNotFound) {
      recover_status_ = e;
      break;
    }
  }
  return recover_status_;
}

std::optional<BlobLocation> Repository::LookupBlob(BlobType type, const Id& id) {
  auto loc = index_.Lookup(type, id);
  if (!loc && index_loaded_) {
    Status s = RecoverUnindexedPacks();
    if (!s.ok()) spdlog::warn("cannot look for unindexed packs: {}", s.message());
    loc = index_.Lookup(type, id);
  }
  if (loc && index_.IsRecovered(loc->pack) && warn_on_damage_ && !told_recovered_.exchange(true)) {
    spdlog::warn("some data is in packs that no index file lists (pack {} and maybe others); it is read from "
                 "their headers: run 'ward repair index'",
                 loc->pack.Short());
  }
  return loc;
}

Result<PendingPlans> Repository::LoadPlans() {
  PendingPlans out;
  WARD_ASSIGN_OR_RETURN(std::vector<Id> ids, ListIds(FileType::kPlan));
  for (const Id& id : ids) {
    auto data = LoadObject(Handle::Of(FileType::kPlan, id));
    if (!data.ok()) {
      if (data.status().code() == StatusCode::kNotFound) continue;  // finished meanwhile
      return data.status();
    }
    WARD_RETURN_IF_ERROR(DecodePlanObject(id, *data, &out));
  }
  return out;
}

Result<Bytes> Repository::LoadPackRange(const Id& pack, uint64_t offset, uint64_t length) {
  Handle h = Handle::Of(FileType::kPack, pack);
  if (cache_->enabled() && index_.IsTreePack(pack)) {
    if (std::optional<Bytes> part = cache_->GetRange(h, offset, length)) return std::move(*part);
    WARD_ASSIGN_OR_RETURN(Bytes whole, backend_->Load(h, 0, 0));
    if (crypto::Sha256(whole).Hex() != h.name) {
      return DataLossError(h.ToString() + " is damaged: its content does not match its name");
    }
    cache_->Put(h, whole);
    if (offset + length > whole.size()) return OutOfRangeError(h.ToString() + ": range past its end");
    return Bytes(whole.begin() + offset, whole.begin() + offset + length);
  }
  return backend_->Load(h, offset, length);
}

Result<Bytes> Repository::LoadBlob(BlobType type, const Id& id) {
  auto loc = LookupBlob(type, id);
  if (!loc) {
    return NotFoundError(fmt::format("{} blob {} is not in the index (the repository is missing data; "
                                     "run 'ward check')",
                                     BlobTypeName(type), id.Short()));
  }
  Bytes out;
  for (int attempt = 0;; ++attempt) {
    auto sealed = LoadPackRange(loc->pack, loc->offset, loc->length);
    if (!sealed.ok()) {
      if (sealed.status().code() == StatusCode::kNotFound ||
          sealed.status().code() == StatusCode::kOutOfRange) {
        return DataLossError(fmt::format("{} blob {}: pack {} is missing or truncated", BlobTypeName(type),
                                         id.Short(), loc->pack.Short()));
      }
      return sealed.status();
    }
    Status s = OpenBlob(enc_, *mac_, id, *loc, *sealed, &out);
    if (s.ok()) return out;
    // A cached tree pack is read in parts without hashing it whole: a damaged
    // cached copy shows here. Drop it and read the repository's copy once.
    if (attempt > 0 || !cache_->enabled() || !index_.IsTreePack(loc->pack)) return s;
    spdlog::debug("cached pack {} does not authenticate; dropping it", loc->pack.Short());
    cache_->Drop(Handle::Of(FileType::kPack, loc->pack));
  }
}

bool Repository::ReserveBlob(BlobType type, const Id& id) {
  if (index_.Has(type, id)) return false;
  std::lock_guard lock(pending_mu_);
  return pending_[static_cast<int>(type)].insert(id).second;
}

void Repository::ReleaseBlobs(const std::vector<PackedBlob>& blobs) {
  std::lock_guard lock(pending_mu_);
  for (const auto& b : blobs) pending_[static_cast<int>(b.loc.type)].erase(b.id);
}

Result<Tree> Repository::LoadTree(const Id& id) {
  WARD_ASSIGN_OR_RETURN(Bytes data, LoadBlob(BlobType::kTree, id));
  auto t = Tree::Decode(data);
  if (!t.ok()) return t.status().WithContext("tree " + id.Short());
  return t;
}

Result<Snapshot> Repository::LoadSnapshot(const Id& id) {
  WARD_ASSIGN_OR_RETURN(Bytes data, LoadObject(Handle::Of(FileType::kSnapshot, id)));
  WARD_ASSIGN_OR_RETURN(json j, ParseJson(data, "snapshot " + id.Short()));
  auto s = Snapshot::FromJson(j);
  if (!s.ok()) return s.status().WithContext("snapshot " + id.Short());
  s->id = id;
  return s;
}

Result<std::vector<Snapshot>> Repository::ListSnapshots(std::vector<DamagedObject>* damaged) {
  WARD_ASSIGN_OR_RETURN(std::vector<Id> ids, ListIds(FileType::kSnapshot));
  std::vector<std::optional<Snapshot>> loaded(ids.size());
  std::vector<Status> errors(ids.size());
  ParallelFor(ids.size(), backend_->IsLocal() ? 2 : backend_->Concurrency(), [&](size_t i) {
    auto s = LoadSnapshot(ids[i]);
    if (s.ok()) {
      loaded[i] = std::move(*s);
    } else {
      errors[i] = s.status();
    }
  });
  std::vector<Snapshot> out;
  std::set<std::string> keep;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (loaded[i]) {
      out.push_back(std::move(*loaded[i]));
      keep.insert(ids[i].Hex());
    } else if (errors[i].code() == StatusCode::kDataLoss) {
      // One damaged snapshot must not hide the others: name it, go on.
      WarnDamaged(ids[i], fmt::format("{}: skipped; 'ward forget {}' removes it", errors[i].message(),
                                      ids[i].Short()));
      if (damaged) damaged->push_back({ids[i], errors[i]});
    } else if (errors[i].code() != StatusCode::kNotFound) {  // removed by a concurrent forget
      return errors[i];
    }
  }
  cache_->Retain(FileType::kSnapshot, keep);
  std::stable_sort(out.begin(), out.end(), [](const Snapshot& a, const Snapshot& b) {
    return a.time != b.time ? a.time < b.time : a.id < b.id;
  });
  return out;
}

Status Repository::RemoveSnapshot(const Id& id) {
  Status s = backend_->Remove(Handle::Of(FileType::kSnapshot, id));
  if (s.code() == StatusCode::kNotFound) return Status::OK();
  if (s.ok() && cache_) cache_->Drop(Handle::Of(FileType::kSnapshot, id));
  return s;
}

Result<Id> Repository::SaveSnapshot(Snapshot snapshot) {
  std::string text = snapshot.ToJson().dump();
  return SaveObject(FileType::kSnapshot, AsBytes(text));
}

Result<Snapshot> Repository::FindSnapshot(std::string_view ref, const std::vector<Snapshot>& candidates) {
  if (ref == "latest") {
    if (candidates.empty()) return NotFoundError("no snapshot matches: the repository has none that fit");
    return candidates.back();
  }
  std::string lower(ref);
  std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
  if (lower.size() < 8 || lower.size() > 64 ||
      lower.find_first_not_of("0123456789abcdef") != std::string::npos) {
    return InvalidArgumentError("'" + std::string(ref) +
                                "' is not a snapshot: give an ID, a prefix of 8+ hex digits, or latest");
  }
  const Snapshot* found = nullptr;
  for (const auto& s : candidates) {
    if (s.id.Hex().rfind(lower, 0) == 0) {
      if (found) return InvalidArgumentError("snapshot prefix '" + lower + "' is ambiguous: give more digits");
      found = &s;
    }
  }
  if (!found) return NotFoundError("no snapshot " + lower + " in this repository (see 'ward snapshots')");
  return *found;
}

Result<Id> Repository::FindDamaged(std::string_view ref, const std::vector<DamagedObject>& damaged) {
  std::string lower(ref);
  std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
  if (lower.size() < 8 || lower.find_first_not_of("0123456789abcdef") != std::string::npos) {
    return NotFoundError("'" + std::string(ref) + "' names no damaged snapshot");
  }
  const DamagedObject* found = nullptr;
  for (const auto& d : damaged) {
    if (d.id.Hex().rfind(lower, 0) != 0) continue;
    if (found) return InvalidArgumentError("snapshot prefix '" + lower + "' is ambiguous: give more digits");
    found = &d;
  }
  if (!found) return NotFoundError("no damaged snapshot " + lower);
  return found->id;
}

Result<std::vector<Hold>> Repository::ListHolds(std::vector<DamagedObject>* damaged) {
  WARD_ASSIGN_OR_RETURN(std::vector<Id> ids, ListIds(FileType::kHold));
  std::vector<Hold> holds;
  std::map<Id, std::pair<std::string, UnixNanos>> released;
  auto read_one = [&](const Id& id) -> Status {
    WARD_ASSIGN_OR_RETURN(Bytes data, LoadObject(Handle::Of(FileType::kHold, id)));
    WARD_ASSIGN_OR_RETURN(json j, ParseJson(data, "hold " + id.Short()));
    try {
      std::string kind = j.at("kind").get<std::string>();
      std::string who = j.value("user", "") + "@" + j.value("host", "");
      UnixNanos when = 0;
      if (auto t = ParseTime(j.value("time", "")); t.ok()) when = *t;
      if (kind == "hold") {
        Hold h;
        h.id = id;
        WARD_ASSIGN_OR_RETURN(h.snapshot, Id::FromHex(j.at("snapshot").get<std::string>()));
        h.reason = j.value("reason", "");
        h.user = j.value("user", "");
        h.host = j.value("host", "");
        h.time = when;
        holds.push_back(std::move(h));
      } else if (kind == "release") {
        for (const auto& hid : j.at("holds")) {
          WARD_ASSIGN_OR_RETURN(Id rid, Id::FromHex(hid.get<std::string>()));
          released[rid] = {who, when};
        }
      } else {
        return FailedPreconditionError("hold " + id.Short() + " has kind '" + kind + "': upgrade ward");
      }
    } catch (const json::exception& e) {
      return DataLossError("hold " + id.Short() + " is malformed: " + e.what());
    }
    return Status::OK();
  };
  for (const Id& id : ids) {
    Status s = read_one(id);
    if (s.ok()) continue;
    if (s.code() == StatusCode::kNotFound) continue;  // removed meanwhile
    if (s.code() != StatusCode::kDataLoss && s.code() != StatusCode::kInvalidArgument) return s;
    Status d = DataLossError(fmt::format("hold {} is damaged: {}", id.Short(), s.message()));
    if (!damaged) {
      return DataLossError(fmt::format("{}; it may keep any snapshot, so nothing held can be forgotten until "
                                       "it is readable ('ward check' names every damaged file)",
                                       d.message()));
    }
    damaged->push_back({id, d});
  }
  for (auto& h : holds) {
    auto it = released.find(h.id);
    if (it != released.end()) {
      h.released = true;
      h.released_by = it->second.first;
      h.released_at = it->second.second;
    }
  }
  std::sort(holds.begin(), holds.end(), [](const Hold& a, const Hold& b) { return a.time < b.time; });
  return holds;
}

Result<Id> Repository::AddHold(const Id& snapshot, const std::string& reason) {
  if (reason.empty()) return InvalidArgumentError("a hold needs a reason (--reason TEXT)");
  json j = {{"version", 1},          {"kind", "hold"},
            {"snapshot", snapshot.Hex()}, {"reason", reason},
            {"user", LocalUsername()}, {"host", LocalHostname()},
            {"time", FormatRfc3339(NowNanos())}, {"nonce", crypto::RandomId().Hex()}};
  return SaveObject(FileType::kHold, AsBytes(j.dump()));
}

Result<size_t> Repository::ReleaseHolds(const Id& snapshot) {
  WARD_ASSIGN_OR_RETURN(std::vector<Hold> holds, ListHolds());
  json ids = json::array();
  for (const auto& h : holds) {
    if (h.snapshot == snapshot && !h.released) ids.push_back(h.id.Hex());
  }
  if (ids.empty()) return size_t{0};
  json j = {{"version", 1},
            {"kind", "release"},
            {"holds", ids},
            {"user", LocalUsername()},
            {"host", LocalHostname()},
            {"time", FormatRfc3339(NowNanos())}};
  WARD_RETURN_IF_ERROR(SaveObject(FileType::kHold, AsBytes(j.dump())).status());
  return ids.size();
}

Result<std::vector<KeyInfo>> Repository::ListKeys() {
  WARD_ASSIGN_OR_RETURN(std::vector<Id> ids, ListIds(FileType::kKey));
  std::vector<KeyInfo> out;
  for (const Id& id : ids) {
    WARD_ASSIGN_OR_RETURN(Bytes raw, backend_->Load(Handle::Of(FileType::kKey, id), 0, 0));
    KeyInfo k;
    k.id = id;
    k.current = id == current_key_;
    auto j = ParseJson(raw, "key file " + id.Short());
    if (j.ok()) {
      try {
        k.username = j->value("username", "");
        k.hostname = j->value("hostname", "");
        if (auto t = ParseTime(j->value("created", "")); t.ok()) k.created = *t;
      } catch (const json::exception&) {
        // Descriptive fields only: list the key without them.
      }
    }
    out.push_back(k);
  }
  std::sort(out.begin(), out.end(), [](const KeyInfo& a, const KeyInfo& b) { return a.created < b.created; });
  return out;
}

Result<Id> Repository::AddKey(std::string_view password, const std::optional<crypto::KdfParams>& kdf) {
  if (password.empty()) return InvalidArgumentError("empty password: choose a non-empty one");
  return WriteKeyFile(password, kdf ? *kdf : crypto::DefaultKdfParams());
}

Status Repository::RemoveKey(const Id& key) {
  if (key == current_key_) {
    return FailedPreconditionError("key " + key.Short() +
                                   " is the one in use: open the repository with another key to remove it");
  }
  WARD_ASSIGN_OR_RETURN(std::vector<Id> ids, ListIds(FileType::kKey));
  if (std::find(ids.begin(), ids.end(), key) == ids.end()) {
    return NotFoundError("no key " + key.Short() + " in this repository (see 'ward key list')");
  }
  return backend_->Remove(Handle::Of(FileType::kKey, key));
}

Result<std::unique_ptr<ActiveSession>> Repository::BeginSession(const std::string& kind) {
  std::unique_ptr<ActiveSession> s(new ActiveSession(this, kind));
  WARD_RETURN_IF_ERROR(s->Write());
  s->thread_ = std::thread([p = s.get()] { p->Refresh(); });
  return s;
}

Result<std::vector<SessionInfo>> Repository::ListSessions() {
  WARD_ASSIGN_OR_RETURN(std::vector<Id> ids, ListIds(FileType::kSession));
  std::vector<SessionInfo> out;
  for (const Id& id : ids) {
    auto data = LoadObject(Handle::Of(FileType::kSession, id));
    if (!data.ok()) continue;  // removed meanwhile, or not ours to read
    auto j = ParseJson(*data, "session " + id.Short());
    if (!j.ok() || !j->is_object()) continue;
    try {
      SessionInfo s;
      s.object = id;
      s.writer = j->value("writer", id.Hex());  // sessions of ward 0.1.0 had no writer ID
      s.generation = j->value("generation", uint64_t{0});
      s.kind = j->value("kind", "");
      s.hostname = j->value("hostname", "");
      s.boot_id = j->value("boot_id", "");
      s.pid = j->value("pid", int64_t{0});
      s.pid_start = j->value("pid_start", uint64_t{0});
      s.started = j->value("started", "");
      out.push_back(std::move(s));
    } catch (const json::exception&) {
      continue;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------

PackUploader::PackUploader(Repository* repo, int threads)
    : repo_(repo), queue_(kPackTargetSize) {  // one finished pack waits; the others are being saved
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { Run(); });
}

PackUploader::~PackUploader() {
  queue_.Close();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
}

Status PackUploader::Submit(PackBuilder::Finished pack) {
  {
    std::lock_guard lock(mu_);
    if (!error_.ok()) return error_;
  }
  {
    std::lock_guard lock(mu_);
    ++in_flight_;
  }
  if (threads_.empty()) {
    Upload(std::move(pack));  // inline: a local disk gains nothing from more buffers
    std::lock_guard lock(mu_);
    return error_;
  }
  size_t cost = pack.data.size();
  if (!queue_.Push(std::move(pack), cost)) {
    std::lock_guard lock(mu_);
    --in_flight_;
    idle_.notify_all();
    return AbortedError("upload queue closed");
  }
  return Status::OK();
}

void PackUploader::Run() {
  while (auto pack = queue_.Pop()) Upload(std::move(*pack));
}

void PackUploader::Upload(PackBuilder::Finished pack) {
  struct Done {
    PackUploader* u;
    ~Done() {
      std::lock_guard lock(u->mu_);
      --u->in_flight_;
      u->idle_.notify_all();
    }
  } done{this};
  {
    std::lock_guard lock(mu_);
    if (!error_.ok()) return;  // drain without uploading after a failure
  }
  Status s = repo_->backend()->Save(storage::Handle::Of(FileType::kPack, pack.id), pack.data);
  if (s.code() == StatusCode::kAlreadyExists) s = Status::OK();  // same name, same bytes
  // Tree packs of a remote repository are cached as they are written, so the
  // next backup (files cache) and restore need not download them.
  if (s.ok() && std::any_of(pack.blobs.begin(), pack.blobs.end(),
                            [](const PackedBlob& b) { return b.loc.type == BlobType::kTree; })) {
    repo_->cache().Put(storage::Handle::Of(FileType::kPack, pack.id), pack.data);
  }
  size_t size = pack.data.size();
  pack.data = Bytes();  // release the buffer before waiting for the lock
  std::lock_guard lock(mu_);
  if (!s.ok()) {
    if (error_.ok()) error_ = s.WithContext("saving pack " + pack.id.Short());
    return;
  }
  repo_->index().AddPack(pack.id, pack.blobs);
  repo_->ReleaseBlobs(pack.blobs);
  packs_uploaded_++;
  bytes_uploaded_ += size;
  pending_index_.packs.push_back({pack.id, std::move(pack.blobs)});
  if (pending_index_.packs.size() >= kPacksPerIndexFile) {
    Status is = WriteIndexLocked();
    if (!is.ok() && error_.ok()) error_ = is;
  }
}

Status PackUploader::WriteIndexLocked() {
  if (pending_index_.packs.empty()) return Status::OK();
  Bytes data = pending_index_.Encode();
  auto id = repo_->SaveObject(FileType::kIndex, data);
  if (!id.ok()) return id.status().WithContext("saving index");
  pending_index_.packs.clear();
  return Status::OK();
}

Status PackUploader::Flush() {
  std::unique_lock lock(mu_);
  idle_.wait(lock, [&] { return in_flight_ == 0; });
  if (!error_.ok()) return error_;
  return WriteIndexLocked();
}

Status PackUploader::Finish() {
  queue_.Close();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  std::lock_guard lock(mu_);
  if (!error_.ok()) return error_;
  finished_ = true;
  return WriteIndexLocked();
}

Status PackWriter::Add(BlobType type, const Id& id, ByteView plaintext) {
  size_t before = builder_.size();
  builder_.Add(type, id, plaintext, repo_->config().compression_level);
  stored_ += builder_.size() - before;
  plain_ += plaintext.size();
  if (builder_.size() >= target_) return Flush();
  return Status::OK();
}

Status PackWriter::Flush() {
  if (builder_.empty()) return Status::OK();
  return uploader_->Submit(builder_.Finish());
}

}  // namespace ward::repo
