#include "source/postgres/pg_test_server.h"

#include <pwd.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>

#include "source/postgres/pg_conn.h"
#include "tests/tools/free_port.h"

#ifndef WARD_SOURCE_DIR
#error "WARD_SOURCE_DIR must point at the source tree (for scripts/start-postgres.sh)"
#endif

namespace ward::source::pg {

namespace {

namespace fs = std::filesystem;

std::string FindServerBin() {
  if (const char* env = std::getenv("PG_BIN"); env != nullptr && *env != '\0') {
    return ::access((std::string(env) + "/initdb").c_str(), X_OK) == 0 ? env : "";
  }
  if (::access("/usr/lib/postgresql/15/bin/initdb", X_OK) == 0) return "/usr/lib/postgresql/15/bin";
  std::string best;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/usr/lib/postgresql", ec)) {
    std::string bin = e.path().string() + "/bin";
    if (::access((bin + "/initdb").c_str(), X_OK) == 0 && bin > best) best = bin;
  }
  return best;
}

std::string Tail(const std::string& path) {
  std::ifstream f(path);
  std::string all((std::istreambuf_iterator<char>(f)), {});
  if (all.size() > 600) all = all.substr(all.size() - 600);
  for (auto& c : all) {
    if (c == '\n') c = ' ';
  }
  return all;
}

std::mutex g_mu;
std::unique_ptr<PgTestServer> g_server;
bool g_tried = false;
std::string g_why;
bool g_missing = false;

class StopAtExit : public ::testing::Environment {
 public:
  void TearDown() override {
    std::lock_guard lock(g_mu);
    if (g_server) g_server->Stop();
  }
};
[[maybe_unused]] ::testing::Environment* const g_env =
    ::testing::AddGlobalTestEnvironment(new StopAtExit);

}  // namespace

PgTestServer* PgTestServer::Get(std::string* why, bool* missing) {
  std::lock_guard lock(g_mu);
  if (!g_tried) {
    g_tried = true;
    auto s = std::make_unique<PgTestServer>();
    s->script_ = std::string(WARD_SOURCE_DIR) + "/scripts/start-postgres.sh";
    s->bin_ = FindServerBin();
    if (s->bin_.empty()) {
      g_missing = true;
      g_why = std::getenv("PG_BIN")
                  ? "no initdb in PG_BIN=" + std::string(std::getenv("PG_BIN"))
                  : "no PostgreSQL server programs under /usr/lib/postgresql/*/bin";
    } else if (::geteuid() == 0 && ::getpwnam("postgres") == nullptr) {
      g_missing = true;
      g_why = "running as root, but there is no 'postgres' OS user to run the server as";
    } else {
      char t[] = "/tmp/ward-pgtest-XXXXXX";
      if (::mkdtemp(t) == nullptr) {
        g_why = "cannot create a temporary directory";
      } else {
        s->base_ = t;
        s->port_ = ::ward::testing::FreeLoopbackPort();
        s->password_ = "ward-test-" + std::to_string(::getpid());
        std::string log = s->base_ + "-start.log";
        std::string cmd = "PG_BASE='" + s->base_ + "' PG_PORT=" + std::to_string(s->port_) +
                          " PG_AUTH=md5 PG_PASSWORD='" + s->password_ + "' PG_BIN='" + s->bin_ +
                          "' '" + s->script_ + "' start >'" + log + "' 2>&1";
        if (std::system(cmd.c_str()) != 0) {
          g_why = "scripts/start-postgres.sh failed: " + Tail(log);
          s->Stop();
        } else {
          fs::remove(log);
          // Every connection of this process and of its pg_dump/pg_restore
          // children finds the password where operators put it.
          ::setenv("PGPASSWORD", s->password_.c_str(), 1);
          for (const char* v : {"PGHOST", "PGHOSTADDR", "PGPORT", "PGUSER", "PGDATABASE",
                                "PGSERVICE", "PGCONNECT_TIMEOUT", "PGOPTIONS"}) {
            ::unsetenv(v);
          }
          g_server = std::move(s);
        }
      }
    }
  }
  if (!g_server) {
    *why = g_why;
    *missing = g_missing;
  }
  return g_server.get();
}

std::string PgTestServer::Dsn(const std::string& db, const std::string& user) const {
  return "postgresql://" + user + "@127.0.0.1:" + std::to_string(port_) + "/" + db;
}

Result<std::vector<std::vector<std::string>>> PgTestServer::Query(const std::string& db,
                                                                  const std::string& sql) const {
  WARD_ASSIGN_OR_RETURN(ConnInfo info, ConnInfo::Parse(Dsn(db), "test dsn"));
  WARD_ASSIGN_OR_RETURN(std::unique_ptr<PgConn> conn, PgConn::Connect(info));
  WARD_ASSIGN_OR_RETURN(PgResult r, conn->Exec(sql));
  std::vector<std::vector<std::string>> rows;
  for (int i = 0; i < r.rows(); ++i) {
    auto& row = rows.emplace_back();
    for (int j = 0; j < r.columns(); ++j) row.push_back(r.IsNull(i, j) ? "" : r.Get(i, j));
  }
  return rows;
}

Status PgTestServer::Exec(const std::string& db, const std::string& sql) const {
  return Query(db, sql).status();
}

std::string PgTestServer::Value(const std::string& db, const std::string& sql) const {
  auto r = Query(db, sql);
  EXPECT_TRUE(r.ok()) << sql << ": " << r.status().ToString();
  if (!r.ok() || r->empty() || (*r)[0].empty()) return "";
  return (*r)[0][0];
}

int PgTestServer::Shell(const std::string& command) const {
  std::string cmd = "PGHOST=127.0.0.1 PGPORT=" + std::to_string(port_) + " PGUSER=postgres PATH='" +
                    bin_ + "':\"$PATH\" " + command;
  int rc = std::system(cmd.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
}

void PgTestServer::Stop() {
  if (base_.empty()) return;
  std::string cmd =
      "PG_BASE='" + base_ + "' PG_BIN='" + bin_ + "' '" + script_ + "' purge >/dev/null 2>&1";
  if (std::system(cmd.c_str()) != 0) fs::remove_all(base_);
  base_.clear();
}

}  // namespace ward::source::pg
