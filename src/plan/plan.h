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

#include <optional>
#include <string>
#include <vector>

#include "base/status.h"

namespace ward::plan {

struct Objectives {
  std::optional<int64_t> rpo_ns, rto_ns;
};

struct PlanSource {
  std::string name;  // lands under <name>/ in the snapshot
  std::string kind;  // files | command | postgres | redis | s3
  nlohmann::json config = nlohmann::json::object();  // every key of the [[source]] table
  std::string schedule;
  Objectives objectives;  // falls back to [defaults]

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

// Reads and validates a plan. Errors are one line naming the file, the line
// (for TOML syntax errors) or the source and key, and what to write instead.
Result<Plan> LoadPlan(const std::string& path);
Result<Plan> ParsePlan(const std::string& text, const std::string& path);

// Expands ${VAR} (and $$ for a literal $) from the environment. An unset
// variable is an error naming it.
Result<std::string> ExpandEnv(const std::string& text);

}  // namespace ward::plan
