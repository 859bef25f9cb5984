#include "plan/plan.h"

#include <algorithm>
#include <cstdlib>
#include <set>
#include <sstream>

#include <toml++/toml.h>

#include "base/time.h"
#include "io/file.h"

namespace ward::plan {

namespace {

const std::set<std::string> kKinds = {"files", "command", "postgres", "redis", "s3"};

// [verify], [drill] and [[notify]] are the daemon's (SPEC §9).
const std::vector<std::string> kTopLevelKeys = {"service", "repository", "password_file", "password_command",
                                                "defaults", "source",     "retention",     "check",
                                                "verify",   "drill",      "notify"};
const std::vector<std::string> kDefaultsKeys = {"rpo", "rto"};
// What `ward forget --plan` reads (cmd/cmd_forget.cc).
const std::vector<std::string> kRetentionKeys = {"keep_last",    "keep_hourly", "keep_daily", "keep_weekly",
                                                 "keep_monthly", "keep_yearly", "keep_within"};

std::string Join(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words) out += (out.empty() ? "" : ", ") + w;
  return out;
}

std::string UnknownKey(const std::string& path, int line, const std::string& key, const std::string& where,
                       const std::vector<std::string>& allowed) {
  std::string at = path.empty() ? "" : path + ":" + std::to_string(line) + ": ";
  std::string out = at + "unknown key '" + key + "' " + where;
  std::string close = DidYouMean(key, allowed);
  if (!close.empty()) return out + " (did you mean '" + close + "'?)";
  return out + "; it takes " + Join(allowed);
}

Status CheckTableKeys(const toml::table& t, const std::vector<std::string>& allowed, const std::string& path,
                      const std::string& where) {
  for (const auto& [k, v] : t) {
    std::string key(k.str());
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      return InvalidArgumentError(UnknownKey(path, static_cast<int>(k.source().begin.line), key, where, allowed));
    }
  }
  return Status::OK();
}

size_t EditDistance(std::string_view a, std::string_view b) {
  // Optimal string alignment: insertions, deletions, substitutions and
  // adjacent transpositions ("exlcude") cost one each.
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[a.size()][b.size()];
}

nlohmann::json ToJson(const toml::node& n) {
  if (auto* t = n.as_table()) {
    nlohmann::json j = nlohmann::json::object();
    for (const auto& [k, v] : *t) j[std::string(k.str())] = ToJson(v);
    return j;
  }
  if (auto* a = n.as_array()) {
    nlohmann::json j = nlohmann::json::array();
    for (const auto& v : *a) j.push_back(ToJson(v));
    return j;
  }
  if (auto* s = n.as_string()) return s->get();
  if (auto* i = n.as_integer()) return i->get();
  if (auto* f = n.as_floating_point()) return f->get();
  if (auto* b = n.as_boolean()) return b->get();
  std::ostringstream os;  // dates and times: keep their TOML spelling
  if (auto* d = n.as_date()) os << d->get();
  if (auto* t = n.as_time()) os << t->get();
  if (auto* dt = n.as_date_time()) os << dt->get();
  return os.str();
}

Result<std::optional<int64_t>> Duration(const nlohmann::json& table, const std::string& key,
                                        const std::string& where) {
  if (!table.contains(key)) return std::optional<int64_t>();
  if (!table[key].is_string()) {
    return InvalidArgumentError(where + ": '" + key + "' must be a duration string such as \"1h\"");
  }
  auto d = ParseDuration(table[key].get<std::string>());
  if (!d.ok()) return Status(d.status().code(), where + ": '" + key + "': " + d.status().message());
  return std::optional<int64_t>(*d);
}

bool ValidName(const std::string& n) {
  if (n.empty() || n == "." || n == ".." || n.size() > 64) return false;
  for (char c : n) {
    if (!(isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) return false;
  }
  return true;
}

}  // namespace

Result<std::string> PlanSource::String(const std::string& key, bool required, const std::string& fallback) const {
  if (!config.contains(key)) {
    if (required) {
      return InvalidArgumentError("source '" + name + "' (kind " + kind + ") needs '" + key + "'");
    }
    return fallback;
  }
  if (!config[key].is_string()) {
    return InvalidArgumentError("source '" + name + "': '" + key + "' must be a string");
  }
  return config[key].get<std::string>();
}

Result<std::vector<std::string>> PlanSource::Strings(const std::string& key, bool required) const {
  if (!config.contains(key)) {
    if (required) {
      return InvalidArgumentError("source '" + name + "' (kind " + kind + ") needs '" + key + "'");
    }
    return std::vector<std::string>{};
  }
  const auto& v = config[key];
  if (v.is_string()) return std::vector<std::string>{v.get<std::string>()};
  if (!v.is_array()) return InvalidArgumentError("source '" + name + "': '" + key + "' must be a list of strings");
  std::vector<std::string> out;
  for (const auto& e : v) {
    if (!e.is_string()) {
      return InvalidArgumentError("source '" + name + "': '" + key + "' must be a list of strings");
    }
    out.push_back(e.get<std::string>());
  }
  return out;
}

Result<bool> PlanSource::Bool(const std::string& key, bool fallback) const {
  if (!config.contains(key)) return fallback;
  if (!config[key].is_boolean()) return InvalidArgumentError("source '" + name + "': '" + key + "' must be true or false");
  return config[key].get<bool>();
}

Result<int64_t> PlanSource::Int(const std::string& key, int64_t fallback) const {
  if (!config.contains(key)) return fallback;
  if (!config[key].is_number_integer()) {
    return InvalidArgumentError("source '" + name + "': '" + key + "' must be an integer");
  }
  return config[key].get<int64_t>();
}

const std::vector<std::string>& CommonSourceKeys() {
  static const std::vector<std::string> keys = {"name", "kind", "schedule", "rpo", "rto", "verify_to"};
  return keys;
}

std::string DidYouMean(std::string_view word, const std::vector<std::string>& candidates) {
  const size_t limit = word.size() <= 4 ? 1 : 2;
  std::string best;
  size_t best_distance = limit + 1;
  for (const auto& c : candidates) {
    size_t d = EditDistance(word, c);
    if (d < best_distance) {
      best = c;
      best_distance = d;
    }
  }
  return best;
}

Status CheckSourceKeys(const PlanSource& ps, const std::vector<std::string>& kind_keys) {
  std::vector<std::string> allowed = CommonSourceKeys();
  allowed.insert(allowed.end(), kind_keys.begin(), kind_keys.end());
  // The first unknown key as written (config is sorted by name).
  std::string first;
  int first_line = 0;
  for (const auto& [key, value] : ps.config.items()) {
    if (std::find(allowed.begin(), allowed.end(), key) != allowed.end()) continue;
    auto at = ps.key_lines.find(key);
    int line = at == ps.key_lines.end() ? ps.line : at->second;
    if (first.empty() || line < first_line) {
      first = key;
      first_line = line;
    }
  }
  if (first.empty()) return Status::OK();
  return InvalidArgumentError(UnknownKey(ps.plan_path, first_line, first, "in [[source]] '" + ps.name + "'", allowed));
}

const PlanSource* Plan::Find(const std::string& name) const {
  for (const auto& s : sources) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

Result<Plan> ParsePlan(const std::string& text, const std::string& path) {
  toml::table root;
  try {
    root = toml::parse(text, path);
  } catch (const toml::parse_error& e) {
    return InvalidArgumentError("plan " + path + " line " + std::to_string(e.source().begin.line) + ": " +
                                std::string(e.description()));
  }
  nlohmann::json j = ToJson(root);
  Plan p;
  p.path = path;
  auto str = [&](const char* key, std::string* out) -> Status {
    if (!j.contains(key)) return Status::OK();
    if (!j[key].is_string()) return InvalidArgumentError("plan " + path + ": '" + key + "' must be a string");
    *out = j[key].get<std::string>();
    return Status::OK();
  };
  WARD_RETURN_IF_ERROR(str("service", &p.service));
  WARD_RETURN_IF_ERROR(str("repository", &p.repository));
  WARD_RETURN_IF_ERROR(str("password_file", &p.password_file));
  WARD_RETURN_IF_ERROR(str("password_command", &p.password_command));
  if (p.service.empty()) return InvalidArgumentError("plan " + path + ": 'service = \"name\"' is missing");
  for (const char* forbidden : {"password", "secret", "secret_key", "access_key"}) {
    if (j.contains(forbidden)) {
      return InvalidArgumentError("plan " + path + ": '" + forbidden +
                                  "' must not be in a plan; name an environment variable, file or command instead");
    }
  }
  WARD_RETURN_IF_ERROR(CheckTableKeys(root, kTopLevelKeys, path, "at the top level"));
  if (j.contains("defaults")) {
    if (!j["defaults"].is_object()) return InvalidArgumentError("plan " + path + ": [defaults] must be a table");
    WARD_RETURN_IF_ERROR(CheckTableKeys(*root["defaults"].as_table(), kDefaultsKeys, path, "in [defaults]"));
    WARD_ASSIGN_OR_RETURN(p.defaults.rpo_ns, Duration(j["defaults"], "rpo", "plan " + path + " [defaults]"));
    WARD_ASSIGN_OR_RETURN(p.defaults.rto_ns, Duration(j["defaults"], "rto", "plan " + path + " [defaults]"));
  }
  if (!j.contains("source") || !j["source"].is_array() || j["source"].empty()) {
    return InvalidArgumentError("plan " + path + ": no [[source]] tables: a plan needs at least one source");
  }
  std::set<std::string> names;
  const toml::array& source_tables = *root["source"].as_array();
  for (size_t i = 0; i < source_tables.size(); ++i) {
    const nlohmann::json& s = j["source"][i];
    PlanSource ps;
    ps.config = s;
    ps.plan_path = path;
    ps.line = static_cast<int>(source_tables[i].source().begin.line);
    if (const toml::table* t = source_tables[i].as_table()) {
      for (const auto& [k, v] : *t) ps.key_lines[std::string(k.str())] = static_cast<int>(k.source().begin.line);
    }
    if (!s.contains("name") || !s["name"].is_string() || !ValidName(s["name"].get<std::string>())) {
      return InvalidArgumentError("plan " + path +
                                  ": every [[source]] needs a name of letters, digits, '-', '_' or '.'");
    }
    ps.name = s["name"].get<std::string>();
    if (!names.insert(ps.name).second) {
      return InvalidArgumentError("plan " + path + ": two sources are named '" + ps.name + "'");
    }
    if (!s.contains("kind") || !s["kind"].is_string() || !kKinds.count(s["kind"].get<std::string>())) {
      return InvalidArgumentError("plan " + path + ": source '" + ps.name +
                                  "' needs kind = \"files\", \"command\", \"postgres\", \"redis\" or \"s3\"");
    }
    ps.kind = s["kind"].get<std::string>();
    for (const char* forbidden : {"password", "secret_key", "secret_access_key", "aws_secret_access_key",
                                  "access_key", "access_key_id", "aws_access_key_id", "session_token",
                                  "aws_session_token"}) {
      if (s.contains(forbidden)) {
        return InvalidArgumentError("plan " + path + ": source '" + ps.name + "': '" + forbidden +
                                    "' must not be in a plan; use password_env or the service's own files");
      }
    }
    std::string where = "plan " + path + " source '" + ps.name + "'";
    WARD_ASSIGN_OR_RETURN(ps.objectives.rpo_ns, Duration(s, "rpo", where));
    WARD_ASSIGN_OR_RETURN(ps.objectives.rto_ns, Duration(s, "rto", where));
    if (!ps.objectives.rpo_ns) ps.objectives.rpo_ns = p.defaults.rpo_ns;
    if (!ps.objectives.rto_ns) ps.objectives.rto_ns = p.defaults.rto_ns;
    if (s.contains("schedule")) {
      std::string at = path + ":" + std::to_string(ps.key_lines["schedule"]) + ": [[source]] '" + ps.name + "': ";
      if (!s["schedule"].is_string()) {
        return InvalidArgumentError(at + "schedule must be a string such as \"0 3 * * *\" or \"@every 1h\"");
      }
      auto sched = Schedule::Parse(s["schedule"].get<std::string>());
      if (!sched.ok()) return InvalidArgumentError(at + sched.status().message());
      ps.schedule = std::move(*sched);
    }
    p.sources.push_back(std::move(ps));
  }
  if (j.contains("retention")) {
    if (!j["retention"].is_object()) return InvalidArgumentError("plan " + path + ": [retention] must be a table");
    WARD_RETURN_IF_ERROR(CheckTableKeys(*root["retention"].as_table(), kRetentionKeys, path, "in [retention]"));
    p.retention = j["retention"];
  }
  if (j.contains("check")) {
    if (!j["check"].is_array()) return InvalidArgumentError("plan " + path + ": [[check]] must be tables");
    for (const auto& c : j["check"]) {
      if (c.contains("source") && (!c["source"].is_string() || !names.count(c["source"].get<std::string>()))) {
        return InvalidArgumentError("plan " + path + ": a [[check]] names a source that the plan does not have");
      }
      p.checks.push_back(c);
    }
  }
  return p;
}

Result<Plan> LoadPlan(const std::string& path) {
  auto data = io::ReadWholeFile(path);
  if (!data.ok()) {
    return Status(data.status().code(), "plan file: " + data.status().message());
  }
  return ParsePlan(std::string(AsString(*data)), path);
}

Result<std::string> ExpandEnv(const std::string& text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '$') {
      out += text[i];
      continue;
    }
    if (i + 1 < text.size() && text[i + 1] == '$') {
      out += '$';
      ++i;
      continue;
    }
    if (i + 1 < text.size() && text[i + 1] == '{') {
      size_t end = text.find('}', i + 2);
      if (end == std::string::npos) return InvalidArgumentError("unterminated ${ in '" + text + "'");
      std::string name = text.substr(i + 2, end - i - 2);
      const char* v = std::getenv(name.c_str());
      if (!v) return InvalidArgumentError("environment variable " + name + " is not set (used as ${" + name + "})");
      out += v;
      i = end;
      continue;
    }
    out += '$';
  }
  return out;
}

}  // namespace ward::plan
