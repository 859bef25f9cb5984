// PostgreSQL connection strings as ward accepts them, and SQL quoting.
//
// A DSN is either a URI (postgresql://user@host:port/db?sslmode=require) or
// libpq's key=value form; libpq's own parser reads both, so ward accepts
// exactly what psql and pg_dump accept. One rule is ward's: a DSN must not
// hold a password (nor an SSL key passphrase). Plans and command lines end
// up in shell history, process lists and logs; passwords come from
// PGPASSWORD or ~/.pgpass, which libpq, pg_dump and pg_restore read
// themselves. A ConnInfo therefore never holds a secret, and every string it
// renders may be logged or passed in a child's argv.
//
// Internal to src/source/postgres (callers use postgres.h).
// Thread safety: plain values and pure functions.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace ward::source::pg {

// Seconds libpq waits for a server before giving up, unless the DSN or
// PGCONNECT_TIMEOUT says otherwise: an unreachable host must fail a backup
// quickly, not after the kernel's TCP timeout of two minutes.
inline constexpr int kDefaultConnectTimeoutSeconds = 10;

class ConnInfo {
 public:
  ConnInfo() = default;

  // Parses `dsn` (URI or key=value). `what` names it in error messages
  // ("source 'db': dsn", "--to"). kInvalidArgument on a syntax error and on
  // any password or sslpassword in it; the message never repeats the DSN.
  static Result<ConnInfo> Parse(const std::string& dsn, const std::string& what);

  // The value of a libpq keyword set in the DSN; "" if unset.
  std::string Get(const std::string& key) const;
  std::string dbname() const { return Get("dbname"); }

  // "host:port" as libpq will use them (PGHOST/PGPORT and the defaults
  // applied), for messages.
  std::string Endpoint() const;
  // "database 'db' at host:port" (or "at host:port" when `db` is empty).
  std::string Describe(const std::string& db) const;
  std::string Describe() const { return Describe(dbname()); }

  // The parameters for PQconnectdbParams: every keyword set in the DSN, with
  // dbname replaced by `dbname` when it is not empty, and connect_timeout
  // defaulted.
  std::vector<std::pair<std::string, std::string>> Params(const std::string& dbname = "") const;
  // The same as one key=value connection string, each value quoted, for
  // `pg_dump --dbname=...`. Holds no secret.
  std::string ToConninfo(const std::string& dbname = "") const;

 private:
  std::vector<std::pair<std::string, std::string>> params_;
};

// "name" -> "\"name\"": always quoted, so case and special characters
// survive; a double quote inside is doubled. Usable wherever SQL takes an
// identifier, and as an exact (wildcard-free) pg_dump -t pattern part.
std::string QuoteIdent(std::string_view name);
// A SQL string literal ('it''s'; E'...' when it holds a backslash). Only for
// statements that take no bind parameters (CREATE DATABASE options).
std::string QuoteLiteral(std::string_view text);

// A possibly schema-qualified relation name.
struct QualifiedName {
  std::string schema;  // "" when not given
  std::string name;
  bool operator==(const QualifiedName&) const = default;
  // "\"schema\".\"name\"" (or just "\"name\"").
  std::string Quoted() const;
};

// Parses "[schema.]name" as SQL does: unquoted parts fold to lower case,
// "double-quoted" parts are taken as written ("" inside for a quote).
// kInvalidArgument (naming `text`) on anything else, e.g. "a.b.c", "a b".
Result<QualifiedName> ParseQualifiedName(std::string_view text);

// Splits "a,b , c" into trimmed names, keeping commas inside double quotes;
// empty items are dropped.
std::vector<std::string> SplitTableList(std::string_view text);

}  // namespace ward::source::pg
