// PgConn: one libpq connection, with every failure turned into a one-line
// Status that names the server and database and says what to check (a wrong
// password, a missing database, a refused or silent port). Passwords are
// left to libpq (PGPASSWORD, ~/.pgpass); the connection never prompts.
//
// Internal to src/source/postgres.
// Thread safety: a PgConn is used by one thread at a time; PgResult values
// are immutable.
#pragma once

#include <libpq-fe.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "source/postgres/dsn.h"

namespace ward::source::pg {

// The rows of one successful query.
class PgResult {
 public:
  explicit PgResult(PGresult* r) : r_(r, PQclear) {}
  int rows() const { return PQntuples(r_.get()); }
  int columns() const { return PQnfields(r_.get()); }
  bool IsNull(int row, int col) const { return PQgetisnull(r_.get(), row, col) != 0; }
  std::string Get(int row, int col) const { return PQgetvalue(r_.get(), row, col); }

 private:
  std::shared_ptr<PGresult> r_;
};

class PgConn {
 public:
  // Connects to `info`, to database `dbname` instead of the DSN's when not
  // empty. Failures: kPermissionDenied (wrong or missing password, rejected
  // by pg_hba.conf), kNotFound (no such database or role), kUnavailable
  // (refused, unreachable, timed out, server starting up), kInvalidArgument.
  static Result<std::unique_ptr<PgConn>> Connect(const ConnInfo& info,
                                                 const std::string& dbname = "");
  ~PgConn();
  PgConn(const PgConn&) = delete;
  PgConn& operator=(const PgConn&) = delete;

  // Runs one statement (with $1... bound to `params`; nullopt is NULL) and
  // returns its rows. Errors name the database and carry PostgreSQL's
  // message and hint, mapped to a code by SQLSTATE.
  Result<PgResult> Exec(const std::string& sql,
                        const std::vector<std::optional<std::string>>& params = {});

  // Sends `sql` (one or more statements separated by ';') without waiting;
  // Collect() then waits for all their results. Only one at a time, and
  // nothing else may run on the connection in between.
  Status Send(const std::string& sql);
  Result<std::vector<PgResult>> Collect();

  // e.g. 150004 for 15.4.
  int server_version() const { return PQserverVersion(conn_); }
  // "database 'x' at host:port", as connected.
  const std::string& where() const { return where_; }

 private:
  PgConn(PGconn* c, std::string where) : conn_(c), where_(std::move(where)) {}
  // A Status for a failed result (or a lost connection when r is null).
  Status ErrorFrom(PGresult* r) const;

  PGconn* conn_;
  std::string where_;
};

// The PostgreSQL client program `name` (pg_dump, pg_restore) to use against
// a server of `server_version` (PQserverVersion): `configured` if set; else
// Debian's /usr/lib/postgresql/<major>/bin/<name> for the server's major
// version, else the oldest installed one newer than it (newer clients read
// older servers; older ones refuse newer servers); else `name` from PATH.
std::string FindPgTool(const std::string& name, int server_version, const std::string& configured,
                       const std::function<bool(const std::string&)>& executable = nullptr);

// The current UTC time formatted with strftime's `format`.
std::string UtcNow(const char* format);

}  // namespace ward::source::pg
