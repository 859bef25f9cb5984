// Unit tests of the PostgreSQL module that need no server: DSN parsing and
// the password rule, quoting, table names, tool lookup, option validation,
// and the process plumbing pg_restore is fed through.
#include "source/postgres/dsn.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "source/postgres/command_writer.h"
#include "source/postgres/pg_conn.h"
#include "source/postgres/postgres.h"

namespace ward::source {
namespace {

using pg::ConnInfo;
using pg::ParseQualifiedName;
using pg::QualifiedName;

bool Contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

TEST(DsnTest, ParsesUriAndKeyValueForms) {
  auto u = ConnInfo::Parse("postgresql://backup@db.example:6543/aura_sign?sslmode=require", "dsn");
  ASSERT_TRUE(u.ok()) << u.status().ToString();
  EXPECT_EQ(u->Get("user"), "backup");
  EXPECT_EQ(u->Get("host"), "db.example");
  EXPECT_EQ(u->Get("port"), "6543");
  EXPECT_EQ(u->dbname(), "aura_sign");
  EXPECT_EQ(u->Get("sslmode"), "require");
  EXPECT_EQ(u->Endpoint(), "db.example:6543");
  EXPECT_EQ(u->Describe(), "database 'aura_sign' at db.example:6543");

  auto k = ConnInfo::Parse("host=10.0.0.5 port=5433 dbname='my db' user=ward", "dsn");
  ASSERT_TRUE(k.ok()) << k.status().ToString();
  EXPECT_EQ(k->dbname(), "my db");
  EXPECT_EQ(k->Endpoint(), "10.0.0.5:5433");

  auto pct = ConnInfo::Parse("postgresql://u@h/caf%C3%A9", "dsn");
  ASSERT_TRUE(pct.ok());
  EXPECT_EQ(pct->dbname(), "café");
}

TEST(DsnTest, RefusesEveryFormOfPasswordWithoutRepeatingIt) {
  for (const std::string dsn : {"postgresql://backup:s3cr3t-pw@db:5432/app",
                                "postgresql://backup@db:5432/app?password=s3cr3t-pw",
                                "host=db dbname=app user=backup password=s3cr3t-pw",
                                "host=db dbname=app sslpassword=s3cr3t-pw"}) {
    auto r = ConnInfo::Parse(dsn, "source 'db': dsn");
    ASSERT_FALSE(r.ok()) << dsn;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_FALSE(Contains(r.status().message(), "s3cr3t")) << r.status().message();
    EXPECT_TRUE(Contains(r.status().message(), "PGPASSWORD")) << r.status().message();
    EXPECT_TRUE(Contains(r.status().message(), "~/.pgpass")) << r.status().message();
    EXPECT_TRUE(Contains(r.status().message(), "source 'db': dsn")) << r.status().message();
  }
  // An empty password is no secret.
  EXPECT_TRUE(ConnInfo::Parse("host=db dbname=app password=''", "dsn").ok());
}

TEST(DsnTest, SyntaxErrorsAreExplainedWithoutEchoingSecrets) {
  auto e = ConnInfo::Parse("", "--to");
  ASSERT_FALSE(e.ok());
  EXPECT_TRUE(Contains(e.status().message(), "--to is empty"));

  auto bad = ConnInfo::Parse("postgresql://u@h/db?nosuchparam=1", "dsn");
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(Contains(bad.status().message(), "not a valid PostgreSQL DSN"))
      << bad.status().message();
  EXPECT_TRUE(Contains(bad.status().message(), "nosuchparam")) << bad.status().message();

  auto port = ConnInfo::Parse("postgresql://u@h:notaport/db", "--to");
  ASSERT_FALSE(port.ok());
  EXPECT_TRUE(Contains(port.status().message(), "--to: port 'notaport' is not a port number"))
      << port.status().message();
  EXPECT_FALSE(ConnInfo::Parse("host=h port=70000 dbname=d", "dsn").ok());
  EXPECT_TRUE(ConnInfo::Parse("host=a,b port=5432,5433 dbname=d", "dsn").ok());

  auto kv = ConnInfo::Parse("host=db dbname", "dsn");
  ASSERT_FALSE(kv.ok());
  EXPECT_TRUE(Contains(kv.status().message(), "dbname")) << kv.status().message();

  // Malformed, and it might be a password: libpq's quoted fragment is dropped.
  auto hidden = ConnInfo::Parse("postgresql://u:hunter2@h/db?nosuchparam=1", "dsn");
  ASSERT_FALSE(hidden.ok());
  EXPECT_FALSE(Contains(hidden.status().message(), "hunter2")) << hidden.status().message();
  auto hidden2 = ConnInfo::Parse("host=h password", "dsn");
  ASSERT_FALSE(hidden2.ok());
  EXPECT_TRUE(Contains(hidden2.status().message(), "syntax error")) << hidden2.status().message();
}

TEST(DsnTest, ConninfoQuotesValuesDefaultsTimeoutAndSwapsDatabase) {
  ::unsetenv("PGCONNECT_TIMEOUT");
  auto c =
      ConnInfo::Parse("host=db dbname=app user='o\\'brien' application_name='a b\\\\c'", "dsn");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->Get("user"), "o'brien");
  EXPECT_EQ(c->Get("application_name"), "a b\\c");
  std::string ci = c->ToConninfo();
  EXPECT_TRUE(Contains(ci, "user='o\\'brien'")) << ci;
  EXPECT_TRUE(Contains(ci, "application_name='a b\\\\c'")) << ci;
  EXPECT_TRUE(Contains(ci, "connect_timeout='10'")) << ci;
  EXPECT_TRUE(Contains(ci, "dbname='app'")) << ci;
  // What we render parses back to the same values.
  auto again = ConnInfo::Parse(ci, "dsn");
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->Get("user"), "o'brien");
  EXPECT_EQ(again->Get("application_name"), "a b\\c");

  std::string other = c->ToConninfo("app_new");
  EXPECT_TRUE(Contains(other, "dbname='app_new'")) << other;
  EXPECT_FALSE(Contains(other, "dbname='app'")) << other;

  auto t = ConnInfo::Parse("postgresql://u@h/db?connect_timeout=3", "dsn");
  ASSERT_TRUE(t.ok());
  EXPECT_TRUE(Contains(t->ToConninfo(), "connect_timeout='3'"));
  EXPECT_FALSE(Contains(t->ToConninfo(), "connect_timeout='10'"));

  auto nodb = ConnInfo::Parse("postgresql://u@h:1", "dsn");
  ASSERT_TRUE(nodb.ok());
  EXPECT_TRUE(Contains(nodb->ToConninfo("postgres"), "dbname='postgres'"));
}

TEST(DsnTest, EndpointFallsBackToEnvironmentAndDefaults) {
  ::setenv("PGHOST", "envhost", 1);
  ::setenv("PGPORT", "7777", 1);
  auto c = ConnInfo::Parse("dbname=app", "dsn");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->Endpoint(), "envhost:7777");
  ::unsetenv("PGHOST");
  ::unsetenv("PGPORT");
  EXPECT_EQ(c->Endpoint(), "localhost:5432");
  auto v6 = ConnInfo::Parse("postgresql://u@[::1]:5433/db", "dsn");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->Endpoint(), "[::1]:5433");
}

TEST(QuoteTest, IdentifiersAreAlwaysQuotedAndQuotesDoubled) {
  EXPECT_EQ(pg::QuoteIdent("accounts"), "\"accounts\"");
  EXPECT_EQ(pg::QuoteIdent("Order Items"), "\"Order Items\"");
  EXPECT_EQ(pg::QuoteIdent("we\"ird"), "\"we\"\"ird\"");
  EXPECT_EQ(pg::QuoteIdent("a*b?.c"), "\"a*b?.c\"");
  EXPECT_EQ(pg::QuoteIdent("ünï🐘"), "\"ünï🐘\"");
  EXPECT_EQ(pg::QuoteIdent(""), "\"\"");
}

TEST(QuoteTest, LiteralsDoubleQuotesAndEscapeBackslashes) {
  EXPECT_EQ(pg::QuoteLiteral("en_US.UTF-8"), "'en_US.UTF-8'");
  EXPECT_EQ(pg::QuoteLiteral("it's"), "'it''s'");
  EXPECT_EQ(pg::QuoteLiteral("a\\b'c"), "E'a\\\\b''c'");
}

TEST(TableNameTest, FoldsUnquotedAndKeepsQuotedNames) {
  EXPECT_EQ(*ParseQualifiedName("Accounts"), (QualifiedName{"", "accounts"}));
  EXPECT_EQ(*ParseQualifiedName("Public.pgbench_Accounts"),
            (QualifiedName{"public", "pgbench_accounts"}));
  EXPECT_EQ(*ParseQualifiedName("\"MySchema\".\"Order Items\""),
            (QualifiedName{"MySchema", "Order Items"}));
  EXPECT_EQ(*ParseQualifiedName("s.\"a\"\"b\""), (QualifiedName{"s", "a\"b"}));
  EXPECT_EQ(*ParseQualifiedName("  t_1$x "), (QualifiedName{"", "t_1$x"}));
  EXPECT_EQ(*ParseQualifiedName("\"a.b\""), (QualifiedName{"", "a.b"}));
  EXPECT_EQ(*ParseQualifiedName("ünïcode"), (QualifiedName{"", "ünïcode"}));
  // Keys recorded by the source (quote_ident form) parse back.
  EXPECT_EQ(*ParseQualifiedName("public.\"Mixed\""), (QualifiedName{"public", "Mixed"}));
  EXPECT_EQ(ParseQualifiedName("s.\"a\"\"b\"")->Quoted(), "\"s\".\"a\"\"b\"");
}

TEST(TableNameTest, RejectsWhatSqlWouldReject) {
  for (const char* bad : {"", "a.b.c", "a b", "1abc", "\"unterminated", "a.", ".a", "\"\"",
                          "a;drop table x", "a-b"}) {
    auto r = ParseQualifiedName(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    }
  }
}

TEST(TableNameTest, SplitsListsOutsideQuotes) {
  EXPECT_EQ(pg::SplitTableList("a, b ,c"), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(pg::SplitTableList("\"x,y\",z,,"), (std::vector<std::string>{"\"x,y\"", "z"}));
  EXPECT_TRUE(pg::SplitTableList(" , ").empty());
}

TEST(ToolTest, PrefersTheServersMajorVersionThenPath) {
  auto only = [](std::string path) { return [path](const std::string& p) { return p == path; }; };
  EXPECT_EQ(pg::FindPgTool("pg_dump", 150004, "", only("/usr/lib/postgresql/15/bin/pg_dump")),
            "/usr/lib/postgresql/15/bin/pg_dump");
  EXPECT_EQ(pg::FindPgTool("pg_dump", 90624, "", only("/usr/lib/postgresql/9.6/bin/pg_dump")),
            "/usr/lib/postgresql/9.6/bin/pg_dump");
  EXPECT_EQ(pg::FindPgTool("pg_dump", 150004, "/opt/pg/bin/pg_dump", only("")),
            "/opt/pg/bin/pg_dump");
  // A server newer than every installed client: PATH's pg_dump (which will
  // say clearly that it is too old).
  EXPECT_EQ(pg::FindPgTool("pg_restore", 990000, "", only("")), "pg_restore");
}

plan::PlanSource PlanOf(nlohmann::json config) {
  plan::PlanSource ps;
  ps.name = "db";
  ps.kind = "postgres";
  ps.config = std::move(config);
  return ps;
}

TEST(PostgresSourceTest, PlanKeysAreValidated) {
  auto phys = MakePostgresSource(PlanOf({{"dsn", "postgresql://u@h/app"}, {"mode", "physical"}}));
  ASSERT_FALSE(phys.ok());
  EXPECT_EQ(phys.status().code(), StatusCode::kUnimplemented);
  EXPECT_TRUE(Contains(phys.status().message(), "not yet supported")) << phys.status().message();

  auto mode = MakePostgresSource(PlanOf({{"dsn", "postgresql://u@h/app"}, {"mode", "logic"}}));
  ASSERT_FALSE(mode.ok());
  EXPECT_TRUE(Contains(mode.status().message(), "\"logical\" or \"physical\""));

  auto nodsn = MakePostgresSource(PlanOf(nlohmann::json::object()));
  ASSERT_FALSE(nodsn.ok());
  EXPECT_TRUE(Contains(nodsn.status().message(), "needs 'dsn'")) << nodsn.status().message();

  auto pw = MakePostgresSource(PlanOf({{"dsn", "postgresql://u:pw123@h/app"}}));
  ASSERT_FALSE(pw.ok());
  EXPECT_TRUE(Contains(pw.status().message(), "source 'db'")) << pw.status().message();
  EXPECT_FALSE(Contains(pw.status().message(), "pw123"));

  auto nodb = MakePostgresSource(PlanOf({{"dsn", "postgresql://u@h:5432"}}));
  ASSERT_FALSE(nodb.ok());
  EXPECT_TRUE(Contains(nodb.status().message(), "names no database")) << nodb.status().message();

  auto badtable =
      MakePostgresSource(PlanOf({{"dsn", "postgresql://u@h/app"}, {"tables", {"a b"}}}));
  ASSERT_FALSE(badtable.ok());
  EXPECT_TRUE(Contains(badtable.status().message(), "'a b'")) << badtable.status().message();

  auto badtype =
      MakePostgresSource(PlanOf({{"dsn", "postgresql://u@h/app"}, {"schema_only", "yes"}}));
  EXPECT_FALSE(badtype.ok());
}

TEST(PostgresSourceTest, ListsOnePrivateUncacheableDumpFile) {
  auto s = MakePostgresSource(PlanOf({{"dsn", "postgresql://u@h/aura_sign"},
                                      {"schema_only", true},
                                      {"tables", {"a", "s.\"B\""}}}));
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ((*s)->Kind(), "postgres");
  EXPECT_FALSE((*s)->PartialOk());
  EXPECT_EQ((*s)->Paths(), (std::vector<std::string>{"/aura_sign.pgdump"}));
  std::vector<Status> skipped;
  auto entries = (*s)->List("", &skipped);
  ASSERT_TRUE(entries.ok());
  ASSERT_EQ(entries->size(), 1u);
  EXPECT_EQ((*entries)[0].node.name, "aura_sign.pgdump");
  EXPECT_EQ((*entries)[0].node.mode, 0600u);
  EXPECT_FALSE((*entries)[0].cacheable);
  EXPECT_FALSE((*s)->List("sub", &skipped).ok());
  EXPECT_FALSE((*s)->Open("other.pgdump", (*entries)[0]).ok());
  EXPECT_TRUE((*s)->Position().empty());
}

TEST(PostgresRestoreTargetTest, OptionsAreValidatedBeforeAnythingIsTouched) {
  RestoreTargetOptions o;
  o.to = "postgresql://u@h:5432";
  auto nodb = MakePostgresRestoreTarget(o);
  ASSERT_FALSE(nodb.ok());
  EXPECT_TRUE(Contains(nodb.status().message(), "must name the new database"));

  o.to = "postgresql://u:hunter2@h/app_new";
  auto pw = MakePostgresRestoreTarget(o);
  ASSERT_FALSE(pw.ok());
  EXPECT_FALSE(Contains(pw.status().message(), "hunter2"));

  o.to = "postgresql://u@h/app_new";
  o.swap = true;
  auto noposition = MakePostgresRestoreTarget(o);
  ASSERT_FALSE(noposition.ok());
  EXPECT_EQ(noposition.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(Contains(noposition.status().message(), "row counts"));

  nlohmann::json pos = {{"database", "app"},
                        {"row_counts", {{"public.a", 3}, {"public.b", 4}, {"x.a", 1}}}};
  auto ok = MakePostgresRestoreTarget(o, pos);
  EXPECT_TRUE(ok.ok()) << ok.status().ToString();

  o.to = "postgresql://u@h/app";
  auto intolive = MakePostgresRestoreTarget(o, pos);
  ASSERT_FALSE(intolive.ok());
  EXPECT_TRUE(Contains(intolive.status().message(), "not into the live database"));

  o.to = "postgresql://u@h/app_new";
  o.tables = {"a"};
  auto partial = MakePostgresRestoreTarget(o, pos);
  ASSERT_FALSE(partial.ok());
  EXPECT_TRUE(Contains(partial.status().message(), "--swap cannot be combined with --tables"));

  o.swap = false;
  o.tables = {"public.c"};
  auto missing = MakePostgresRestoreTarget(o, pos);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(Contains(missing.status().message(), "public.a")) << missing.status().message();

  o.tables = {"a,public.b"};
  EXPECT_TRUE(MakePostgresRestoreTarget(o, pos).ok());
  o.tables = {"bad name"};
  EXPECT_FALSE(MakePostgresRestoreTarget(o, pos).ok());
}

// A Reader over a string, for feeding targets without a repository.
class StringReader : public Reader {
 public:
  explicit StringReader(std::string s) : s_(std::move(s)) {}
  Result<size_t> Read(std::span<uint8_t> out) override {
    size_t n = std::min(out.size(), s_.size() - off_);
    std::memcpy(out.data(), s_.data() + off_, n);
    off_ += n;
    return n;
  }

 private:
  std::string s_;
  size_t off_ = 0;
};

TEST(PostgresRestoreTargetTest, OnlyDumpFilesAreAccepted) {
  RestoreTargetOptions o;
  o.to = "postgresql://u@127.0.0.1:1/app_new";
  auto t = MakePostgresRestoreTarget(o);
  ASSERT_TRUE(t.ok());
  StringReader r("not a dump");
  Status s = (*t)->RestoreFile("notes.txt", repo::Node(), r);
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(Contains(s.message(), "--target DIR")) << s.message();
  auto fin = (*t)->Finish();
  ASSERT_FALSE(fin.ok());
  EXPECT_TRUE(Contains(fin.status().message(), "no PostgreSQL dump")) << fin.status().message();
}

TEST(PostgresPositionTest, FindsThePositionInSingleAndPlanSnapshots) {
  nlohmann::json single = {{"lsn", "0/3000060"}, {"row_counts", {{"public.a", 1}}}};
  EXPECT_EQ(PostgresPosition(single, ""), single);
  nlohmann::json plan = {{"postgres", {{"kind", "postgres"}, {"position", single}}},
                         {"files", {{"kind", "files"}, {"position", nlohmann::json::object()}}}};
  EXPECT_EQ(PostgresPosition(plan, "postgres"), single);
  EXPECT_EQ(PostgresPosition(plan, ""), single);
  EXPECT_TRUE(PostgresPosition(plan, "files").empty());
  EXPECT_TRUE(PostgresPosition(plan, "nope").empty());
  plan["second"] = {{"kind", "postgres"}, {"position", single}};
  EXPECT_TRUE(PostgresPosition(plan, "").empty());  // ambiguous: name the part
}

std::string Slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

TEST(CommandWriterTest, StreamsIntoTheChildsStdin) {
  char dir[] = "/tmp/ward-cw-XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  std::string out = std::string(dir) + "/out";
  auto w = pg::CommandWriter::Start({"sh", "-c", "cat > '" + out + "'"}, false);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  std::string data(3 << 20, 'x');
  for (size_t i = 0; i < data.size(); i += 7) data[i] = static_cast<char>(i);
  ASSERT_TRUE(
      (*w)->Write(ByteView(reinterpret_cast<const uint8_t*>(data.data()), data.size())).ok());
  ASSERT_TRUE((*w)->Finish().ok());
  EXPECT_EQ(Slurp(out), data);
  std::filesystem::remove_all(dir);
}

TEST(CommandWriterTest, ChildThatStopsReadingDoesNotKillUs) {
  auto w = pg::CommandWriter::Start({"sh", "-c", "head -c 10 >/dev/null"}, false);
  ASSERT_TRUE(w.ok());
  std::string chunk(1 << 20, 'y');
  Status s;
  for (int i = 0; i < 64 && s.ok(); ++i) {
    s = (*w)->Write(ByteView(reinterpret_cast<const uint8_t*>(chunk.data()), chunk.size()));
  }
  EXPECT_EQ(s.code(), StatusCode::kCancelled) << s.ToString();
  EXPECT_TRUE((*w)->Finish().ok());
}

TEST(CommandWriterTest, FailureCarriesTheStderrTail) {
  auto w = pg::CommandWriter::Start(
      {"sh", "-c", "cat >/dev/null; echo 'pg_restore: error: bad archive' >&2; exit 1"}, false);
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE((*w)->Write(ByteView(reinterpret_cast<const uint8_t*>("abc"), 3)).ok());
  Status s = (*w)->Finish();
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(Contains(s.message(), "exit status 1")) << s.message();
  EXPECT_TRUE(Contains(s.message(), "bad archive")) << s.message();

  auto missing = pg::CommandWriter::Start({"/nonexistent/pg_restore"}, false);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
}

TEST(CommandWriterTest, AbandonedChildIsStopped) {
  auto start = std::chrono::steady_clock::now();
  {
    auto w = pg::CommandWriter::Start({"sh", "-c", "sleep 60"}, false);
    ASSERT_TRUE(w.ok());
    // Destroyed without Finish (the restore failed): must not wait 60 s.
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
}

}  // namespace
}  // namespace ward::source
