#include "repo/snapshot.h"

#include <algorithm>

namespace ward::repo {

namespace {
const char* kKnown[] = {"version", "time",  "tree",     "paths",           "hostname",
                        "username", "uid",  "gid",      "tags",            "source",
                        "parent",   "program_version",  "excludes",        "summary",
                        "service",  "sources"};
}

nlohmann::json SummaryToJson(const SnapshotSummary& s) {
  return {{"files_new", s.files_new},
          {"files_changed", s.files_changed},
          {"files_unmodified", s.files_unmodified},
          {"dirs_new", s.dirs_new},
          {"dirs_changed", s.dirs_changed},
          {"dirs_unmodified", s.dirs_unmodified},
          {"data_blobs", s.data_blobs},
          {"tree_blobs", s.tree_blobs},
          {"data_added", s.data_added},
          {"data_added_plain", s.data_added_plain},
          {"total_files_processed", s.total_files_processed},
          {"total_bytes_processed", s.total_bytes_processed},
          {"duration_seconds", s.duration_seconds},
          {"backup_start", FormatRfc3339(s.backup_start)},
          {"backup_end", FormatRfc3339(s.backup_end)}};
}

nlohmann::json Snapshot::ToJson() const {
  nlohmann::json j = extra;
  j["version"] = 1;
  j["time"] = FormatRfc3339(time);
  j["tree"] = tree.Hex();
  j["paths"] = paths;
  j["hostname"] = hostname;
  j["username"] = username;
  j["uid"] = uid;
  j["gid"] = gid;
  j["tags"] = tags;
  j["source"] = source;
  if (parent) j["parent"] = parent->Hex();
  j["program_version"] = program_version;
  if (!excludes.empty()) j["excludes"] = excludes;
  if (!service.empty()) j["service"] = service;
  if (!sources.empty()) j["sources"] = sources;
  if (summary) j["summary"] = SummaryToJson(*summary);
  return j;
}

Result<Snapshot> Snapshot::FromJson(const nlohmann::json& j) {
  if (!j.is_object()) return DataLossError("snapshot is not a JSON object");
  try {
    Snapshot s;
    int version = j.value("version", 0);
    if (version != 1) {
      return FailedPreconditionError("snapshot format version " + std::to_string(version) +
                                     " is not supported by this ward; upgrade ward");
    }
    WARD_ASSIGN_OR_RETURN(s.time, ParseTime(j.at("time").get<std::string>()));
    WARD_ASSIGN_OR_RETURN(s.tree, Id::FromHex(j.at("tree").get<std::string>()));
    s.paths = j.value("paths", std::vector<std::string>{});
    s.hostname = j.value("hostname", "");
    s.username = j.value("username", "");
    s.uid = j.value("uid", 0u);
    s.gid = j.value("gid", 0u);
    s.tags = j.value("tags", std::vector<std::string>{});
    s.source = j.value("source", "files");
    if (j.contains("parent")) {
      WARD_ASSIGN_OR_RETURN(Id p, Id::FromHex(j["parent"].get<std::string>()));
      s.parent = p;
    }
    s.program_version = j.value("program_version", "");
    s.excludes = j.value("excludes", std::vector<std::string>{});
    s.service = j.value("service", "");
    if (j.contains("sources") && j["sources"].is_object()) s.sources = j["sources"];
    if (j.contains("summary")) {
      const auto& m = j["summary"];
      SnapshotSummary sum;
      sum.files_new = m.value("files_new", 0ull);
      sum.files_changed = m.value("files_changed", 0ull);
      sum.files_unmodified = m.value("files_unmodified", 0ull);
      sum.dirs_new = m.value("dirs_new", 0ull);
      sum.dirs_changed = m.value("dirs_changed", 0ull);
      sum.dirs_unmodified = m.value("dirs_unmodified", 0ull);
      sum.data_blobs = m.value("data_blobs", 0ull);
      sum.tree_blobs = m.value("tree_blobs", 0ull);
      sum.data_added = m.value("data_added", 0ull);
      sum.data_added_plain = m.value("data_added_plain", 0ull);
      sum.total_files_processed = m.value("total_files_processed", 0ull);
      sum.total_bytes_processed = m.value("total_bytes_processed", 0ull);
      sum.duration_seconds = m.value("duration_seconds", 0.0);
      if (auto t = ParseTime(m.value("backup_start", "")); t.ok()) sum.backup_start = *t;
      if (auto t = ParseTime(m.value("backup_end", "")); t.ok()) sum.backup_end = *t;
      s.summary = sum;
    }
    for (auto it = j.begin(); it != j.end(); ++it) {
      if (std::find(std::begin(kKnown), std::end(kKnown), it.key()) == std::end(kKnown)) {
        s.extra[it.key()] = it.value();
      }
    }
    return s;
  } catch (const nlohmann::json::exception& e) {
    return DataLossError(std::string("snapshot JSON is malformed: ") + e.what());
  }
}

bool Snapshot::HasSource(const std::string& name) const {
  if (source == name) return true;
  return source == "plan" && sources.is_object() && sources.contains(name);
}

bool Snapshot::HasTag(const std::string& tag) const {
  return std::find(tags.begin(), tags.end(), tag) != tags.end();
}

}  // namespace ward::repo
