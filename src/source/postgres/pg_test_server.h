// PgTestServer: the real PostgreSQL the integration tests run against.
//
// Started once per test binary by scripts/start-postgres.sh (server programs
// from PG_BIN, else /usr/lib/postgresql/15/bin or the newest installed) in its
// own temporary directory, on a free loopback port, with md5 authentication: the
// superuser's password is put in PGPASSWORD for this process (and so for the
// pg_dump/pg_restore it starts), as operators do. The cluster is stopped and
// deleted when the tests end. Tests use WARD_REQUIRE_POSTGRES() in SetUp:
// without the server binaries a test is skipped locally, and fails when the
// CI environment variable is set.
//
// Test-only. Thread safety: set up once; then read-only.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "base/status.h"

namespace ward::source::pg {

class PgTestServer {
 public:
  // The shared server, started on first use. nullptr if it cannot run here;
  // *missing then says whether that is because PostgreSQL is not installed
  // (a skip outside CI) or because starting it failed (always a failure).
  static PgTestServer* Get(std::string* why, bool* missing);

  int port() const { return port_; }
  const std::string& bin() const { return bin_; }            // server programs
  const std::string& password() const { return password_; }  // the superuser's
  // postgresql://user@127.0.0.1:port/db (no password: PGPASSWORD has it).
  std::string Dsn(const std::string& db, const std::string& user = "postgres") const;

  // Runs SQL (one or more statements) as the superuser in `db`.
  Status Exec(const std::string& db, const std::string& sql) const;
  // The rows of a query, each column as text ("" for NULL).
  Result<std::vector<std::vector<std::string>>> Query(const std::string& db,
                                                      const std::string& sql) const;
  // The first column of the first row ("" if none); fails the test on error.
  std::string Value(const std::string& db, const std::string& sql) const;
  // Runs a shell command line with this server's PG* settings; its exit status.
  int Shell(const std::string& command) const;

  void Stop();

 private:
  int port_ = 0;
  std::string base_, bin_, password_, script_;
};

}  // namespace ward::source::pg

// In a fixture's SetUp: sets `server`, or skips/fails the test.
#define WARD_REQUIRE_POSTGRES(server)                                                   \
  do {                                                                                  \
    std::string ward_pg_why_;                                                           \
    bool ward_pg_missing_ = false;                                                      \
    (server) = ::ward::source::pg::PgTestServer::Get(&ward_pg_why_, &ward_pg_missing_); \
    if ((server) == nullptr) {                                                          \
      if (ward_pg_missing_ && std::getenv("CI") == nullptr) {                           \
        GTEST_SKIP() << "PostgreSQL integration tests skipped: " << ward_pg_why_        \
                     << "; install it with scripts/install-deps.sh --test";             \
      }                                                                                 \
      FAIL() << "PostgreSQL integration tests cannot run"                               \
             << (ward_pg_missing_ ? " (CI is set, so this is a failure): " : ": ")      \
             << ward_pg_why_;                                                           \
    }                                                                                   \
  } while (0)
