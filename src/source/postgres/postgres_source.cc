// PostgresLogicalSource: see postgres.h.
#include <unistd.h>

#include <set>

#include "base/time.h"
#include "source/command/command_source.h"
#include "source/postgres/dsn.h"
#include "source/postgres/pg_conn.h"
#include "source/postgres/postgres.h"

namespace ward::source {

namespace {

using pg::PgConn;

// User tables whose rows pg_dump writes: ordinary tables (partitions are
// ordinary tables; their partitioned parents hold no rows of their own),
// temporary ones excluded, and none belonging to an extension.
constexpr const char* kAllTablesSql = R"sql(
SELECT n.nspname, c.relname, c.relkind::text,
       quote_ident(n.nspname) || '.' || quote_ident(c.relname)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r' AND c.relpersistence <> 't'
  AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\_%'
  AND NOT EXISTS (SELECT 1 FROM pg_depend d
                  WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
ORDER BY 4)sql";

// One chosen relation, named as SQL names it (search_path, case folding).
constexpr const char* kResolveSql = R"sql(
SELECT n.nspname, c.relname, c.relkind::text,
       quote_ident(n.nspname) || '.' || quote_ident(c.relname)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.oid = to_regclass($1))sql";

struct Table {
  std::string schema, name, relkind, key;  // key: quote_ident(schema).quote_ident(name)
};

class PostgresLogicalSource;

// The dump stream. Keeps the snapshot-exporting transaction open until
// pg_dump has finished, and collects the row counts that run alongside.
class PgDumpReader : public Reader {
 public:
  PgDumpReader(PostgresLogicalSource* source, std::unique_ptr<PgConn> conn,
               std::unique_ptr<Reader> dump, std::vector<Table> counted, bool counting,
               nlohmann::json position)
      : source_(source),
        conn_(std::move(conn)),
        dump_(std::move(dump)),
        counted_(std::move(counted)),
        counting_(counting),
        position_(std::move(position)) {}

  Result<size_t> Read(std::span<uint8_t> out) override { return dump_->Read(out); }
  Status Finish() override;

 private:
  PostgresLogicalSource* source_;
  std::unique_ptr<PgConn> conn_;
  std::unique_ptr<Reader> dump_;
  std::vector<Table> counted_;
  bool counting_;
  nlohmann::json position_;
};

class PostgresLogicalSource : public Source {
 public:
  static Result<std::unique_ptr<Source>> Create(const PostgresSourceOptions& options) {
    const std::string what = "postgres source '" + options.label + "': dsn";
    WARD_ASSIGN_OR_RETURN(pg::ConnInfo info, pg::ConnInfo::Parse(options.dsn, what));
    if (info.dbname().empty()) {
      return InvalidArgumentError(what +
                                  " names no database: write postgresql://user@host:5432/dbname");
    }
    for (const auto& t : options.tables) {
      auto q = pg::ParseQualifiedName(t);
      if (!q.ok()) return q.status().WithContext("postgres source '" + options.label + "': tables");
    }
    std::string file = info.dbname();
    for (auto& c : file) {
      if (c == '/' || c == '\0') c = '_';
    }
    if (file == "." || file == "..") file = "_" + file;
    std::unique_ptr<PostgresLogicalSource> s(new PostgresLogicalSource(options, std::move(info)));
    s->filename_ = file + ".pgdump";
    s->started_ns_ = NowNanos();
    return std::unique_ptr<Source>(std::move(s));
  }

  Result<std::vector<Entry>> List(const std::string& path, std::vector<Status>*) override {
    return SingleFileListing("postgres", path, filename_, started_ns_);
  }

  Result<std::unique_ptr<Reader>> Open(const std::string& path, const Entry&) override {
    if (path != filename_) return NotFoundError("postgres source has no file " + path);
    auto r = StartDump();
    if (!r.ok()) return r.status().WithContext(Label());
    return r;
  }

  bool PartialOk() const override { return false; }
  std::vector<std::string> Paths() const override { return {"/" + filename_}; }
  std::string Kind() const override { return "postgres"; }
  nlohmann::json Position() const override { return position_; }

  std::string Label() const {
    return "postgres source '" + options_.label + "' (" + info_.Describe() + ")";
  }
  void SetPosition(nlohmann::json p) { position_ = std::move(p); }

 private:
  PostgresLogicalSource(PostgresSourceOptions o, pg::ConnInfo info)
      : options_(std::move(o)), info_(std::move(info)) {}

  Result<std::unique_ptr<Reader>> StartDump();
  Result<std::vector<Table>> ChosenTables(PgConn& conn);

  PostgresSourceOptions options_;
  pg::ConnInfo info_;
  std::string filename_;
  int64_t started_ns_ = 0;
  nlohmann::json position_ = nlohmann::json::object();
};

Result<std::vector<Table>> PostgresLogicalSource::ChosenTables(PgConn& conn) {
  std::vector<Table> out;
  std::set<std::string> seen;
  if (options_.tables.empty()) {
    WARD_ASSIGN_OR_RETURN(pg::PgResult r, conn.Exec(kAllTablesSql));
    for (int i = 0; i < r.rows(); ++i)
      out.push_back({r.Get(i, 0), r.Get(i, 1), r.Get(i, 2), r.Get(i, 3)});
    return out;
  }
  for (const auto& t : options_.tables) {
    auto r = conn.Exec(kResolveSql, {t});
    if (!r.ok()) return r.status().WithContext("table '" + t + "'");
    if (r->rows() == 0) {
      return NotFoundError("table '" + t + "' does not exist in " + conn.where() +
                           ": check `tables` (schema-qualify names outside the search path; "
                           "quote names with capitals, e.g. '\"Orders\"')");
    }
    Table tab{r->Get(0, 0), r->Get(0, 1), r->Get(0, 2), r->Get(0, 3)};
    if (seen.insert(tab.key).second) out.push_back(std::move(tab));
  }
  return out;
}

Result<std::unique_ptr<Reader>> PostgresLogicalSource::StartDump() {
  position_ = nlohmann::json::object();
  WARD_ASSIGN_OR_RETURN(std::unique_ptr<PgConn> conn, PgConn::Connect(info_));
  // Settings that would make the dump's companion session fail or lie:
  // timeouts (counting a big table takes a while; the transaction idles
  // while pg_dump works), and row security (pg_dump turns it off and fails
  // rather than dump a filtered table; the counts must do the same).
  WARD_RETURN_IF_ERROR(conn->Exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY").status());
  WARD_RETURN_IF_ERROR(conn->Exec("SET LOCAL statement_timeout = 0").status());
  WARD_RETURN_IF_ERROR(conn->Exec("SET LOCAL lock_timeout = 0").status());
  WARD_RETURN_IF_ERROR(conn->Exec("SET LOCAL idle_in_transaction_session_timeout = 0").status());
  WARD_RETURN_IF_ERROR(conn->Exec("SET LOCAL row_security = off").status());
  // The first query fixes the transaction's snapshot; everything after sees it.
  WARD_ASSIGN_OR_RETURN(pg::PgResult facts, conn->Exec(R"sql(
SELECT pg_export_snapshot(), pg_is_in_recovery(),
       CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn()::text
            ELSE pg_current_wal_insert_lsn()::text END,
       current_database(), current_setting('server_version'), current_setting('server_version_num'),
       pg_encoding_to_char(d.encoding), d.datcollate, d.datctype, pg_get_userbyid(d.datdba)
FROM pg_database d WHERE d.datname = current_database())sql"));
  if (facts.rows() != 1) return InternalError("no pg_database row for the current database");
  const std::string snapshot = facts.Get(0, 0);
  const bool in_recovery = facts.Get(0, 1) == "t";
  nlohmann::json pos = nlohmann::json::object();
  pos["database"] = facts.Get(0, 3);
  pos["snapshot"] = snapshot;
  pos["time"] = FormatRfc3339(NowNanos());
  pos["lsn"] = facts.IsNull(0, 2) ? nlohmann::json(nullptr) : nlohmann::json(facts.Get(0, 2));
  pos["in_recovery"] = in_recovery;
  pos["server_version"] = facts.Get(0, 4);
  pos["server_version_num"] = std::atoi(facts.Get(0, 5).c_str());
  pos["encoding"] = facts.Get(0, 6);
  pos["lc_collate"] = facts.Get(0, 7);
  pos["lc_ctype"] = facts.Get(0, 8);
  pos["owner"] = facts.Get(0, 9);
  pos["schema_only"] = options_.schema_only;
  pos["format"] = "custom";

  // Database-level settings and grants live outside the dump (pg_dump only
  // writes them with --create); recorded here so that a restored database
  // behaves like this one, and a swapped-in one keeps the application's
  // CONNECT grant and search_path.
  WARD_ASSIGN_OR_RETURN(pg::PgResult settings, conn->Exec(R"sql(
SELECT coalesce(r.rolname, ''), unnest(s.setconfig)
FROM pg_db_role_setting s LEFT JOIN pg_roles r ON r.oid = s.setrole
WHERE s.setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database())
ORDER BY 1, 2)sql"));
  nlohmann::json db_settings = nlohmann::json::array();
  for (int i = 0; i < settings.rows(); ++i) {
    db_settings.push_back({{"role", settings.Get(i, 0)}, {"setting", settings.Get(i, 1)}});
  }
  pos["database_settings"] = db_settings;
  WARD_ASSIGN_OR_RETURN(pg::PgResult acl, conn->Exec(R"sql(
SELECT d.datacl IS NULL, coalesce(g.rolname, ''), a.privilege_type, a.is_grantable
FROM pg_database d
LEFT JOIN LATERAL aclexplode(d.datacl) a ON true
LEFT JOIN pg_roles g ON g.oid = a.grantee
WHERE d.datname = current_database() ORDER BY 2, 3)sql"));
  if (acl.rows() == 0 || acl.Get(0, 0) == "t") {
    pos["database_grants"] = nullptr;  // the defaults
  } else {
    nlohmann::json grants = nlohmann::json::array();
    for (int i = 0; i < acl.rows(); ++i) {
      grants.push_back({{"grantee", acl.Get(i, 1)},
                        {"privilege", acl.Get(i, 2)},
                        {"grantable", acl.Get(i, 3) == "t"}});
    }
    pos["database_grants"] = grants;
  }

  // A named restore point lets a physical (PITR) recovery stop exactly at
  // this backup. Creating one needs a privilege many backup roles lack, and
  // is impossible on a standby: then the position says why there is none.
  pos["restore_point"] = nullptr;
  if (in_recovery) {
    pos["restore_point_skipped"] = "the server is a standby (in recovery)";
  } else {
    const std::string name = "ward-" + pg::UtcNow("%Y%m%dT%H%M%SZ");
    WARD_RETURN_IF_ERROR(conn->Exec("SAVEPOINT ward_restore_point").status());
    auto rp = conn->Exec("SELECT pg_create_restore_point($1)::text", {name});
    if (rp.ok()) {
      pos["restore_point"] = name;
      pos["restore_point_lsn"] = rp->Get(0, 0);
      WARD_RETURN_IF_ERROR(conn->Exec("RELEASE SAVEPOINT ward_restore_point").status());
    } else {
      std::string why = rp.status().message();
      if (why.rfind(conn->where() + ": ", 0) == 0) why = why.substr(conn->where().size() + 2);
      pos["restore_point_skipped"] = why;
      WARD_RETURN_IF_ERROR(conn->Exec("ROLLBACK TO SAVEPOINT ward_restore_point").status());
    }
  }

  WARD_ASSIGN_OR_RETURN(std::vector<Table> tables, ChosenTables(*conn));
  std::vector<Table> counted;
  for (const auto& t : tables) {
    if (t.relkind == "r") counted.push_back(t);
  }
  if (!options_.tables.empty()) {
    nlohmann::json chosen = nlohmann::json::array();
    for (const auto& t : tables) chosen.push_back(t.key);
    pos["tables"] = chosen;
  }

  const std::string pg_dump = pg::FindPgTool("pg_dump", conn->server_version(), options_.pg_dump);
  pos["pg_dump"] = pg_dump;
  std::vector<std::string> argv = {
      pg_dump,         "--format=custom",        "--compress=0",
      "--no-password", "--snapshot=" + snapshot, "--dbname=" + info_.ToConninfo()};
  if (options_.schema_only) argv.push_back("--schema-only");
  if (!tables.empty() && !options_.tables.empty()) {
    argv.push_back("--strict-names");
    for (const auto& t : tables)
      argv.push_back("--table=" + pg::QuoteIdent(t.schema) + "." + pg::QuoteIdent(t.name));
  }
  auto dump = RunCommandReader(argv, options_.forward_stderr);
  if (!dump.ok()) {
    if (dump.status().code() == StatusCode::kNotFound) {
      return NotFoundError(
          "'" + pg_dump +
          "' not found: install the PostgreSQL client programs matching the server "
          "(Debian: postgresql-client-" +
          std::to_string(conn->server_version() / 10000) +
          ") or set pg_dump = \"/path/to/pg_dump\" in the plan");
    }
    return dump.status();
  }
  // Counting runs on this connection while pg_dump reads on its own: both
  // see the exported snapshot, so the counts are exactly the dump's rows.
  bool counting = false;
  if (!options_.schema_only && !counted.empty()) {
    std::string sql;
    for (const auto& t : counted) {
      sql +=
          "SELECT count(*) FROM " + pg::QuoteIdent(t.schema) + "." + pg::QuoteIdent(t.name) + ";";
    }
    WARD_RETURN_IF_ERROR(conn->Send(sql));
    counting = true;
  }
  return std::unique_ptr<Reader>(std::make_unique<PgDumpReader>(
      this, std::move(conn), std::move(*dump), std::move(counted), counting, std::move(pos)));
}

Status PgDumpReader::Finish() {
  Status dumped = dump_->Finish();
  nlohmann::json counts = nlohmann::json::object();
  Status counted = Status::OK();
  if (counting_) {
    auto results = conn_->Collect();
    if (!results.ok()) {
      counted = results.status().WithContext("counting rows");
    } else if (results->size() != counted_.size()) {
      counted = InternalError("counting rows: " + std::to_string(results->size()) +
                              " results for " + std::to_string(counted_.size()) + " tables");
    } else {
      for (size_t i = 0; i < counted_.size(); ++i) {
        counts[counted_[i].key] = std::stoll((*results)[i].Get(0, 0));
      }
    }
  } else {
    // Schema only: the dump holds no rows.
    for (const auto& t : counted_) counts[t.key] = 0;
  }
  // A failed count usually explains a failed dump too (a table it may not
  // read), so it is reported first.
  if (!counted.ok()) return counted.WithContext(source_->Label());
  if (!dumped.ok()) return dumped.WithContext(source_->Label());
  Status commit = conn_->Exec("COMMIT").status();
  if (!commit.ok())
    return commit.WithContext(source_->Label() + ": ending the snapshot transaction");
  conn_.reset();
  position_["row_counts"] = std::move(counts);
  source_->SetPosition(std::move(position_));
  return Status::OK();
}

}  // namespace

Result<std::unique_ptr<Source>> MakePostgresSource(const PostgresSourceOptions& options) {
  return PostgresLogicalSource::Create(options);
}

Result<std::unique_ptr<Source>> MakePostgresSource(const plan::PlanSource& ps) {
  PostgresSourceOptions o;
  o.label = ps.name;
  WARD_ASSIGN_OR_RETURN(std::string mode, ps.String("mode", false, "logical"));
  if (mode == "physical") {
    return UnimplementedError(
        "source '" + ps.name +
        "': mode = \"physical\" (base backup + WAL archive) is not yet supported; "
        "use mode = \"logical\" (pg_dump)");
  }
  if (mode != "logical") {
    return InvalidArgumentError(
        "source '" + ps.name + "': mode must be \"logical\" or \"physical\", not \"" + mode + "\"");
  }
  WARD_ASSIGN_OR_RETURN(o.dsn, ps.String("dsn", true));
  WARD_ASSIGN_OR_RETURN(o.schema_only, ps.Bool("schema_only"));
  WARD_ASSIGN_OR_RETURN(o.tables, ps.Strings("tables"));
  WARD_ASSIGN_OR_RETURN(o.pg_dump, ps.String("pg_dump"));
  return PostgresLogicalSource::Create(o);
}

const SourceKind& PostgresKind() {
  static const SourceKind kind{"postgres",
                               {"dsn", "mode", "schema_only", "tables", "pg_dump"},
                               [](const plan::PlanSource& ps) { return MakePostgresSource(ps); }};
  return kind;
}

}  // namespace ward::source
