// Backend: where a repository's objects live. The one interface every storage
// driver implements (local/ and s3/) and every wrapper (retry, limits, fault
// injection) both implements and wraps.
//
// Objects are addressed by typed handles, never by paths: a Handle names the
// object's kind and its name (64 hex digits, except the single config
// object), and the layout (layout.h) maps it to a path or key.
//
// Contract, which backend_conformance.cc checks for every backend:
//   - Save is all or nothing: after a failure or a crash at any instant, the
//     object either does not exist or holds exactly the bytes given. An
//     object is never replaced: saving an existing name fails with
//     kAlreadyExists and leaves the stored object untouched.
//   - Load of a missing object fails with kNotFound; a range that reaches
//     past the end fails with kOutOfRange (never a short read).
//   - List shows only complete objects with valid names, in no order.
//   - Remove of a missing object fails with kNotFound.
//   - Transient failures are kUnavailable (a retry wrapper may repeat the
//     call); every other failure is final.
// Thread safety: every method may be called from several threads at once.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "base/bytes.h"
#include "base/status.h"

namespace ward::storage {

enum class FileType { kConfig, kKey, kPack, kIndex, kSnapshot, kSession, kPlan, kHold };

// "config", "key", "pack", "index", "snapshot", "session", "plan", "hold".
const char* FileTypeName(FileType t);

struct Handle {
  FileType type;
  std::string name;  // empty for kConfig

  static Handle Config() { return {FileType::kConfig, ""}; }
  static Handle Of(FileType t, const Id& id) { return {t, id.Hex()}; }
  std::string ToString() const;  // "pack 1a2b3c4d"
  bool operator==(const Handle&) const = default;
};

struct FileInfo {
  std::string name;
  uint64_t size = 0;
};

// Settings that only some stores honour. A repository records the ones that
// must hold for every writer (Object Lock) in its config and applies them on
// open; the others come from the command line.
struct StorageSettings {
  std::string lock_mode;      // "" | "COMPLIANCE" | "GOVERNANCE"
  int lock_days = 0;          // retention after each upload (with lock_mode)
  std::string storage_class;  // for pack objects ("STANDARD_IA", ...); "" = default
  bool append_only = false;   // never delete (credentials without DeleteObject)
  int connections = 0;        // requests in flight; 0 = the backend's default
};

class Backend {
 public:
  virtual ~Backend() = default;

  // Where the objects live, for messages: "/srv/repo" or "s3:https://host/bucket/prefix".
  virtual std::string Location() const = 0;

  // Prepares an empty location for a new repository (directories, or nothing
  // on object stores). Fails if the location cannot be written.
  virtual Status Create() = 0;

  // Stores `data` as `h`. See the contract above.
  virtual Status Save(const Handle& h, ByteView data) = 0;

  // Returns `length` bytes of `h` starting at `offset`; length 0 means "to the end".
  virtual Result<Bytes> Load(const Handle& h, uint64_t offset = 0, uint64_t length = 0) = 0;

  virtual Result<FileInfo> Stat(const Handle& h) = 0;

  // Calls fn for each object of type t; stops at and returns fn's first error.
  virtual Status List(FileType t, const std::function<Status(const FileInfo&)>& fn) = 0;

  virtual Status Remove(const Handle& h) = 0;

  // How many requests may usefully run at once (threads that upload/download).
  virtual int Concurrency() const { return 2; }

  // True when objects are on a local disk: caching them locally gains nothing.
  virtual bool IsLocal() const { return false; }

  // Applies settings before the backend is used. Stores without a setting
  // ignore what does not apply to them (a storage class on a disk), but fail
  // with kFailedPrecondition on what would be unsafe to ignore (Object Lock,
  // whose protection the operator relies on).
  virtual Status ApplySettings(const StorageSettings& settings) {
    if (!settings.lock_mode.empty()) {
      return FailedPreconditionError(Location() + ": object lock is only available on S3 repositories");
    }
    return Status::OK();
  }

  // Temporary files a writer makes before an object appears under its name
  // (local disks: "data/ab/<id>.tmp-<owner>-XXXXXX"; io/process.h names the
  // owner). Writers killed mid-write leave them behind; prune removes those
  // whose owner is provably gone. Stores whose uploads are atomic have none.
  // FileInfo::name is the path relative to the repository root.
  virtual Status ListTemporaries(const std::function<Status(const FileInfo&)>& fn) {
    (void)fn;
    return Status::OK();
  }
  virtual Status RemoveTemporary(const std::string& name) {
    return UnimplementedError(Location() + ": no temporary files to remove (" + name + ")");
  }

  // Object Lock: keeps `h` undeletable until at least `until` (never
  // shortens). kUnimplemented on stores without retention.
  virtual Status ExtendRetention(const Handle& h, int64_t until_unix_nanos) {
    (void)h;
    (void)until_unix_nanos;
    return UnimplementedError(Location() + ": no object retention on this store");
  }
};

// A Backend that forwards every call to another one; wrappers derive from it
// and override what they change (LevelDB's EnvWrapper).
class BackendWrapper : public Backend {
 public:
  explicit BackendWrapper(std::unique_ptr<Backend> inner) : inner_(std::move(inner)) {}
  std::string Location() const override { return inner_->Location(); }
  Status Create() override { return inner_->Create(); }
  Status Save(const Handle& h, ByteView data) override { return inner_->Save(h, data); }
  Result<Bytes> Load(const Handle& h, uint64_t offset, uint64_t length) override {
    return inner_->Load(h, offset, length);
  }
  Result<FileInfo> Stat(const Handle& h) override { return inner_->Stat(h); }
  Status List(FileType t, const std::function<Status(const FileInfo&)>& fn) override {
    return inner_->List(t, fn);
  }
  Status Remove(const Handle& h) override { return inner_->Remove(h); }
  int Concurrency() const override { return inner_->Concurrency(); }
  bool IsLocal() const override { return inner_->IsLocal(); }
  Status ApplySettings(const StorageSettings& s) override { return inner_->ApplySettings(s); }
  Status ExtendRetention(const Handle& h, int64_t until) override { return inner_->ExtendRetention(h, until); }
  Status ListTemporaries(const std::function<Status(const FileInfo&)>& fn) override {
    return inner_->ListTemporaries(fn);
  }
  Status RemoveTemporary(const std::string& name) override { return inner_->RemoveTemporary(name); }

 protected:
  Backend* inner() { return inner_.get(); }

 private:
  std::unique_ptr<Backend> inner_;
};

// True for names a backend may hold: 64 lowercase hex digits.
bool IsValidName(std::string_view name);

// Opens the backend a repository URL names:
//   /path, local:/path                     local directory
//   s3:https://host[:port]/bucket[/prefix] S3-compatible store
//   s3:bucket[/prefix]                     AWS S3
// kInvalidArgument (with the accepted forms) for anything else. S3 backends
// come wrapped in the retry wrapper (transient failures are retried).
Result<std::unique_ptr<Backend>> OpenBackend(const std::string& url,
                                             const StorageSettings& settings = {});

}  // namespace ward::storage
