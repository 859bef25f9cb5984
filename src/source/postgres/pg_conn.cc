#include "source/postgres/pg_conn.h"

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <ctime>

namespace ward::source::pg {

namespace {

void IgnoreNotice(void*, const char*) {}

std::string OneLine(std::string s) {
  for (auto& c : s) {
    if (c == '\n' || c == '\t' || c == '\r') c = ' ';
  }
  std::string out;
  for (char c : s) {
    if (c == ' ' && !out.empty() && out.back() == ' ') continue;
    out += c;
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

bool Has(const std::string& s, const char* what) { return s.find(what) != std::string::npos; }

// libpq's connection error without its "connection to server at ... failed:"
// and "FATAL:" prefixes (ward names the server itself).
std::string Reason(const std::string& msg) {
  std::string m = msg;
  size_t f = m.find(" failed: ");
  if (m.rfind("connection to server", 0) == 0 && f != std::string::npos) m = m.substr(f + 9);
  // With several hosts or addresses libpq lists one failure per line; the
  // last one is the most telling.
  size_t last = m.find_last_of('\n', m.size() > 1 ? m.size() - 2 : 0);
  if (last != std::string::npos && m.find("connection to server", last) != std::string::npos) {
    return Reason(m.substr(last + 1));
  }
  for (const char* p : {"FATAL:  ", "FATAL: ", "ERROR:  "}) {
    if (m.rfind(p, 0) == 0) m = m.substr(std::strlen(p));
  }
  return OneLine(m);
}

StatusCode CodeForSqlState(const std::string& state) {
  if (state == "42501" || state.rfind("28", 0) == 0) return StatusCode::kPermissionDenied;
  if (state == "42P01" || state == "3D000" || state == "42704" || state == "3F000") {
    return StatusCode::kNotFound;
  }
  if (state == "42P04" || state == "42P07") return StatusCode::kAlreadyExists;
  if (state == "55006" || state == "55P03" || state == "25006")
    return StatusCode::kFailedPrecondition;
  if (state.rfind("08", 0) == 0 || state.rfind("57P", 0) == 0 || state == "53300") {
    return StatusCode::kUnavailable;
  }
  if (state == "40001" || state == "40P01") return StatusCode::kAborted;
  if (state.rfind("42", 0) == 0 || state.rfind("22", 0) == 0) return StatusCode::kInvalidArgument;
  return StatusCode::kUnknown;
}

}  // namespace

Result<std::unique_ptr<PgConn>> PgConn::Connect(const ConnInfo& info, const std::string& dbname) {
  auto params = info.Params(dbname);
  bool has_app = false;
  for (const auto& [k, v] : params)
    has_app |= k == "application_name" || k == "fallback_application_name";
  if (!has_app) params.emplace_back("fallback_application_name", "ward");
  std::vector<const char*> keys, values;
  for (const auto& [k, v] : params) {
    keys.push_back(k.c_str());
    values.push_back(v.c_str());
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);
  PGconn* c = PQconnectdbParams(keys.data(), values.data(), 0);
  if (c == nullptr) return ResourceExhaustedError("libpq could not allocate a connection");
  const std::string db = dbname.empty() ? info.dbname() : dbname;
  if (PQstatus(c) == CONNECTION_OK) {
    PQsetNoticeProcessor(c, IgnoreNotice, nullptr);
    std::string where = "database '" + std::string(PQdb(c)) + "' at " + info.Endpoint();
    return std::unique_ptr<PgConn>(new PgConn(c, std::move(where)));
  }
  const std::string msg = PQerrorMessage(c);
  const std::string user = PQuser(c) ? PQuser(c) : "";
  const bool needs_password = PQconnectionNeedsPassword(c) != 0 || Has(msg, "no password supplied");
  PQfinish(c);
  const std::string at = "PostgreSQL at " + info.Endpoint();
  const std::string who = " (database '" + db + "', user '" + user + "')";
  std::string timeout = info.Get("connect_timeout");
  if (timeout.empty()) timeout = std::to_string(kDefaultConnectTimeoutSeconds);

  if (needs_password) {
    return PermissionDeniedError(at + " asks for a password for user '" + user +
                                 "' and none was given: set PGPASSWORD, or add a line "
                                 "host:port:dbname:user:password to ~/.pgpass (mode 0600)");
  }
  if (Has(msg, "password authentication failed") || Has(msg, "SCRAM authentication failed")) {
    return PermissionDeniedError(at + ": wrong password for user '" + user + "'" +
                                 (db.empty() ? "" : " (database '" + db + "')") +
                                 ": check PGPASSWORD or the matching line in ~/.pgpass");
  }
  if (Has(msg, "database \"") && Has(msg, "\" does not exist")) {
    return NotFoundError("database '" + db + "' does not exist at " + info.Endpoint() +
                         ": check the database name in the DSN");
  }
  if (Has(msg, "role \"") && Has(msg, "\" does not exist")) {
    return NotFoundError(at + ": role '" + user +
                         "' does not exist: check the user name in the DSN");
  }
  if (Has(msg, "permission denied for database")) {
    return PermissionDeniedError(at + ": user '" + user + "' may not connect to database '" + db +
                                 "': GRANT CONNECT ON DATABASE to it");
  }
  if (Has(msg, "no pg_hba.conf entry")) {
    return PermissionDeniedError(at + " refuses the connection" + who +
                                 ": its pg_hba.conf has no entry for this host, user and database");
  }
  if (Has(msg, "Connection refused")) {
    return UnavailableError("cannot connect to " + at + who +
                            ": connection refused: check the host and port, and that the server "
                            "is running and accepts TCP/IP connections");
  }
  if (Has(msg, "timeout expired")) {
    return UnavailableError("cannot connect to " + at + who + ": no answer within " + timeout +
                            " s: check the host, port and firewall (connect_timeout in the DSN "
                            "changes the wait)");
  }
  if (Has(msg, "could not translate host name")) {
    return UnavailableError("cannot connect to " + at + who +
                            ": unknown host name: check the host in the DSN");
  }
  if (Has(msg, "No route to host") || Has(msg, "Network is unreachable")) {
    return UnavailableError("cannot connect to " + at + who + ": host unreachable (" + Reason(msg) +
                            "): check the host and the network");
  }
  if (Has(msg, "starting up") || Has(msg, "shutting down") || Has(msg, "too many clients") ||
      Has(msg, "in recovery mode")) {
    return UnavailableError("cannot connect to " + at + who + ": " + Reason(msg) +
                            ": try again later");
  }
  if (Has(msg, "invalid ") || Has(msg, "unrecognized")) {
    return InvalidArgumentError("cannot connect to " + at + who + ": " + Reason(msg) +
                                ": check the DSN");
  }
  return UnavailableError("cannot connect to " + at + who + ": " + Reason(msg));
}

PgConn::~PgConn() {
  if (!conn_) return;
  // A query still running (rows being counted for an abandoned backup)
  // would go on scanning after we hang up: cancel it first.
  if (PQtransactionStatus(conn_) == PQTRANS_ACTIVE) {
    if (PGcancel* c = PQgetCancel(conn_)) {
      char err[256];
      PQcancel(c, err, sizeof err);
      PQfreeCancel(c);
    }
  }
  PQfinish(conn_);
}

Status PgConn::ErrorFrom(PGresult* r) const {
  if (r == nullptr || PQstatus(conn_) == CONNECTION_BAD) {
    return UnavailableError("lost the connection to " + where_ + ": " +
                            Reason(PQerrorMessage(conn_)));
  }
  const char* primary = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
  const char* hint = PQresultErrorField(r, PG_DIAG_MESSAGE_HINT);
  const char* state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
  std::string msg = where_ + ": " + OneLine(primary ? primary : PQresultErrorMessage(r));
  if (hint) msg += " (" + OneLine(hint) + ")";
  return Status(CodeForSqlState(state ? state : ""), msg);
}

Result<PgResult> PgConn::Exec(const std::string& sql,
                              const std::vector<std::optional<std::string>>& params) {
  PGresult* r;
  if (params.empty()) {
    r = PQexec(conn_, sql.c_str());
  } else {
    std::vector<const char*> values;
    for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
    r = PQexecParams(conn_, sql.c_str(), static_cast<int>(values.size()), nullptr, values.data(),
                     nullptr, nullptr, 0);
  }
  ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
  if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
    Status s = ErrorFrom(r);
    if (r) PQclear(r);
    return s;
  }
  return PgResult(r);
}

Status PgConn::Send(const std::string& sql) {
  if (PQsendQuery(conn_, sql.c_str()) != 1) return ErrorFrom(nullptr);
  return Status::OK();
}

Result<std::vector<PgResult>> PgConn::Collect() {
  std::vector<PgResult> out;
  Status first_error;
  for (;;) {
    PGresult* r = PQgetResult(conn_);
    if (r == nullptr) break;
    ExecStatusType st = PQresultStatus(r);
    if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
      out.emplace_back(r);
      continue;
    }
    if (first_error.ok()) first_error = ErrorFrom(r);
    PQclear(r);
    if (PQstatus(conn_) == CONNECTION_BAD) break;
  }
  if (!first_error.ok()) return first_error;
  return out;
}

std::string FindPgTool(const std::string& name, int server_version, const std::string& configured,
                       const std::function<bool(const std::string&)>& executable) {
  if (!configured.empty()) return configured;
  auto is_exec =
      executable ? executable : [](const std::string& p) { return ::access(p.c_str(), X_OK) == 0; };
  // 10 and later: major = version / 10000; 9.x: "9.6".
  auto major_of = [](int v) {
    return v >= 100000 ? std::to_string(v / 10000)
                       : std::to_string(v / 10000) + "." + std::to_string((v / 100) % 100);
  };
  const std::string base = "/usr/lib/postgresql/";
  if (server_version > 0) {
    std::string exact = base + major_of(server_version) + "/bin/" + name;
    if (is_exec(exact)) return exact;
  }
  // Installed majors, oldest first; the first one at least as new as the server.
  std::vector<std::pair<double, std::string>> majors;
  if (DIR* d = ::opendir(base.c_str())) {
    while (dirent* e = ::readdir(d)) {
      std::string m = e->d_name;
      if (m.empty() || !std::isdigit(static_cast<unsigned char>(m[0]))) continue;
      majors.emplace_back(std::atof(m.c_str()), m);
    }
    ::closedir(d);
  }
  std::sort(majors.begin(), majors.end());
  double want = server_version >= 100000 ? server_version / 10000 : server_version / 10000.0;
  for (const auto& [v, m] : majors) {
    std::string p = base + m + "/bin/" + name;
    if (v >= want && is_exec(p)) return p;
  }
  return name;
}

std::string UtcNow(const char* format) {
  std::time_t t = std::time(nullptr);
  std::tm tm;
  ::gmtime_r(&t, &tm);
  char buf[64];
  size_t n = std::strftime(buf, sizeof buf, format, &tm);
  return std::string(buf, n);
}

}  // namespace ward::source::pg
