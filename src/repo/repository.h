// Repository: the encrypted, deduplicated object store that every command
// works on. It owns the backend, the master key, the in-memory index and the
// local cache, and turns blobs, trees and snapshots into sealed storage
// objects and back.
//
// Write order is what makes ward crash-safe (docs/format/repository.md):
// packs are saved before the index files that list them, index files before
// the snapshots that reference their blobs; nothing is ever overwritten. A
// process killed at any instant leaves at worst packs that no index lists, or
// index files that no snapshot uses: both harmless, both reclaimed by prune.
//
// Thread safety: after Open/Init returns, every method is thread-safe, except
// that LoadIndex() must not run concurrently with writes. PackWriter objects
// belong to one thread each; PackUploader is thread-safe.
#pragma once

#include <atomic>
#include <map>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include "base/bytes.h"
#include "base/status.h"
#include "base/sync.h"
#include "base/time.h"
#include "chunker/chunker.h"
#include "crypto/crypto.h"
#include "repo/blob.h"
#include "repo/cache.h"
#include "repo/deletion_plan.h"
#include "repo/index.h"
#include "repo/pack.h"
#include "repo/session.h"
#include "repo/snapshot.h"
#include "repo/tree.h"
#include "storage/backend.h"

namespace ward::repo {

constexpr int kFormatVersion = 1;
constexpr size_t kPackTargetSize = 16 << 20;
constexpr size_t kPacksPerIndexFile = 32;
constexpr size_t kBlobsPerIndexFile = 50000;  // consolidated index files (prune, repair)

struct RepoConfig {
  int version = kFormatVersion;
  std::string id;  // 64 hex digits, random
  ChunkerParams chunker;
  int compression_level = 3;
  UnixNanos created = 0;
  // Recorded at init and applied by every writer: Object Lock and the
  // default storage class of packs (S3).
  storage::StorageSettings storage;
};

struct KeyInfo {
  Id id;
  std::string username, hostname;
  UnixNanos created = 0;
  bool current = false;  // the key this process opened the repository with
};

struct OpenOptions {
  std::string cache_dir;  // empty: no cache
  // Initialisation only: key derivation parameters for the first key.
  std::optional<crypto::KdfParams> kdf;
  int compression_level = 3;
  // Store settings from the command line. At init, lock mode/days and the
  // storage class are recorded in the config; on open, the recorded lock
  // always applies and a storage class given here overrides the recorded one.
  storage::StorageSettings storage;
  // Initialisation only: share blob IDs with another repository (its ID key
  // and chunker secret), so that `ward copy` between them moves only what
  // the target lacks without reading it first.
  std::optional<crypto::Key> id_key;
  Bytes chunker_secret;
};

// A legal hold on a snapshot (F31). Holds are append-only: `release` writes a
// release object naming the holds it ends, so holds work under Object Lock
// and append-only credentials, and their history stays auditable.
struct Hold {
  Id id;
  Id snapshot;
  std::string reason, user, host;
  UnixNanos time = 0;
  bool released = false;
  std::string released_by;  // user@host
  UnixNanos released_at = 0;
};

// A metadata object that exists but cannot be used: a flipped byte, a
// truncated upload, an object sealed under another key. Commands skip it,
// name it once, and say what to do about it.
struct DamagedObject {
  Id id;
  Status error;
};

class Repository {
 public:
  // Creates a repository in an empty location. kAlreadyExists (and nothing
  // touched) if a config object is already there; kDataLoss if a repository
  // whose config is lost is there (keys, snapshots, index or packs).
  static Result<std::unique_ptr<Repository>> Init(std::unique_ptr<storage::Backend> backend,
                                                  std::string_view password,
                                                  const OpenOptions& options);

  // Opens an existing repository. kNotFound if there is none at the location;
  // kDataLoss if its config is lost or damaged, or if no intact key file
  // opens with the password while a damaged one might (the message names
  // it); kUnauthenticated if no key file opens with the password.
  static Result<std::unique_ptr<Repository>> Open(std::unique_ptr<storage::Backend> backend,
                                                  std::string_view password,
                                                  const OpenOptions& options);

  // Why `backend` has no config: kNotFound when nothing of a repository is
  // there, kDataLoss (naming what is) when a repository lost its config.
  static Status MissingConfig(storage::Backend& backend);

  // Every key file that is damaged: its content no longer matches its name,
  // it does not parse, or its fields (KDF parameters, created) are invalid.
  Result<std::vector<DamagedObject>> CheckKeyFiles();

  ~Repository();

  const RepoConfig& config() const { return config_; }
  storage::Backend* backend() { return backend_.get(); }
  const Chunker& chunker() const { return *chunker_; }
  const crypto::Key& enc_key() const { return enc_; }
  const crypto::BlobMac& mac() const { return *mac_; }
  const crypto::Key& id_key() const { return mac_key_; }
  Id HashBlob(ByteView plaintext) const { return mac_->Sum(plaintext); }
  const Id& current_key() const { return current_key_; }

  // --- metadata objects (config, index, snapshots, sessions, holds, plans) ---
  // Compresses and seals `plaintext` and saves it under the SHA-256 of the
  // stored bytes. Returns that name.
  Result<Id> SaveObject(storage::FileType type, ByteView plaintext);
  // Saves a metadata object under a caller-chosen name (sessions).
  Status SaveObjectAs(const storage::Handle& h, ByteView plaintext);
  // Loads, verifies (name = SHA-256 for content-addressed types), opens and
  // decompresses a metadata object.
  Result<Bytes> LoadObject(const storage::Handle& h);
  // Lists the names of all objects of a type.
  Result<std::vector<Id>> ListIds(storage::FileType type);

  // --- index ---
  // Reads every index file into the master index (parallel, cached), and
  // the pending deletion plans: their condemned blobs stay readable but are
  // never deduplicated against. A damaged index file does not stop it: it is
  // named (damaged_index_files(), one warning) and the packs no readable
  // index lists are read from their headers instead (RecoverUnindexedPacks).
  Status LoadIndex();
  // Index files LoadIndex found damaged (and no other index supersedes).
  const std::vector<DamagedObject>& damaged_index_files() const { return damaged_index_; }
  // Reads the header of every pack that no loaded index file lists and
  // makes its blobs readable (MasterIndex::AddRecoveredPack), so that a lost
  // or damaged index file costs no snapshot. Runs once per LoadIndex; later
  // calls return the first result. Packs whose header is damaged are left
  // out (check --read-data names them).
  Status RecoverUnindexedPacks();
  // Where a blob is: the index, else (recovering once) a pack's header.
  std::optional<BlobLocation> LookupBlob(BlobType type, const Id& id);
  // Saves index files listing `packs`, at most kBlobsPerIndexFile blobs
  // each; only the last carries `supersedes`, so a crash half-way leaves
  // every old file in force. Returns how many were written.
  Result<uint64_t> WriteIndex(const std::vector<IndexFile::Pack>& packs, const std::vector<Id>& supersedes);
  // Every pack in the repository, with its stored size.
  Result<std::map<Id, uint64_t>> ListPacks();
  // Deletes an index file whose content another one holds (kFailedPrecondition
  // under Object Lock or append-only; a file already gone is fine).
  Status RemoveIndexFile(const Id& id);
  // Reads and authenticates the header of a pack of `size` bytes.
  Result<std::vector<PackedBlob>> ReadPackHeader(const Id& pack, uint64_t size);
  // Loads every (non-superseded) index file, decoded, without touching the
  // master index: for jobs that need each pack's full list of blobs.
  Result<std::vector<std::pair<Id, IndexFile>>> LoadIndexFiles();
  // Every index file, superseded ones included, loaded in parallel; files a
  // concurrent prune deleted meanwhile are left out.
  Result<std::vector<std::pair<Id, IndexFile>>> LoadAllIndexFiles();
  const PendingPlans& pending_plans() const { return plans_; }
  // Reads the deletion plans only.
  Result<PendingPlans> LoadPlans();
  MasterIndex& index() { return index_; }
  const std::vector<Id>& index_files() const { return index_files_; }

  // --- blobs ---
  Result<Bytes> LoadBlob(BlobType type, const Id& id);
  // Loads a pack range (cached whole when it holds trees and a cache is on).
  Result<Bytes> LoadPackRange(const Id& pack, uint64_t offset, uint64_t length);

  // Dedup: true if the caller should store this blob (not in the index and
  // not being stored by another writer right now).
  bool ReserveBlob(BlobType type, const Id& id);
  void ReleaseBlobs(const std::vector<PackedBlob>& blobs);

  // --- trees and snapshots ---
  Result<Tree> LoadTree(const Id& id);
  Result<Snapshot> LoadSnapshot(const Id& id);
  // Every readable snapshot, sorted by time, oldest first. A damaged one is
  // left out, named once on stderr, and added to *damaged when given; only
  // failures to reach the repository fail the call.
  Result<std::vector<Snapshot>> ListSnapshots(std::vector<DamagedObject>* damaged = nullptr);
  // Removes a snapshot object (forget); a snapshot already gone is fine.
  Status RemoveSnapshot(const Id& id);
  Result<Id> SaveSnapshot(Snapshot snapshot);
  // "latest", a full ID, or a unique prefix of at least 8 hex digits, among `candidates`.
  Result<Snapshot> FindSnapshot(std::string_view ref, const std::vector<Snapshot>& candidates);
  // The same for a snapshot ListSnapshots found damaged (forget, hold
  // release): kNotFound if `ref` names none of them.
  static Result<Id> FindDamaged(std::string_view ref, const std::vector<DamagedObject>& damaged);

  // --- legal holds ---
  // Active and released holds. A damaged hold file fails the call (it might
  // keep any snapshot) unless `damaged` collects it.
  Result<std::vector<Hold>> ListHolds(std::vector<DamagedObject>* damaged = nullptr);
  Result<Id> AddHold(const Id& snapshot, const std::string& reason);
  // Releases every active hold of `snapshot`; returns how many.
  Result<size_t> ReleaseHolds(const Id& snapshot);

  // --- keys ---
  Result<std::vector<KeyInfo>> ListKeys();
  Result<Id> AddKey(std::string_view password, const std::optional<crypto::KdfParams>& kdf);
  // Refuses to remove the key in use or the last key.
  Status RemoveKey(const Id& key);

  // --- sessions (writers in flight; see session.h) ---
  // Registers a refreshed session; it ends when the returned object is
  // closed or destroyed.
  Result<std::unique_ptr<ActiveSession>> BeginSession(const std::string& kind);
  // Every session object currently in the repository (unreadable ones are
  // skipped: they belong to another key or are being replaced).
  Result<std::vector<SessionInfo>> ListSessions();

  ObjectCache& cache() { return *cache_; }

  // Whether damage found while reading is also named on stderr (default);
  // check turns it off because its report names every finding itself.
  void set_warn_on_damage(bool on) { warn_on_damage_ = on; }

 private:
  Repository() = default;
  Status LoadConfig();
  // Names a damaged object on stderr, once per process (unless turned off).
  void WarnDamaged(const Id& object, const std::string& message);
  Result<Id> WriteKeyFile(std::string_view password, const crypto::KdfParams& kdf);

  std::unique_ptr<storage::Backend> backend_;
  RepoConfig config_;
  crypto::Key enc_, mac_key_;
  std::unique_ptr<crypto::BlobMac> mac_;
  std::unique_ptr<Chunker> chunker_;
  std::unique_ptr<ObjectCache> cache_;
  Id current_key_;
  std::string cache_dir_;

  MasterIndex index_;
  std::vector<Id> index_files_;
  std::vector<DamagedObject> damaged_index_;
  PendingPlans plans_;
  bool warn_on_damage_ = true;
  std::mutex recover_mu_;
  bool recovered_ = false;  // guarded by recover_mu_
  Status recover_status_;   // guarded by recover_mu_
  std::atomic<bool> told_recovered_{false};
  // Unindexed packs are looked for only once an index was loaded: without
  // one, every blob is missing and that is the caller's mistake.
  std::atomic<bool> index_loaded_{false};
  std::mutex warned_mu_;
  std::set<Id> warned_;  // damaged objects already named on stderr

  std::mutex pending_mu_;
  std::unordered_set<Id, IdHash> pending_[2];
};

// Uploads finished packs on background threads, records them in the master
// index, and writes an index file every kPacksPerIndexFile packs and at
// Finish(). Thread-safe.
class PackUploader {
 public:
  // `threads` background savers; 0 saves each pack in the submitting thread.
  PackUploader(Repository* repo, int threads);
  ~PackUploader();

  // Queues a pack; blocks while too many bytes are in flight. Returns the
  // first upload error seen so far (then nothing more is uploaded).
  Status Submit(PackBuilder::Finished pack);

  // Waits until every pack submitted so far is saved, and writes an index
  // file for them; the uploader stays usable.
  Status Flush();

  // Waits for every queued pack and writes the last index file.
  Status Finish();

  uint64_t packs_uploaded() const { return packs_uploaded_; }
  uint64_t bytes_uploaded() const { return bytes_uploaded_; }

 private:
  void Run();
  void Upload(PackBuilder::Finished pack);
  Status WriteIndexLocked();

  Repository* repo_;
  BoundedQueue<PackBuilder::Finished> queue_;
  std::vector<std::thread> threads_;
  std::mutex mu_;
  Status error_;
  IndexFile pending_index_;
  int in_flight_ = 0;  // submitted, not yet recorded (guarded by mu_)
  std::condition_variable idle_;
  std::atomic<uint64_t> packs_uploaded_{0}, bytes_uploaded_{0};
  bool finished_ = false;
};

// Packs blobs for one thread and hands full packs to a PackUploader.
class PackWriter {
 public:
  PackWriter(Repository* repo, PackUploader* uploader, size_t target_size = kPackTargetSize)
      : repo_(repo),
        uploader_(uploader),
        builder_(repo->enc_key(), target_size + repo->chunker().max_size() + (64 << 10)),
        target_(target_size) {}

  // Stores a blob the caller reserved with Repository::ReserveBlob.
  Status Add(BlobType type, const Id& id, ByteView plaintext);
  Status Flush();

  // Stored (sealed) bytes and plaintext bytes added through this writer.
  uint64_t stored_bytes() const { return stored_; }
  uint64_t plain_bytes() const { return plain_; }

 private:
  Repository* repo_;
  PackUploader* uploader_;
  PackBuilder builder_;
  size_t target_;
  uint64_t stored_ = 0, plain_ = 0;
};

// Host and user name of this process, for snapshots and key files.
std::string LocalHostname();
std::string LocalUsername();

}  // namespace ward::repo
