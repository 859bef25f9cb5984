// Snapshots: one recovery point. A snapshot names the root tree and says what
// was backed up, where and when; it is the last object a backup writes, so
// its existence means every blob it references was stored first.
//
// Stored as a metadata object holding JSON (docs/format/repository.md):
//   {"version":1,"time":"RFC 3339","tree":"<hex>","paths":[...],
//    "hostname":"...","username":"...","uid":0,"gid":0,"tags":[...],
//    "source":"files","parent":"<hex>","program_version":"ward 0.1.0",
//    "excludes":[...],"summary":{...}}
// Unknown fields are preserved on read and ignored.
//
// Thread safety: plain values.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/status.h"
#include "base/time.h"

namespace ward::repo {

struct SnapshotSummary {
  uint64_t files_new = 0, files_changed = 0, files_unmodified = 0;
  uint64_t dirs_new = 0, dirs_changed = 0, dirs_unmodified = 0;
  uint64_t data_blobs = 0, tree_blobs = 0;
  uint64_t data_added = 0;  // bytes stored after dedup and compression
  uint64_t data_added_plain = 0;
  uint64_t total_files_processed = 0;
  uint64_t total_bytes_processed = 0;
  double duration_seconds = 0;
  UnixNanos backup_start = 0, backup_end = 0;
};

struct Snapshot {
  Id id;  // storage name; not part of the JSON
  UnixNanos time = 0;
  Id tree;
  std::vector<std::string> paths;
  std::string hostname, username;
  uint32_t uid = 0, gid = 0;
  std::vector<std::string> tags;
  std::string source = "files";
  std::optional<Id> parent;
  std::string program_version;
  std::vector<std::string> excludes;
  std::string service;  // plan backups: the service the plan describes
  // Per-source facts (F44): for a plan, {"name": {"kind": ..., "position": {...}}};
  // for a single source, its position object. Empty object if none.
  nlohmann::json sources = nlohmann::json::object();
  std::optional<SnapshotSummary> summary;
  nlohmann::json extra = nlohmann::json::object();  // fields this version does not know

  nlohmann::json ToJson() const;
  static Result<Snapshot> FromJson(const nlohmann::json& j);

  bool HasTag(const std::string& tag) const;
  // True if the snapshot holds source `name`: its kind is `name` (single-source
  // snapshots: "files", "command") or a plan part is called `name`.
  bool HasSource(const std::string& name) const;
};

nlohmann::json SummaryToJson(const SnapshotSummary& s);

}  // namespace ward::repo
