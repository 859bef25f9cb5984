// PostgreSQL logical backups (SPEC F12) and restores into a new database
// (F22), with the recovery point each backup was taken at (F44).
//
// Backup: PostgresLogicalSource presents one file, `<db>.pgdump`, a pg_dump
// archive in custom format, uncompressed (ward's own zstd and dedup do better
// than pg_dump's zlib; an unchanged table dedups against the last snapshot).
// Opening it connects with libpq, starts a REPEATABLE READ READ ONLY
// transaction and exports its snapshot; pg_dump then dumps exactly that
// snapshot (--snapshot) while ward counts the rows of every table in the same
// snapshot on its own connection, so the recorded counts are exact for the
// dump. pg_dump's stdout streams straight into the repository (no temporary
// file); its exit status decides whether the snapshot is written. The
// position records the WAL insert LSN, a named restore point (when the role
// may create one), server version, database, encoding and the row counts.
//
// Restore: PostgresRestoreTarget creates a new database (never touches an
// existing one), feeds the archive to pg_restore's stdin as it is read from
// the repository, counts the rows of every restored table and compares them
// with the counts recorded at backup time. With swap it then renames the live
// database to <live>_old_<YYYYmmddHHMMSS> (UTC) and the restored one to
// <live>, both in one transaction: the old database is always kept.
//
// Passwords come only from PGPASSWORD or ~/.pgpass (read by libpq, pg_dump
// and pg_restore themselves); a DSN holding one is refused, and no secret is
// ever put in a child's argv, a log line or an error message.
//
// Thread safety: a source or target is used by one thread at a time.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/status.h"
#include "plan/plan.h"
#include "source/registry.h"
#include "source/kind.h"
#include "source/source.h"

namespace ward::source {

struct PostgresSourceOptions {
  std::string dsn;                  // postgresql://user@host:port/db; must name the database
  bool schema_only = false;         // pg_dump --schema-only
  std::vector<std::string> tables;  // [schema.]name each; empty: the whole database
  std::string pg_dump;         // empty: /usr/lib/postgresql/<server major>/bin/pg_dump, else PATH
  bool forward_stderr = true;  // also copy pg_dump's stderr to ours
  std::string label = "postgres";  // names the source in error messages
};

// Plan keys: dsn (required), mode ("logical"; "physical" is not supported
// yet), schema_only, tables, pg_dump.
Result<std::unique_ptr<Source>> MakePostgresSource(const plan::PlanSource& ps);
Result<std::unique_ptr<Source>> MakePostgresSource(const PostgresSourceOptions& options);
const SourceKind& PostgresKind();  // kind = "postgres" and its plan keys

struct PostgresRestoreOptions {
  std::string to;                   // DSN of the database to create (--to)
  std::vector<std::string> tables;  // restore only these ([schema.]name, SQL case rules)
  bool swap = false;                // after the checks: live -> <live>_old_<time>, new -> live
  // Swap: the live database; empty means position["database"] (the database
  // the snapshot was taken from).
  std::string live;
  // Swap: terminate the sessions connected to the live database instead of
  // refusing to swap while there are any.
  bool terminate_connections = false;
  // pg_restore --no-owner --no-privileges: every object belongs to the
  // restoring role. Default false: owners and grants are restored as dumped,
  // which a swapped-in database needs for the application's roles to work;
  // the roles must then exist on the target server.
  bool no_owner = false;
  // The position recorded for this source in the snapshot (see
  // PostgresPosition). Its row_counts are what the restore is checked
  // against; encoding/lc_collate/lc_ctype/owner shape CREATE DATABASE. Swap
  // needs it. Without it, counts are reported but not checked.
  nlohmann::json position = nlohmann::json::object();
  std::string pg_restore;      // empty: matching the target server's major, else PATH
  bool forward_stderr = true;  // also copy pg_restore's stderr to ours
};

Result<std::unique_ptr<RestoreTarget>> MakePostgresRestoreTarget(
    const PostgresRestoreOptions& options);
// From the CLI's options; `position` as for PostgresRestoreOptions.
Result<std::unique_ptr<RestoreTarget>> MakePostgresRestoreTarget(
    const RestoreTargetOptions& options, const nlohmann::json& position);
// Without a recorded position: counts are reported, not checked; no swap.
Result<std::unique_ptr<RestoreTarget>> MakePostgresRestoreTarget(
    const RestoreTargetOptions& options);

// The position of a PostgreSQL source inside a snapshot's `sources` JSON:
// the object itself for a single-source snapshot, sources[part]["position"]
// for a plan snapshot (`part` is the plan source's name, e.g. "postgres"; when
// empty, the only part of kind postgres). An empty object if none is found.
nlohmann::json PostgresPosition(const nlohmann::json& sources, const std::string& part);

}  // namespace ward::source
