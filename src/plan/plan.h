// Plan files: one TOML file describes a service — its repository, sources,
// objectives, retention and validation checks (SPEC §9). This module parses
// and validates a plan; it knows nothing about how a source is read.
//
// Secrets never live in a plan: a source names the environment variable, file
// or command that holds them (password_env, PGPASSWORD/~/.pgpass, ...), and
// ${VAR} in a command line is expanded from the environment only when the
// command runs.
//
// Thread safety: plain values.
#pragma once

#include <nlohmann/json.hpp>

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "plan/schedule.h"

namespace ward::plan {

struct Objectives {
  std::optional<int64_t> rpo_ns, rto_ns;
};

struct PlanSource {
  std::string name;  // lands under <name>/ in the snapshot
  std::string kind;  // files | command | postgres | redis | s3
  nlohmann::json config = nlohmann::json::object();  // every key of the [[source]] table
  std::optional<Schedule> schedule;
  Objectives objectives;  // falls back to [defaults]
  // Where it was written, for messages: the plan file, the line of its
  // [[source]] header and of each key.
  std::string plan_path;
  int line = 0;
  std::map<std::string, int> key_lines;

  // Typed accessors for config keys; kInvalidArgument naming the source and
  // key when present with the wrong type; `required` makes absence an error.
  Result<std::string> String(const std::string& key, bool required = false,
                             const std::string& fallback = "") const;
  Result<std::vector<std::string>> Strings(const std::string& key, bool required = false) const;
  Result<bool> Bool(const std::string& key, bool fallback = false) const;
  Result<int64_t> Int(const std::string& key, int64_t fallback = 0) const;
};

struct Plan {
  std::string path;  // the file it came from
  std::string service;
  std::string repository;
  std::string password_file;
  std::string password_command;
  Objectives defaults;
  std::vector<PlanSource> sources;
  nlohmann::json retention = nlohmann::json::object();
  std::vector<nlohmann::json> checks;

  const PlanSource* Find(const std::string& name) const;
};

// The keys every [[source]] may hold whatever its kind: name, kind,
// schedule, rpo, rto, verify_to. Each kind declares the rest beside its code
// (source/*/), and the registry checks a source against both.
const std::vector<std::string>& CommonSourceKeys();

// kInvalidArgument for the first key of `ps` that is neither common nor one of
// `kind_keys`: "plan.toml:12: unknown key 'excludes' in [[source]] 'web'
// (did you mean 'exclude'?)", or, with nothing close, the keys it takes.
Status CheckSourceKeys(const PlanSource& ps, const std::vector<std::string>& kind_keys);

// The candidate closest to `word` (transpositions count as one edit) if it is
// within 1 edit (words of up to 4 letters) or 2; "" otherwise.
std::string DidYouMean(std::string_view word, const std::vector<std::string>& candidates);

// Reads and validates a plan. Errors are one line naming the file, the line
// (for TOML syntax errors, unknown keys and bad schedules) or the source and
// key, and what to write instead. Unknown keys at the top level, in
// [defaults] and in [retention] are errors here; a [[source]]'s keys depend
// on its kind and are checked by the registry (source/registry.h).
Result<Plan> LoadPlan(const std::string& path);
Result<Plan> ParsePlan(const std::string& text, const std::string& path);

// Expands ${VAR} (and $$ for a literal $) from the environment. An unset
// variable is an error naming it.
Result<std::string> ExpandEnv(const std::string& text);

}  // namespace ward::plan
