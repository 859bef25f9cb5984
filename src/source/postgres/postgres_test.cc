// End-to-end tests of PostgreSQL logical backup and restore against a real
// server (pg_test_server.h): RunBackup with the postgres source into a local
// repository, RunRestoreToTarget into a new database, and everything
// compared row by row. Also the ways it must fail: a dump killed midway, a
// bad DSN, a wrong password, an existing target database, a mismatch.
#include "source/postgres/postgres.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include "engine/backup.h"
#include "engine/restore.h"
#include "source/command/command_source.h"
#include "source/postgres/dsn.h"
#include "source/postgres/pg_conn.h"
#include "source/postgres/pg_test_server.h"
#include "storage/local/local_backend.h"

namespace ward::source {
namespace {

namespace fs = std::filesystem;
using pg::PgTestServer;

bool Contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

// Every user table of a database -> "rows:md5 of its rows in a fixed order".
// Rows are compared as their text form (bytea as hex, jsonb normalised).
std::map<std::string, std::string> Digest(const PgTestServer& pg, const std::string& db) {
  std::map<std::string, std::string> out;
  auto tables =
      pg.Query(db,
               "SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) FROM pg_class c "
               "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r' "
               "AND n.nspname <> 'information_schema' AND n.nspname NOT LIKE 'pg\\_%'");
  EXPECT_TRUE(tables.ok()) << tables.status().ToString();
  if (!tables.ok()) return out;
  for (const auto& row : *tables) {
    out[row[0]] = pg.Value(
        db,
        "SELECT count(*) || ':' || md5(coalesce(string_agg(t::text, ',' ORDER BY t::text), "
        "'')) FROM " +
            row[0] + " t");
  }
  return out;
}

class PostgresTest : public ::testing::Test {
 protected:
  void SetUp() override {
    WARD_REQUIRE_POSTGRES(pg_);
    ASSERT_TRUE(crypto::Init().ok());
    char t[] = "/tmp/ward-pg-repo-XXXXXX";
    ASSERT_NE(::mkdtemp(t), nullptr);
    base_ = t;
    repo::OpenOptions o;
    crypto::KdfParams k = crypto::DefaultKdfParams();
    k.memory = 1 << 20;
    k.ops = 1;
    o.kdf = k;
    auto r = repo::Repository::Init(storage::NewLocalBackend(base_ + "/repo"), "pw", o);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    // One database name per test, so tests never see each other's data.
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    // Short enough for suffixes (_restored, _old_<time>) within 63 bytes.
    live_ = "shop_" + std::string(info->name()).substr(0, 35);
    for (auto& c : live_) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    ::setenv("PGPASSWORD", pg_->password().c_str(), 1);
  }

  void TearDown() override {
    if (!base_.empty()) fs::remove_all(base_);
  }

  std::unique_ptr<repo::Repository> Open() {
    auto r = repo::Repository::Open(storage::NewLocalBackend(base_ + "/repo"), "pw",
                                    repo::OpenOptions());
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? std::move(*r) : nullptr;
  }

  // A database with what real services hold: pgbench's tables (scale 1),
  // bytea with zero bytes, jsonb, unicode and emoji text, NULLs, a sequence,
  // an index, a view, a mixed-case table, a second schema with a table of
  // the same name as one in public, and a table owned by another role.
  void MakeShop(const std::string& db) {
    ASSERT_TRUE(pg_->Exec("postgres", "DROP DATABASE IF EXISTS " + pg::QuoteIdent(db)).ok());
    ASSERT_TRUE(pg_->Exec("postgres", "CREATE DATABASE " + pg::QuoteIdent(db)).ok());
    ASSERT_EQ(pg_->Shell("pgbench -i -s 1 -q " + db + " >/dev/null 2>&1"), 0)
        << "pgbench -i failed";
    Status s = pg_->Exec(db, R"sql(
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'shop_owner') THEN CREATE ROLE shop_owner; END IF;
END $$;
CREATE SEQUENCE odd_seq START 1000 INCREMENT 7;
CREATE TABLE odd (
  id bigint PRIMARY KEY DEFAULT nextval('odd_seq'),
  raw bytea, doc jsonb, note text, maybe int, at timestamptz);
INSERT INTO odd (raw, doc, note, maybe, at)
SELECT CASE WHEN i % 10 = 0 THEN NULL
            ELSE decode(md5(random()::text) || '0000' || md5(random()::text) || '00', 'hex') END,
       jsonb_build_object('i', i, 'tags', jsonb_build_array('a', i % 3), 'ü', 'ñ',
                          'deep', jsonb_build_object('x', NULL, 'y', 1.5e10)),
       CASE WHEN i % 7 = 0 THEN NULL
            ELSE 'héllo wörld 🐘 ' || i || E'\ttab\nnew line \\ back ''quote' END,
       CASE WHEN i % 2 = 0 THEN i END,
       '2024-01-01 00:00:00+00'::timestamptz + i * interval '1 minute'
FROM generate_series(1, 5000) i;
ALTER SEQUENCE odd_seq OWNED BY odd.id;
CREATE INDEX odd_doc ON odd USING gin (doc);
CREATE VIEW odd_view AS SELECT id, note FROM odd WHERE maybe IS NOT NULL;
CREATE TABLE "Mixed Case" ("Key" int PRIMARY KEY, val text);
INSERT INTO "Mixed Case" SELECT i, repeat('x', i) FROM generate_series(1, 50) i;
ALTER TABLE "Mixed Case" OWNER TO shop_owner;
CREATE SCHEMA other;
CREATE TABLE other.pgbench_branches (id int PRIMARY KEY);
INSERT INTO other.pgbench_branches VALUES (1), (2), (3);
)sql");
    ASSERT_TRUE(s.ok()) << s.ToString();
    // Database-level properties, which pg_dump leaves out without --create.
    const std::string q = pg::QuoteIdent(db);
    s = pg_->Exec(
        "postgres",
        "ALTER DATABASE " + q + " SET work_mem = '8MB'; ALTER DATABASE " + q +
            " SET search_path = \"$user\", public, other; ALTER ROLE shop_owner IN DATABASE " + q +
            " SET statement_timeout = '5min'; REVOKE ALL ON DATABASE " + q +
            " FROM PUBLIC; GRANT CONNECT ON DATABASE " + q + " TO shop_owner");
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  Result<engine::BackupResult> Backup(nlohmann::json config) {
    plan::PlanSource ps;
    ps.name = "postgres";
    ps.kind = "postgres";
    ps.config = std::move(config);
    if (!ps.config.contains("dsn")) ps.config["dsn"] = pg_->Dsn(live_);
    auto src = MakePostgresSource(ps);
    if (!src.ok()) return src.status();
    auto repo = Open();
    engine::BackupOptions o;
    o.hostname = "test-host";
    return engine::RunBackup(*repo, **src, o, nullptr);
  }

  Result<nlohmann::json> Restore(const repo::Snapshot& snap, PostgresRestoreOptions o) {
    auto repo = Open();
    EXPECT_TRUE(repo->LoadIndex().ok());
    if (o.position.empty()) o.position = PostgresPosition(snap.sources, "");
    o.forward_stderr = false;
    auto target = MakePostgresRestoreTarget(o);
    if (!target.ok()) return target.status();
    return engine::RunRestoreToTarget(*repo, snap, "/", **target, nullptr);
  }

  PostgresRestoreOptions To(const std::string& db) {
    PostgresRestoreOptions o;
    o.to = pg_->Dsn(db);
    return o;
  }

  bool DatabaseExists(const std::string& db) {
    return pg_->Value("postgres",
                      "SELECT count(*) FROM pg_database WHERE datname = '" + db + "'") == "1";
  }

  size_t SnapshotCount() {
    auto l = Open()->ListSnapshots();
    EXPECT_TRUE(l.ok());
    return l.ok() ? l->size() : 0;
  }

  // A pg_dump stand-in: a shell script that runs `body` with the real
  // pg_dump's path in $REAL.
  std::string Wrapper(const std::string& name, const std::string& body) {
    std::string path = base_ + "/" + name;
    std::ofstream f(path);
    f << "#!/bin/bash\nREAL='" << pg_->bin() << "/pg_dump'\n" << body << "\n";
    f.close();
    ::chmod(path.c_str(), 0755);
    return path;
  }

  PgTestServer* pg_ = nullptr;
  std::string base_, live_;
};

TEST_F(PostgresTest, BackupAndRestoreGiveBackEveryRowOfTheSnapshot) {
  MakeShop(live_);
  auto before = Digest(*pg_, live_);
  ASSERT_EQ(before.size(), 7u);
  std::string seq = pg_->Value(live_, "SELECT last_value || '/' || is_called FROM odd_seq");

  // While pg_dump runs, more rows arrive: neither the dump nor the recorded
  // counts may contain them (one exported snapshot for both).
  std::string late = Wrapper("pg_dump_with_late_writes",
                             "'" + pg_->bin() + "/psql' -X -q -d '" + pg_->Dsn(live_) +
                                 "' -c \"INSERT INTO odd (id, note) SELECT 900000 + i, "
                                 "'late' FROM generate_series(1, 100) i\" || exit 9\n"
                                 "exec \"$REAL\" \"$@\"");
  auto b = Backup({{"pg_dump", late}});
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ(pg_->Value(live_, "SELECT count(*) FROM odd"), "5100");

  const repo::Snapshot& snap = b->snapshot;
  EXPECT_EQ(snap.source, "postgres");
  EXPECT_EQ(snap.paths, (std::vector<std::string>{"/" + live_ + ".pgdump"}));
  const nlohmann::json& pos = snap.sources;
  EXPECT_EQ(pos["database"], live_);
  EXPECT_TRUE(pos["lsn"].is_string() && Contains(pos["lsn"].get<std::string>(), "/")) << pos.dump();
  ASSERT_TRUE(pos["restore_point"].is_string()) << pos.dump();  // superuser: allowed
  EXPECT_EQ(pos["restore_point"].get<std::string>().rfind("ward-", 0), 0u);
  EXPECT_TRUE(pos["server_version"].is_string());
  EXPECT_TRUE(pos["snapshot"].is_string());
  EXPECT_EQ(pos["encoding"], "UTF8");
  const nlohmann::json& rc = pos["row_counts"];
  EXPECT_EQ(rc.size(), 7u) << rc.dump();
  EXPECT_EQ(rc["public.pgbench_accounts"], 100000);
  EXPECT_EQ(rc["public.pgbench_branches"], 1);
  EXPECT_EQ(rc["public.pgbench_tellers"], 10);
  EXPECT_EQ(rc["public.pgbench_history"], 0);
  EXPECT_EQ(rc["public.odd"], 5000);
  EXPECT_EQ(rc["public.\"Mixed Case\""], 50);
  EXPECT_EQ(rc["other.pgbench_branches"], 3);

  // The dump is private on disk when restored as a file.
  auto repo = Open();
  ASSERT_TRUE(repo->LoadIndex().ok());
  auto node = engine::FindNode(*repo, snap.tree, "/" + live_ + ".pgdump");
  ASSERT_TRUE(node.ok());
  EXPECT_EQ(node->mode, 0600u);
  EXPECT_GT(node->size, 1000000u);

  const std::string restored = live_ + "_restored";
  auto report = Restore(snap, To(restored));
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  EXPECT_EQ((*report)["ok"], true);
  EXPECT_EQ((*report)["checked"], true);
  EXPECT_EQ((*report)["swapped"], false);
  EXPECT_EQ((*report)["database"], restored);
  EXPECT_EQ((*report)["tables"].size(), 7u);
  EXPECT_EQ((*report)["tables"]["public.odd"]["expected"], 5000);
  EXPECT_EQ((*report)["tables"]["public.odd"]["restored"], 5000);
  EXPECT_EQ((*report)["snapshot_lsn"], pos["lsn"]);
  EXPECT_GT((*report)["timings"]["pg_restore_s"].get<double>(), 0.0);
  EXPECT_TRUE((*report)["timings"].contains("check_s"));

  EXPECT_EQ(Digest(*pg_, restored), before);
  EXPECT_EQ(pg_->Value(restored, "SELECT last_value || '/' || is_called FROM odd_seq"), seq);
  EXPECT_EQ(pg_->Value(restored, "SELECT count(*) FROM odd_view"), "2500");
  EXPECT_EQ(pg_->Value(restored, "SELECT count(*) FROM pg_indexes WHERE indexname = 'odd_doc'"),
            "1");
  EXPECT_EQ(
      pg_->Value(
          restored,
          "SELECT count(*) FROM odd WHERE raw IS NOT NULL AND position('\\x00'::bytea in raw) > 0"),
      "4500");
  EXPECT_EQ(pg_->Value(restored, "SELECT note FROM odd WHERE id = 1000"),
            pg_->Value(live_, "SELECT note FROM odd WHERE id = 1000"));
  // Owners as dumped (the role exists on this server).
  EXPECT_EQ(pg_->Value(restored, "SELECT tableowner FROM pg_tables WHERE tablename = 'Mixed Case'"),
            "shop_owner");
  // Its database-level settings and grants are the original's.
  auto props = [&](const std::string& db) {
    return pg_->Value(
        "postgres",
        "SELECT coalesce(string_agg(coalesce(r.rolname, '*') || ':' || (SELECT string_agg(x, '|' "
        "ORDER BY x) FROM unnest(s.setconfig) x), "
        "';' ORDER BY 1), '') || ' ' || coalesce(d.datacl::text, 'default') FROM pg_database d "
        "LEFT JOIN pg_db_role_setting s ON s.setdatabase = d.oid LEFT JOIN pg_roles r ON r.oid = "
        "s.setrole "
        "WHERE d.datname = '" +
            db + "' GROUP BY d.datacl::text");
  };
  EXPECT_TRUE(Contains(props(live_), "search_path=\"$user\", public, other")) << props(live_);
  EXPECT_EQ(props(restored), props(live_));
  // 3 settings; REVOKE from PUBLIC; CONNECT, CREATE, TEMPORARY for the owner; CONNECT for
  // shop_owner.
  EXPECT_EQ((*report)["database_properties"].size(), 8u) << report->dump();
  // The new database uses the original's encoding and locale.
  EXPECT_EQ(pg_->Value("postgres",
                       "SELECT pg_encoding_to_char(encoding) || ' ' || datcollate FROM pg_database "
                       "WHERE datname = '" +
                           restored + "'"),
            pg_->Value("postgres",
                       "SELECT pg_encoding_to_char(encoding) || ' ' || datcollate FROM pg_database "
                       "WHERE datname = '" +
                           live_ + "'"));

  // no_owner: everything belongs to the restoring role.
  PostgresRestoreOptions plain = To(live_ + "_plain");
  plain.no_owner = true;
  auto r2 = Restore(snap, plain);
  ASSERT_TRUE(r2.ok()) << r2.status().ToString();
  EXPECT_EQ(pg_->Value(live_ + "_plain",
                       "SELECT tableowner FROM pg_tables WHERE tablename = 'Mixed Case'"),
            "postgres");
  EXPECT_EQ(Digest(*pg_, live_ + "_plain"), before);
}

TEST_F(PostgresTest, ChosenTablesAreDumpedAndRestored) {
  MakeShop(live_);
  auto before = Digest(*pg_, live_);
  // Backup of chosen tables: names as SQL reads them (search path, quotes);
  // a view is dumped but has no rows to count.
  auto b = Backup({{"tables", {"PGBENCH_BRANCHES", "\"Mixed Case\"", "odd", "public.odd_view"}}});
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  const nlohmann::json& pos = b->snapshot.sources;
  EXPECT_EQ(pos["row_counts"], (nlohmann::json{{"public.pgbench_branches", 1},
                                               {"public.\"Mixed Case\"", 50},
                                               {"public.odd", 5000}}))
      << pos.dump();
  EXPECT_EQ(pos["tables"].size(), 4u);
  auto r = Restore(b->snapshot, To(live_ + "_some"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)["tables"].size(), 3u);
  auto some = Digest(*pg_, live_ + "_some");
  EXPECT_EQ(some.size(), 3u);
  EXPECT_EQ(some["public.pgbench_branches"], before["public.pgbench_branches"]);
  EXPECT_EQ(some["public.\"Mixed Case\""], before["public.\"Mixed Case\""]);
  EXPECT_EQ(some["public.odd"], before["public.odd"]);
  EXPECT_EQ(pg_->Value(live_ + "_some", "SELECT count(*) FROM odd_view"), "2500");

  // A view chosen without the table it reads: pg_restore cannot create it,
  // and the restore fails without leaving a half-restored database.
  auto view_only = Backup({{"tables", {"odd_view"}}});
  ASSERT_TRUE(view_only.ok()) << view_only.status().ToString();
  auto vr = Restore(view_only->snapshot, To(live_ + "_view"));
  ASSERT_FALSE(vr.ok());
  EXPECT_TRUE(Contains(vr.status().message(), "relation \"public.odd\" does not exist"))
      << vr.status().message();
  EXPECT_FALSE(DatabaseExists(live_ + "_view"));

  // --tables on restore, from a full backup.
  auto full = Backup(nlohmann::json::object());
  ASSERT_TRUE(full.ok()) << full.status().ToString();
  PostgresRestoreOptions o = To(live_ + "_two");
  o.tables = {"public.pgbench_tellers,odd"};
  auto two = Restore(full->snapshot, o);
  ASSERT_TRUE(two.ok()) << two.status().ToString();
  EXPECT_EQ((*two)["tables"].size(), 2u) << two->dump();
  auto d = Digest(*pg_, live_ + "_two");
  EXPECT_EQ(d, (std::map<std::string, std::string>{
                   {"public.pgbench_tellers", before["public.pgbench_tellers"]},
                   {"public.odd", before["public.odd"]}}));

  // A schema-qualified name picks that schema only (its schema is created).
  o = To(live_ + "_other");
  o.tables = {"other.pgbench_branches"};
  auto other = Restore(full->snapshot, o);
  ASSERT_TRUE(other.ok()) << other.status().ToString();
  EXPECT_EQ(Digest(*pg_, live_ + "_other"),
            (std::map<std::string, std::string>{
                {"other.pgbench_branches", before["other.pgbench_branches"]}}));

  // An unqualified name is every table of that name, as pg_restore reads it,
  // and the report says so.
  o = To(live_ + "_both");
  o.tables = {"pgbench_branches"};
  auto both = Restore(full->snapshot, o);
  ASSERT_TRUE(both.ok()) << both.status().ToString();
  EXPECT_TRUE((*both)["tables"].contains("public.pgbench_branches"));
  EXPECT_TRUE((*both)["tables"].contains("other.pgbench_branches"));

  // A table the snapshot does not have: refused before anything is created.
  o = To(live_ + "_none");
  o.tables = {"no_such_table"};
  auto none = Restore(full->snapshot, o);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(DatabaseExists(live_ + "_none"));

  // And a chosen table that does not exist fails the backup.
  size_t snaps = SnapshotCount();
  auto missing = Backup({{"tables", {"pgbench_accounts", "no_such_table"}}});
  ASSERT_FALSE(missing.ok());
  EXPECT_TRUE(Contains(missing.status().message(), "'no_such_table' does not exist"))
      << missing.status().message();
  EXPECT_EQ(SnapshotCount(), snaps);
}

TEST_F(PostgresTest, SchemaOnlyDumpRestoresEmptyTables) {
  MakeShop(live_);
  auto b = Backup({{"schema_only", true}});
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ(b->snapshot.sources["schema_only"], true);
  EXPECT_EQ(b->snapshot.sources["row_counts"]["public.pgbench_accounts"], 0);
  auto r = Restore(b->snapshot, To(live_ + "_schema"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)["tables"]["public.pgbench_accounts"]["restored"], 0);
  EXPECT_EQ(pg_->Value(live_ + "_schema", "SELECT count(*) FROM odd_view"), "0");
  EXPECT_EQ(
      pg_->Value(live_ + "_schema", "SELECT count(*) FROM pg_indexes WHERE indexname = 'odd_doc'"),
      "1");
}

TEST_F(PostgresTest, SwapRenamesLiveToOldOnlyWhenNobodyUsesIt) {
  MakeShop(live_);
  auto before = Digest(*pg_, live_);
  auto b = Backup(nlohmann::json::object());
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  // The live database moves on after the backup.
  ASSERT_TRUE(
      pg_->Exec(live_, "INSERT INTO odd (id, note) VALUES (999999, 'after the backup')").ok());

  // A session on the live database blocks the swap; nothing is renamed and
  // the restored database is kept.
  auto info = pg::ConnInfo::Parse(pg_->Dsn(live_), "dsn");
  ASSERT_TRUE(info.ok());
  auto session = pg::PgConn::Connect(*info);
  ASSERT_TRUE(session.ok()) << session.status().ToString();
  std::string pid = (*session)->Exec("SELECT pg_backend_pid()")->Get(0, 0);
  PostgresRestoreOptions o = To(live_ + "_new");
  o.swap = true;
  auto refused = Restore(b->snapshot, o);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(Contains(refused.status().message(), "pid " + pid)) << refused.status().message();
  EXPECT_TRUE(Contains(refused.status().message(), "RENAME TO")) << refused.status().message();
  EXPECT_EQ(pg_->Value(live_, "SELECT count(*) FROM odd WHERE id = 999999"), "1");
  EXPECT_TRUE(DatabaseExists(live_ + "_new"));
  ASSERT_TRUE(pg_->Exec("postgres", "DROP DATABASE " + live_ + "_new").ok());

  // Once the session is gone the swap goes through.
  session->reset();
  auto swapped = Restore(b->snapshot, o);
  ASSERT_TRUE(swapped.ok()) << swapped.status().ToString();
  EXPECT_EQ((*swapped)["swapped"], true);
  std::string old = (*swapped)["old_database"];
  EXPECT_EQ(old.rfind(live_ + "_old_", 0), 0u) << old;
  EXPECT_EQ(old.size(), live_.size() + 5 + 14);
  EXPECT_FALSE(DatabaseExists(live_ + "_new"));
  EXPECT_EQ(Digest(*pg_, live_), before);  // live is now the snapshot
  EXPECT_EQ(pg_->Value(old, "SELECT note FROM odd WHERE id = 999999"),
            "after the backup");  // old kept

  // With terminate_connections, sessions on the live database are ended.
  auto again = pg::PgConn::Connect(*info);
  ASSERT_TRUE(again.ok());
  o = To(live_ + "_newer");
  o.swap = true;
  o.terminate_connections = true;
  // Another second, another old name.
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  auto forced = Restore(b->snapshot, o);
  ASSERT_TRUE(forced.ok()) << forced.status().ToString();
  EXPECT_EQ((*forced)["swapped"], true);
  EXPECT_EQ((*forced)["terminated_sessions"].size(), 1u);
  EXPECT_FALSE((*again)->Exec("SELECT 1").ok());  // its session was ended
  EXPECT_TRUE(DatabaseExists((*forced)["old_database"]));
  EXPECT_EQ(pg_->Value("postgres", "SELECT datallowconn::text FROM pg_database WHERE datname = '" +
                                       (*forced)["old_database"].get<std::string>() + "'"),
            "true");
  EXPECT_EQ(Digest(*pg_, live_), before);
}

TEST_F(PostgresTest, FailedDumpsStoreNoSnapshot) {
  MakeShop(live_);
  // pg_dump dies midway (SIGPIPE after 64 KiB of output has been streamed).
  std::string cut =
      Wrapper("pg_dump_cut", "\"$REAL\" \"$@\" | head -c 65536\nexit ${PIPESTATUS[0]}");
  auto b = Backup({{"pg_dump", cut}});
  ASSERT_FALSE(b.ok());
  EXPECT_TRUE(Contains(b.status().message(), "postgres source 'postgres'")) << b.status().message();
  EXPECT_TRUE(Contains(b.status().message(), "exit status 141")) << b.status().message();
  EXPECT_EQ(SnapshotCount(), 0u);

  // pg_dump refuses an option: its stderr is in the error.
  std::string bad = Wrapper("pg_dump_bad_option", "exec \"$REAL\" --no-such-option \"$@\"");
  b = Backup({{"pg_dump", bad}});
  ASSERT_FALSE(b.ok());
  EXPECT_TRUE(Contains(b.status().message(), "no-such-option")) << b.status().message();
  EXPECT_EQ(SnapshotCount(), 0u);

  // The server ends pg_dump's session while it is blocked mid-stream.
  std::string killed =
      Wrapper("pg_dump_terminated", "set -o pipefail\n( sleep 0.5; '" + pg_->bin() +
                                        "/psql' -X -q -d '" + pg_->Dsn("postgres") +
                                        "' -c \"SELECT pg_terminate_backend(pid) FROM "
                                        "pg_stat_activity WHERE application_name = 'pg_dump'\" "
                                        ">/dev/null ) &\n\"$REAL\" \"$@\" | { sleep 1.5; cat; }");
  b = Backup({{"pg_dump", killed}});
  ASSERT_FALSE(b.ok());
  EXPECT_TRUE(Contains(b.status().message(), "pg_dump_terminated' failed")) << b.status().message();
  EXPECT_EQ(SnapshotCount(), 0u);

  // No pg_dump at all.
  b = Backup({{"pg_dump", "/nonexistent/pg_dump"}});
  ASSERT_FALSE(b.ok());
  EXPECT_TRUE(Contains(b.status().message(), "not found")) << b.status().message();
  EXPECT_EQ(SnapshotCount(), 0u);

  // A plain good one afterwards works.
  ASSERT_TRUE(Backup(nlohmann::json::object()).ok());
  EXPECT_EQ(SnapshotCount(), 1u);
}

TEST_F(PostgresTest, ConnectionProblemsGiveOneLineNamingServerAndWhatToCheck) {
  MakeShop(live_);
  const std::string port = std::to_string(pg_->port());
  auto check = [&](const nlohmann::json& config, StatusCode code,
                   const std::vector<std::string>& parts) {
    auto start = std::chrono::steady_clock::now();
    auto b = Backup(config);
    ASSERT_FALSE(b.ok()) << config.dump();
    EXPECT_EQ(b.status().code(), code) << b.status().ToString();
    EXPECT_FALSE(Contains(b.status().message(), "\n")) << b.status().message();
    EXPECT_FALSE(Contains(b.status().message(), pg_->password())) << b.status().message();
    for (const auto& p : parts)
      EXPECT_TRUE(Contains(b.status().message(), p)) << b.status().message();
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(8)) << config.dump();
  };
  check({{"dsn", pg_->Dsn("no_such_db")}}, StatusCode::kNotFound,
        {"database 'no_such_db' does not exist at 127.0.0.1:" + port, "check the database name"});
  int closed = pg_->port() == 1 ? 2 : 1;
  check({{"dsn", "postgresql://postgres@127.0.0.1:" + std::to_string(closed) + "/" + live_}},
        StatusCode::kUnavailable,
        {"127.0.0.1:" + std::to_string(closed), "connection refused", "is running"});
  // Unroutable (TEST-NET-1): fails within connect_timeout, not the TCP timeout.
  check({{"dsn", "postgresql://postgres@192.0.2.1:5432/" + live_ + "?connect_timeout=2"}},
        StatusCode::kUnavailable, {"192.0.2.1:5432"});

  auto good = Backup(nlohmann::json::object());
  ASSERT_TRUE(good.ok()) << good.status().ToString();
  ::setenv("PGPASSWORD", "wrong-password", 1);
  check(nlohmann::json::object(), StatusCode::kPermissionDenied,
        {"wrong password for user 'postgres'", "127.0.0.1:" + port, "PGPASSWORD"});
  // The restore target says the same, and creates nothing.
  auto r = Restore(good->snapshot, To(live_ + "_x"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kPermissionDenied);
  EXPECT_TRUE(Contains(r.status().message(), "wrong password")) << r.status().message();
  ::unsetenv("PGPASSWORD");
  ::setenv("PGPASSFILE", (base_ + "/no-pgpass").c_str(), 1);
  check(nlohmann::json::object(), StatusCode::kPermissionDenied,
        {"asks for a password", "~/.pgpass"});
  ::unsetenv("PGPASSFILE");

  // ~/.pgpass (via PGPASSFILE) works like PGPASSWORD.
  std::string pgpass = base_ + "/pgpass";
  {
    std::ofstream f(pgpass);
    f << "127.0.0.1:" << port << ":*:postgres:" << pg_->password() << "\n";
  }
  ::chmod(pgpass.c_str(), 0600);
  ::setenv("PGPASSFILE", pgpass.c_str(), 1);
  auto ok = Backup(nlohmann::json::object());
  EXPECT_TRUE(ok.ok()) << ok.status().ToString();
  ::unsetenv("PGPASSFILE");
  ::setenv("PGPASSWORD", pg_->password().c_str(), 1);
  EXPECT_EQ(SnapshotCount(), 2u);
  EXPECT_FALSE(DatabaseExists(live_ + "_x"));
}

TEST_F(PostgresTest, BackupRoleWithoutRestorePointPrivilegeStillBacksUp) {
  MakeShop(live_);
  Status s = pg_->Exec(
      "postgres",
      "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ward_backup') THEN "
      "CREATE ROLE ward_backup LOGIN PASSWORD '" +
          pg_->password() +
          "'; END IF; END $$; "
          "GRANT pg_read_all_data TO ward_backup");
  ASSERT_TRUE(s.ok()) << s.ToString();
  // The shop database admits only those granted CONNECT.
  auto refused = Backup({{"dsn", pg_->Dsn(live_, "ward_backup")}});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kPermissionDenied);
  EXPECT_TRUE(Contains(refused.status().message(), "GRANT CONNECT")) << refused.status().message();
  ASSERT_TRUE(pg_->Exec("postgres", "GRANT CONNECT ON DATABASE " + live_ + " TO ward_backup").ok());
  auto b = Backup({{"dsn", pg_->Dsn(live_, "ward_backup")}});
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  const nlohmann::json& pos = b->snapshot.sources;
  EXPECT_TRUE(pos["restore_point"].is_null()) << pos.dump();
  EXPECT_TRUE(Contains(pos.value("restore_point_skipped", ""), "permission denied")) << pos.dump();
  EXPECT_EQ(pos["row_counts"]["public.pgbench_accounts"], 100000);
  auto r = Restore(b->snapshot, To(live_ + "_r"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
}

TEST_F(PostgresTest, RestoreNeverTouchesAnExistingDatabase) {
  MakeShop(live_);
  auto b = Backup(nlohmann::json::object());
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  ASSERT_TRUE(pg_->Exec("postgres", "CREATE DATABASE " + live_ + "_taken").ok());
  ASSERT_TRUE(
      pg_->Exec(live_ + "_taken", "CREATE TABLE keep (x int); INSERT INTO keep VALUES (42)").ok());
  auto r = Restore(b->snapshot, To(live_ + "_taken"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kAlreadyExists);
  EXPECT_TRUE(Contains(r.status().message(), "DROP DATABASE")) << r.status().message();
  EXPECT_TRUE(Contains(r.status().message(), "another name")) << r.status().message();
  EXPECT_EQ(pg_->Value(live_ + "_taken", "SELECT x FROM keep"), "42");
  EXPECT_EQ(
      pg_->Value(live_ + "_taken", "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"),
      "1");
}

TEST_F(PostgresTest, RowCountMismatchFailsTheRestoreAndBlocksTheSwap) {
  MakeShop(live_);
  auto b = Backup(nlohmann::json::object());
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  PostgresRestoreOptions o = To(live_ + "_bad");
  o.position = b->snapshot.sources;
  o.position["row_counts"]["public.odd"] = 4999;
  o.position["row_counts"]["public.gone"] = 5;
  o.swap = true;
  auto r = Restore(b->snapshot, o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDataLoss);
  EXPECT_TRUE(
      Contains(r.status().message(), "public.odd has 5000 rows, the snapshot recorded 4999"))
      << r.status().message();
  EXPECT_TRUE(Contains(r.status().message(), "public.gone is missing")) << r.status().message();
  EXPECT_TRUE(Contains(r.status().message(), "nothing was swapped")) << r.status().message();
  EXPECT_TRUE(DatabaseExists(live_));
  EXPECT_TRUE(DatabaseExists(live_ + "_bad"));  // kept for inspection
}

TEST_F(PostgresTest, BrokenArchiveLeavesNoHalfRestoredDatabase) {
  // Something that calls itself a dump but is not one.
  auto src =
      CommandSource::Create({{"sh", "-c", "head -c 200000 /dev/urandom"}, "fake.pgdump", false});
  ASSERT_TRUE(src.ok());
  auto b = engine::RunBackup(*Open(), **src, engine::BackupOptions(), nullptr);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  auto r = Restore(b->snapshot, To(live_ + "_broken"));
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(Contains(r.status().message(), "pg_restore")) << r.status().message();
  EXPECT_TRUE(Contains(r.status().message(), "dropped again")) << r.status().message();
  EXPECT_FALSE(DatabaseExists(live_ + "_broken"));

  // A snapshot of files is not a database dump.
  auto cmd = CommandSource::Create({{"sh", "-c", "echo hi"}, "notes.txt", false});
  auto nb = engine::RunBackup(*Open(), **cmd, engine::BackupOptions(), nullptr);
  ASSERT_TRUE(nb.ok());
  auto nr = Restore(nb->snapshot, To(live_ + "_notes"));
  ASSERT_FALSE(nr.ok());
  EXPECT_TRUE(Contains(nr.status().message(), "not a PostgreSQL dump")) << nr.status().message();
  EXPECT_FALSE(DatabaseExists(live_ + "_notes"));
}

}  // namespace
}  // namespace ward::source
