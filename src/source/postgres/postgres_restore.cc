// PostgresRestoreTarget: see postgres.h.
#include <cctype>
#include <chrono>
#include <cmath>
#include <map>
#include <optional>
#include <set>
#include <thread>

#include "source/postgres/command_writer.h"
#include "source/postgres/dsn.h"
#include "source/postgres/pg_conn.h"
#include "source/postgres/postgres.h"

namespace ward::source {

namespace {

using pg::PgConn;
using pg::QualifiedName;

constexpr size_t kStreamBuffer = 1 << 20;
constexpr int kMaxNameBytes = 63;  // NAMEDATALEN - 1

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Cuts a UTF-8 string to at most `n` bytes without splitting a character.
std::string CutUtf8(const std::string& s, size_t n) {
  if (s.size() <= n) return s;
  size_t i = n;
  while (i > 0 && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) --i;
  return s.substr(0, i);
}

double Seconds(std::chrono::steady_clock::time_point a, std::chrono::steady_clock::time_point b) {
  return std::round(std::chrono::duration<double>(b - a).count() * 1000) / 1000;
}

std::string JoinNames(const std::vector<std::string>& names, size_t max) {
  std::string out;
  for (size_t i = 0; i < names.size() && i < max; ++i) out += (i ? ", " : "") + names[i];
  if (names.size() > max) out += ", ... (" + std::to_string(names.size()) + " in all)";
  return out;
}

class PostgresRestoreTarget : public RestoreTarget {
 public:
  static Result<std::unique_ptr<RestoreTarget>> Create(const PostgresRestoreOptions& options);

  Status RestoreFile(const std::string& path, const repo::Node& node, Reader& content) override;
  Result<nlohmann::json> Finish() override;
  std::string Summary() const override { return summary_; }

 private:
  explicit PostgresRestoreTarget(PostgresRestoreOptions o) : o_(std::move(o)) {}

  std::string Where() const { return info_.Describe(db_); }
  Result<bool> DatabaseExists(PgConn& admin, const std::string& name);
  Status CreateDatabase(PgConn& admin);
  Status CreateSchemas();
  void ApplyDatabaseProperties(PgConn& admin);
  Status RunPgRestore(Reader& content, int server_version);
  void DropCreated(PgConn& admin);
  Status Swap(nlohmann::json* report);

  PostgresRestoreOptions o_;
  pg::ConnInfo info_;
  std::string db_;                     // the database restored into
  std::string live_;                   // swap: the live database
  std::string maintenance_db_;         // where CREATE/ALTER DATABASE run
  std::vector<QualifiedName> tables_;  // chosen tables
  bool checked_ = false;               // the snapshot recorded row counts
  std::map<std::string, int64_t> expected_;
  bool attempted_ = false, restored_ = false;
  std::vector<std::string> applied_, skipped_;         // database settings and grants
  nlohmann::json timings_ = nlohmann::json::object();  // seconds per step, for RTO reports
  std::string summary_;                                // set by a successful Finish
};

Result<std::unique_ptr<RestoreTarget>> PostgresRestoreTarget::Create(
    const PostgresRestoreOptions& options) {
  std::unique_ptr<PostgresRestoreTarget> t(new PostgresRestoreTarget(options));
  WARD_ASSIGN_OR_RETURN(t->info_, pg::ConnInfo::Parse(options.to, "--to"));
  t->db_ = t->info_.dbname();
  if (t->db_.empty()) {
    return InvalidArgumentError(
        "--to must name the new database to restore into, e.g. "
        "postgresql://user@host:5432/app_restored");
  }
  if (t->db_.size() > kMaxNameBytes) {
    return InvalidArgumentError("--to: database name '" + t->db_ + "' is longer than 63 bytes");
  }
  for (const auto& item : options.tables) {
    for (const auto& name : pg::SplitTableList(item)) {
      auto q = pg::ParseQualifiedName(name);
      if (!q.ok()) return q.status().WithContext("--tables");
      if (std::find(t->tables_.begin(), t->tables_.end(), *q) == t->tables_.end())
        t->tables_.push_back(*q);
    }
  }
  const nlohmann::json& pos = options.position;
  if (!pos.is_object())
    return InvalidArgumentError("the snapshot's recorded position is not a JSON object");
  if (pos.contains("row_counts") && pos["row_counts"].is_object()) {
    t->checked_ = true;
    std::vector<std::string> all;
    for (const auto& [key, n] : pos["row_counts"].items()) {
      if (!n.is_number_integer()) {
        return InvalidArgumentError("the snapshot's row count for '" + key + "' is not a number");
      }
      all.push_back(key);
    }
    // pg_restore selects by plain name (-t) and schema (-n): with any
    // unqualified name it restores that name from every schema, and with
    // only qualified names every chosen name from every chosen schema. The
    // check covers exactly what it will restore.
    bool all_qualified = true;
    std::set<std::string> schemas, names;
    for (const auto& q : t->tables_) {
      all_qualified &= !q.schema.empty();
      schemas.insert(q.schema);
      names.insert(q.name);
    }
    std::set<size_t> used;
    for (const auto& key : all) {
      auto k = pg::ParseQualifiedName(key);
      if (!k.ok())
        return InvalidArgumentError("the snapshot's table name '" + key + "' cannot be parsed");
      bool wanted = t->tables_.empty() ||
                    (names.count(k->name) && (!all_qualified || schemas.count(k->schema)));
      if (!wanted) continue;
      t->expected_[key] = pos["row_counts"][key].get<int64_t>();
      for (size_t i = 0; i < t->tables_.size(); ++i) {
        const auto& q = t->tables_[i];
        if (q.name == k->name && (q.schema.empty() || q.schema == k->schema)) used.insert(i);
      }
    }
    for (size_t i = 0; i < t->tables_.size(); ++i) {
      if (!used.count(i)) {
        return NotFoundError(
            "--tables: '" + t->tables_[i].Quoted() +
            "' is not a table in this snapshot's dump (it has: " + JoinNames(all, 8) + ")");
      }
    }
  }
  if (options.swap) {
    if (!t->checked_) {
      return FailedPreconditionError(
          "--swap needs the row counts recorded in the snapshot, to check the restored database "
          "before the "
          "live one is renamed; this snapshot has none");
    }
    t->live_ = options.live;
    if (t->live_.empty() && pos.contains("database") && pos["database"].is_string()) {
      t->live_ = pos["database"].get<std::string>();
    }
    if (t->live_.empty())
      return InvalidArgumentError("--swap: the snapshot does not name its live database");
    if (t->live_ == t->db_) {
      return InvalidArgumentError("--swap: restore into a new database (e.g. " + t->live_ +
                                  "_restored), not into the live database '" + t->live_ +
                                  "' itself");
    }
    if (!t->tables_.empty()) {
      return InvalidArgumentError(
          "--swap cannot be combined with --tables: the restored database would "
          "replace the live one with only some of its tables");
    }
  }
  t->maintenance_db_ = (t->db_ == "postgres" || t->live_ == "postgres") ? "template1" : "postgres";
  return std::unique_ptr<RestoreTarget>(std::move(t));
}

Result<bool> PostgresRestoreTarget::DatabaseExists(PgConn& admin, const std::string& name) {
  WARD_ASSIGN_OR_RETURN(pg::PgResult r,
                        admin.Exec("SELECT 1 FROM pg_database WHERE datname = $1", {name}));
  return r.rows() > 0;
}

Status PostgresRestoreTarget::CreateDatabase(PgConn& admin) {
  const nlohmann::json& pos = o_.position;
  auto text = [&](const char* key) {
    return pos.contains(key) && pos[key].is_string() ? pos[key].get<std::string>() : std::string();
  };
  // template0: a dump restores into an empty database, never into one that
  // template1's extras would collide with (pg_dump's documentation). The
  // encoding and locale are the original database's, as pg_dump --create
  // would set them.
  std::string sql = "CREATE DATABASE " + pg::QuoteIdent(db_) + " TEMPLATE template0";
  if (!text("encoding").empty()) sql += " ENCODING " + pg::QuoteLiteral(text("encoding"));
  if (!text("lc_collate").empty()) sql += " LC_COLLATE " + pg::QuoteLiteral(text("lc_collate"));
  if (!text("lc_ctype").empty()) sql += " LC_CTYPE " + pg::QuoteLiteral(text("lc_ctype"));
  if (!o_.no_owner && !text("owner").empty()) {
    auto may = admin.Exec(
        "SELECT 1 FROM pg_roles WHERE rolname = $1 AND pg_has_role(current_user, oid, 'MEMBER')",
        {text("owner")});
    if (may.ok() && may->rows() > 0) sql += " OWNER " + pg::QuoteIdent(text("owner"));
  }
  Status s = admin.Exec(sql).status();
  if (!s.ok()) {
    return s.WithContext("creating database '" + db_ + "' (encoding " + text("encoding") +
                         ", locale " + text("lc_collate") + ", as the snapshot's database had)");
  }
  return Status::OK();
}

void PostgresRestoreTarget::DropCreated(PgConn& admin) {
  // Only ever the database this target created; FORCE ends a pg_restore
  // session that has not gone away yet (PostgreSQL 13 and later).
  std::string sql = "DROP DATABASE IF EXISTS " + pg::QuoteIdent(db_);
  if (admin.server_version() >= 130000) sql += " WITH (FORCE)";
  admin.Exec(sql).status().IgnoreError();
}

Status PostgresRestoreTarget::CreateSchemas() {
  // pg_restore --table restores a table but not the schema it lives in.
  if (tables_.empty()) return Status::OK();
  std::set<std::string> schemas;
  for (const auto& q : tables_) {
    if (!q.schema.empty()) schemas.insert(q.schema);
  }
  for (const auto& [key, n] : expected_) {
    auto k = pg::ParseQualifiedName(key);
    if (k.ok() && !k->schema.empty()) schemas.insert(k->schema);
  }
  schemas.erase("public");
  if (schemas.empty()) return Status::OK();
  WARD_ASSIGN_OR_RETURN(std::unique_ptr<PgConn> conn, PgConn::Connect(info_, db_));
  for (const auto& schema : schemas) {
    WARD_RETURN_IF_ERROR(
        conn->Exec("CREATE SCHEMA IF NOT EXISTS " + pg::QuoteIdent(schema)).status());
  }
  return Status::OK();
}

// Settings whose value is a list of separately quoted items (pg_dump's
// GUC_LIST_QUOTE set): ALTER ... SET search_path = 'a', 'b', not 'a, b'.
bool IsListSetting(const std::string& name) {
  return name == "search_path" || name == "temp_tablespaces" ||
         name == "session_preload_libraries" || name == "local_preload_libraries" ||
         name == "shared_preload_libraries";
}

// "name=value" as recorded from pg_db_role_setting -> "name TO value...".
std::optional<std::string> SettingClause(const std::string& setting) {
  size_t eq = setting.find('=');
  if (eq == std::string::npos || eq == 0) return std::nullopt;
  std::string name = setting.substr(0, eq), value = setting.substr(eq + 1);
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.') return std::nullopt;
  }
  std::string clause = pg::QuoteIdent(name) + " TO ";
  if (!IsListSetting(name)) return clause + pg::QuoteLiteral(value);
  std::vector<std::string> items;
  std::string cur;
  bool quoted = false;
  auto flush = [&] {
    size_t b = cur.find_first_not_of(' '), e = cur.find_last_not_of(' ');
    items.push_back(b == std::string::npos ? "" : cur.substr(b, e - b + 1));
    cur.clear();
  };
  for (size_t i = 0; i < value.size(); ++i) {
    char c = value[i];
    if (c == '"') {
      if (quoted && i + 1 < value.size() && value[i + 1] == '"') {
        cur += '"';
        ++i;
      } else {
        quoted = !quoted;
      }
    } else if (c == ',' && !quoted) {
      flush();
    } else {
      cur += c;
    }
  }
  flush();
  for (size_t i = 0; i < items.size(); ++i) clause += (i ? ", " : "") + pg::QuoteLiteral(items[i]);
  return clause;
}

void PostgresRestoreTarget::ApplyDatabaseProperties(PgConn& admin) {
  const nlohmann::json& pos = o_.position;
  auto role_exists = [&](const std::string& role) {
    auto r = admin.Exec("SELECT 1 FROM pg_roles WHERE rolname = $1", {role});
    return r.ok() && r->rows() > 0;
  };
  const std::string db = pg::QuoteIdent(db_);
  if (pos.contains("database_settings") && pos["database_settings"].is_array()) {
    for (const auto& s : pos["database_settings"]) {
      if (!s.is_object() || !s.contains("setting") || !s["setting"].is_string()) continue;
      const std::string setting = s["setting"].get<std::string>();
      const std::string role = s.value("role", "");
      auto clause = SettingClause(setting);
      if (!clause) {
        skipped_.push_back("setting " + setting + ": not understood");
        continue;
      }
      std::string sql = role.empty() ? "ALTER DATABASE " + db + " SET " + *clause
                                     : "ALTER ROLE " + pg::QuoteIdent(role) + " IN DATABASE " + db +
                                           " SET " + *clause;
      if (!role.empty() && !role_exists(role)) {
        skipped_.push_back(sql + ": role " + role + " does not exist here");
        continue;
      }
      Status st = admin.Exec(sql).status();
      (st.ok() ? applied_ : skipped_).push_back(st.ok() ? sql : sql + ": " + st.message());
    }
  }
  // Grants follow pg_restore's --no-privileges: not with no_owner.
  if (o_.no_owner || !pos.contains("database_grants") || !pos["database_grants"].is_array()) return;
  std::vector<std::string> stmts = {"REVOKE ALL ON DATABASE " + db + " FROM PUBLIC"};
  for (const auto& g : pos["database_grants"]) {
    if (!g.is_object()) continue;
    const std::string priv = g.value("privilege", "");
    const std::string grantee = g.value("grantee", "");
    if (priv != "CONNECT" && priv != "CREATE" && priv != "TEMPORARY") continue;
    std::string to = grantee.empty() ? "PUBLIC" : pg::QuoteIdent(grantee);
    std::string sql = "GRANT " + priv + " ON DATABASE " + db + " TO " + to +
                      (g.value("grantable", false) && !grantee.empty() ? " WITH GRANT OPTION" : "");
    if (!grantee.empty() && !role_exists(grantee)) {
      skipped_.push_back(sql + ": role " + grantee + " does not exist here");
      continue;
    }
    stmts.push_back(sql);
  }
  for (const auto& sql : stmts) {
    Status st = admin.Exec(sql).status();
    (st.ok() ? applied_ : skipped_).push_back(st.ok() ? sql : sql + ": " + st.message());
  }
}

Status PostgresRestoreTarget::RunPgRestore(Reader& content, int server_version) {
  const std::string bin = pg::FindPgTool("pg_restore", server_version, o_.pg_restore);
  std::vector<std::string> argv = {bin, "--dbname=" + info_.ToConninfo(db_), "--exit-on-error",
                                   "--no-password"};
  if (o_.no_owner) {
    argv.push_back("--no-owner");
    argv.push_back("--no-privileges");
  }
  bool all_qualified = true;
  for (const auto& q : tables_) all_qualified &= !q.schema.empty();
  std::set<std::string> schemas;
  for (const auto& q : tables_) {
    if (all_qualified && schemas.insert(q.schema).second) argv.push_back("--schema=" + q.schema);
  }
  for (const auto& q : tables_) argv.push_back("--table=" + q.name);

  auto w = pg::CommandWriter::Start(argv, o_.forward_stderr);
  if (!w.ok()) {
    if (w.status().code() == StatusCode::kNotFound) {
      return NotFoundError(
          "'" + bin +
          "' not found: install the PostgreSQL client programs (Debian: postgresql-client-" +
          std::to_string(server_version / 10000) + ")");
    }
    return w.status();
  }
  Bytes buf(kStreamBuffer);
  for (;;) {
    auto n = content.Read(std::span<uint8_t>(buf.data(), buf.size()));
    if (!n.ok()) return n.status().WithContext("reading the dump from the repository");
    if (*n == 0) break;
    Status s = (*w)->Write(ByteView(buf.data(), *n));
    if (s.code() == StatusCode::kCancelled) break;  // pg_restore has all it needs, or failed
    if (!s.ok()) return s;
  }
  Status fin = (*w)->Finish();
  if (!fin.ok()) {
    std::string hint;
    const std::string& m = fin.message();
    if (m.find("role \"") != std::string::npos && m.find("does not exist") != std::string::npos) {
      hint =
          "; the dump's owners must exist on this server: create those roles, or restore with "
          "no_owner";
    } else if (m.find("must be owner") != std::string::npos ||
               m.find("permission denied") != std::string::npos) {
      hint = "; restore as a superuser or the owner of the dumped objects, or with no_owner";
    } else if (m.find("unsupported version") != std::string::npos) {
      hint = "; the dump comes from a newer PostgreSQL: use a newer pg_restore and server";
    }
    return Status(fin.code(), fin.message() + hint);
  }
  return Status::OK();
}

Status PostgresRestoreTarget::RestoreFile(const std::string& path, const repo::Node&,
                                          Reader& content) {
  if (attempted_) {
    return InvalidArgumentError(
        "the restored path holds more than one file: restore one PostgreSQL dump at a "
        "time (e.g. SNAPSHOT:postgres)");
  }
  attempted_ = true;
  if (!EndsWith(path, ".pgdump")) {
    return InvalidArgumentError("'" + path +
                                "' is not a PostgreSQL dump made by ward (*.pgdump): restore it "
                                "with --target DIR instead");
  }
  auto connected = PgConn::Connect(info_, maintenance_db_);
  if (!connected.ok() && connected.status().code() == StatusCode::kNotFound &&
      maintenance_db_ == "postgres") {
    // A server without the default 'postgres' database: template1 is always there.
    maintenance_db_ = "template1";
    connected = PgConn::Connect(info_, maintenance_db_);
  }
  if (!connected.ok()) return connected.status();
  std::unique_ptr<PgConn> admin = std::move(*connected);
  WARD_ASSIGN_OR_RETURN(bool exists, DatabaseExists(*admin, db_));
  if (exists) {
    return AlreadyExistsError(Where() +
                              " already exists: ward restores only into a new database; pick "
                              "another name in --to, or drop it first (DROP DATABASE " +
                              pg::QuoteIdent(db_) + ")");
  }
  if (o_.swap) {
    WARD_ASSIGN_OR_RETURN(bool live, DatabaseExists(*admin, live_));
    if (!live) {
      return NotFoundError("--swap: there is no live database '" + live_ + "' at " +
                           info_.Endpoint() + " to replace (the snapshot was taken from '" + live_ +
                           "')");
    }
  }
  const auto t0 = std::chrono::steady_clock::now();
  WARD_RETURN_IF_ERROR(CreateDatabase(*admin));
  const auto t1 = std::chrono::steady_clock::now();
  Status s = CreateSchemas();
  if (s.ok()) s = RunPgRestore(content, admin->server_version());
  timings_["create_database_s"] = Seconds(t0, t1);
  timings_["pg_restore_s"] = Seconds(t1, std::chrono::steady_clock::now());
  if (!s.ok()) {
    DropCreated(*admin);
    return s.WithContext("restoring into " + Where() + " (the new database was dropped again)");
  }
  ApplyDatabaseProperties(*admin);
  restored_ = true;
  return Status::OK();
}

Status PostgresRestoreTarget::Swap(nlohmann::json* report) {
  WARD_ASSIGN_OR_RETURN(std::unique_ptr<PgConn> admin, PgConn::Connect(info_, maintenance_db_));
  const std::string old = CutUtf8(live_, kMaxNameBytes - 19) + "_old_" + pg::UtcNow("%Y%m%d%H%M%S");
  const std::string by_hand = "ALTER DATABASE " + pg::QuoteIdent(live_) + " RENAME TO " +
                              pg::QuoteIdent(old) + "; ALTER DATABASE " + pg::QuoteIdent(db_) +
                              " RENAME TO " + pg::QuoteIdent(live_);
  const std::string kept = "; nothing was renamed, the restored database '" + db_ +
                           "' is kept: once they are gone, swap by hand with: " + by_hand;
  WARD_ASSIGN_OR_RETURN(bool live, DatabaseExists(*admin, live_));
  if (!live) return NotFoundError("--swap: the live database '" + live_ + "' is gone" + kept);
  WARD_ASSIGN_OR_RETURN(bool taken, DatabaseExists(*admin, old));
  if (taken)
    return AlreadyExistsError("--swap: database '" + old +
                              "' already exists; try again in a second");

  auto sessions = [&]() {
    return admin->Exec(
        "SELECT pid, datname, coalesce(usename, ''), coalesce(application_name, ''), "
        "coalesce(host(client_addr), 'local socket') FROM pg_stat_activity "
        "WHERE datname IN ($1, $2) AND pid <> pg_backend_pid() ORDER BY pid",
        {live_, db_});
  };
  WARD_ASSIGN_OR_RETURN(pg::PgResult active, sessions());
  bool locked_out = false;
  std::string allow_before = "true";
  if (active.rows() > 0) {
    std::vector<std::string> who;
    for (int i = 0; i < active.rows(); ++i) {
      who.push_back("pid " + active.Get(i, 0) + " on '" + active.Get(i, 1) + "' (user " +
                    active.Get(i, 2) +
                    (active.Get(i, 3).empty() ? "" : ", application '" + active.Get(i, 3) + "'") +
                    ", from " + active.Get(i, 4) + ")");
    }
    if (!o_.terminate_connections) {
      return FailedPreconditionError("--swap: " + std::to_string(active.rows()) +
                                     " session(s) still use the databases: " + JoinNames(who, 5) +
                                     "; stop the application first (or let ward terminate them)" +
                                     kept);
    }
    // Keep new sessions out while the old ones are ended, then rename.
    WARD_ASSIGN_OR_RETURN(
        pg::PgResult allow,
        admin->Exec("SELECT datallowconn::text FROM pg_database WHERE datname = $1", {live_}));
    if (allow.rows() > 0) allow_before = allow.Get(0, 0);
    WARD_RETURN_IF_ERROR(
        admin->Exec("ALTER DATABASE " + pg::QuoteIdent(live_) + " ALLOW_CONNECTIONS false")
            .status());
    locked_out = true;
    Status term = admin
                      ->Exec(
                          "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          "WHERE datname IN ($1, $2) AND pid <> pg_backend_pid()",
                          {live_, db_})
                      .status();
    for (int i = 0; term.ok() && i < 100; ++i) {
      auto left = sessions();
      if (!left.ok()) {
        term = left.status();
        break;
      }
      if (left->rows() == 0) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (!term.ok()) {
      admin->Exec("ALTER DATABASE " + pg::QuoteIdent(live_) + " ALLOW_CONNECTIONS " + allow_before)
          .status()
          .IgnoreError();
      return term.WithContext("--swap: terminating sessions");
    }
    (*report)["terminated_sessions"] = who;
  }
  // Both renames or neither: the live database is never lost, only renamed.
  Status s = admin->Exec("BEGIN").status();
  if (s.ok()) {
    s = admin->Exec("ALTER DATABASE " + pg::QuoteIdent(live_) + " RENAME TO " + pg::QuoteIdent(old))
            .status();
  }
  if (s.ok()) {
    s = admin->Exec("ALTER DATABASE " + pg::QuoteIdent(db_) + " RENAME TO " + pg::QuoteIdent(live_))
            .status();
  }
  if (s.ok()) s = admin->Exec("COMMIT").status();
  if (!s.ok()) {
    admin->Exec("ROLLBACK").status().IgnoreError();
    if (locked_out) {
      admin->Exec("ALTER DATABASE " + pg::QuoteIdent(live_) + " ALLOW_CONNECTIONS " + allow_before)
          .status()
          .IgnoreError();
    }
    return s.WithContext("--swap" + kept.substr(1));
  }
  if (locked_out) {
    Status back =
        admin->Exec("ALTER DATABASE " + pg::QuoteIdent(old) + " ALLOW_CONNECTIONS " + allow_before)
            .status();
    if (!back.ok())
      (*report)["warning"] = "the old database still refuses connections: " + back.message();
  }
  (*report)["swapped"] = true;
  (*report)["live"] = live_;
  (*report)["old_database"] = old;
  return Status::OK();
}

Result<nlohmann::json> PostgresRestoreTarget::Finish() {
  if (!restored_) {
    return NotFoundError(
        "the restored path holds no PostgreSQL dump (*.pgdump): pick the snapshot's postgres "
        "source, e.g. SNAPSHOT:postgres");
  }
  const auto check_start = std::chrono::steady_clock::now();
  WARD_ASSIGN_OR_RETURN(std::unique_ptr<PgConn> conn, PgConn::Connect(info_, db_));
  nlohmann::json tables = nlohmann::json::object();
  std::vector<std::string> mismatches;
  auto count = [&](const std::string& key) -> Result<std::optional<int64_t>> {
    WARD_ASSIGN_OR_RETURN(
        pg::PgResult r,
        conn->Exec("SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n "
                   "ON n.oid = c.relnamespace WHERE c.oid = to_regclass($1)",
                   {key}));
    if (r.rows() == 0) return std::optional<int64_t>();
    WARD_ASSIGN_OR_RETURN(pg::PgResult c,
                          conn->Exec("SELECT count(*) FROM " + pg::QuoteIdent(r.Get(0, 0)) + "." +
                                     pg::QuoteIdent(r.Get(0, 1))));
    return std::optional<int64_t>(std::stoll(c.Get(0, 0)));
  };
  if (checked_) {
    for (const auto& [key, want] : expected_) {
      WARD_ASSIGN_OR_RETURN(std::optional<int64_t> got, count(key));
      tables[key] = {{"expected", want},
                     {"restored", got ? nlohmann::json(*got) : nlohmann::json(nullptr)}};
      if (!got) {
        mismatches.push_back(key + " is missing (" + std::to_string(want) +
                             " rows in the snapshot)");
      } else if (*got != want) {
        mismatches.push_back(key + " has " + std::to_string(*got) +
                             " rows, the snapshot recorded " + std::to_string(want));
      }
    }
  } else {
    // No recorded counts to compare with: report what is there.
    WARD_ASSIGN_OR_RETURN(
        pg::PgResult all,
        conn->Exec(
            "SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r' "
            "AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%' ORDER BY 1"));
    for (int i = 0; i < all.rows(); ++i) {
      WARD_ASSIGN_OR_RETURN(std::optional<int64_t> got, count(all.Get(i, 0)));
      tables[all.Get(i, 0)] = {{"expected", nullptr},
                               {"restored", got ? nlohmann::json(*got) : nlohmann::json(nullptr)}};
    }
  }
  conn.reset();
  nlohmann::json report = {{"database", db_},
                           {"server", info_.Endpoint()},
                           {"tables", tables},
                           {"checked", checked_},
                           {"ok", mismatches.empty()},
                           {"swapped", false},
                           {"owners", o_.no_owner ? "restoring role" : "as dumped"}};
  report["database_properties"] = applied_;
  if (!skipped_.empty()) report["database_properties_skipped"] = skipped_;
  for (const char* k : {"lsn", "restore_point", "time"}) {
    if (o_.position.contains(k)) report[std::string("snapshot_") + k] = o_.position[k];
  }
  if (!mismatches.empty()) {
    return DataLossError(Where() + " does not match the snapshot: " + JoinNames(mismatches, 5) +
                         (o_.swap ? "; nothing was swapped" : "") +
                         "; the database is kept for inspection (drop it with DROP DATABASE " +
                         pg::QuoteIdent(db_) + ")");
  }
  timings_["check_s"] = Seconds(check_start, std::chrono::steady_clock::now());
  if (o_.swap) {
    const auto swap_start = std::chrono::steady_clock::now();
    WARD_RETURN_IF_ERROR(Swap(&report));
    timings_["swap_s"] = Seconds(swap_start, std::chrono::steady_clock::now());
  }
  report["timings"] = timings_;
  summary_ = std::to_string(tables.size()) + " table(s) into " + Where() +
             (checked_ ? ", row counts match the snapshot"
                       : " (the snapshot recorded no row counts to compare)");
  if (report["swapped"].get<bool>()) {
    summary_ += "; swapped: it is now '" + live_ + "', the old one '" +
                report["old_database"].get<std::string>() + "'";
  }
  return report;
}

}  // namespace

Result<std::unique_ptr<RestoreTarget>> MakePostgresRestoreTarget(
    const PostgresRestoreOptions& options) {
  return PostgresRestoreTarget::Create(options);
}

Result<std::unique_ptr<RestoreTarget>> MakePostgresRestoreTarget(
    const RestoreTargetOptions& options, const nlohmann::json& position) {
  PostgresRestoreOptions o;
  o.to = options.to;
  o.tables = options.tables;
  o.swap = options.swap;
  o.position = position.is_object() ? position : nlohmann::json::object();
  return PostgresRestoreTarget::Create(o);
}

Result<std::unique_ptr<RestoreTarget>> MakePostgresRestoreTarget(
    const RestoreTargetOptions& options) {
  return MakePostgresRestoreTarget(options, nlohmann::json::object());
}

nlohmann::json PostgresPosition(const nlohmann::json& sources, const std::string& part) {
  if (!sources.is_object()) return nlohmann::json::object();
  if (sources.contains("row_counts") || sources.contains("lsn")) return sources;
  auto position_of = [](const nlohmann::json& entry) {
    if (entry.is_object() && entry.contains("position") && entry["position"].is_object())
      return entry["position"];
    return nlohmann::json::object();
  };
  if (!part.empty()) {
    return sources.contains(part) ? position_of(sources[part]) : nlohmann::json::object();
  }
  nlohmann::json found = nlohmann::json::object();
  int n = 0;
  for (const auto& [name, entry] : sources.items()) {
    if (entry.is_object() && entry.value("kind", "") == "postgres") {
      found = position_of(entry);
      ++n;
    }
  }
  return n == 1 ? found : nlohmann::json::object();
}

}  // namespace ward::source
