// pg_bench_ward: times a PostgreSQL logical backup and restore through ward's
// postgres source and restore target, in process, into a local repository.
// bench/pg-bench.sh runs it next to the runbook's pg_dump | gzip and restic.
//
//   pg_bench_ward --dsn postgresql://postgres@127.0.0.1:55432/bench
//                 --repo /tmp/pgbench-repo --restore-db bench_restored [--again]
//
// Prints one JSON object: per step wall time, bytes and MB/s, and the
// repository size. The password comes from PGPASSWORD / ~/.pgpass as always.
#include <sys/resource.h>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <string>

#include "engine/backup.h"
#include "engine/restore.h"
#include "source/postgres/postgres.h"
#include "storage/local/local_backend.h"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

uint64_t DirBytes(const std::string& dir) {
  uint64_t n = 0;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec);
       it != fs::recursive_directory_iterator(); ++it) {
    if (it->is_regular_file(ec)) n += it->file_size(ec);
  }
  return n;
}

double CpuSeconds() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  rusage c{};
  ::getrusage(RUSAGE_CHILDREN, &c);
  auto s = [](const timeval& t) { return t.tv_sec + t.tv_usec / 1e6; };
  return s(u.ru_utime) + s(u.ru_stime) + s(c.ru_utime) + s(c.ru_stime);
}

int Fail(const std::string& what, const ward::Status& s) {
  std::cerr << "pg_bench_ward: " << what << ": " << s.ToString() << "\n";
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::string dsn, repo_dir, restore_db;
  bool again = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--dsn") {
      dsn = next();
    } else if (a == "--repo") {
      repo_dir = next();
    } else if (a == "--restore-db") {
      restore_db = next();
    } else if (a == "--again") {
      again = true;
    } else {
      std::cerr << "usage: pg_bench_ward --dsn DSN --repo DIR --restore-db NAME [--again]\n";
      return 2;
    }
  }
  if (dsn.empty() || repo_dir.empty() || restore_db.empty()) {
    std::cerr << "usage: pg_bench_ward --dsn DSN --repo DIR --restore-db NAME [--again]\n";
    return 2;
  }
  if (!ward::crypto::Init().ok()) return 1;
  const std::string password = "bench-password";
  if (!fs::exists(repo_dir + "/config")) {
    auto r = ward::repo::Repository::Init(ward::storage::NewLocalBackend(repo_dir), password,
                                          ward::repo::OpenOptions());
    if (!r.ok()) return Fail("init " + repo_dir, r.status());
  }
  auto open = [&]() {
    return ward::repo::Repository::Open(ward::storage::NewLocalBackend(repo_dir), password,
                                        ward::repo::OpenOptions());
  };
  nlohmann::json out = nlohmann::json::object();
  ward::source::PostgresSourceOptions so;
  so.dsn = dsn;
  so.forward_stderr = true;
  so.label = "bench";

  auto backup = [&](const std::string& step) -> ward::Result<ward::repo::Snapshot> {
    auto src = ward::source::MakePostgresSource(so);
    if (!src.ok()) return src.status();
    auto repo = open();
    if (!repo.ok()) return repo.status();
    uint64_t before = DirBytes(repo_dir);
    double cpu0 = CpuSeconds();
    auto t0 = Clock::now();
    auto b = ward::engine::RunBackup(**repo, **src, ward::engine::BackupOptions(), nullptr);
    auto t1 = Clock::now();
    if (!b.ok()) return b.status();
    const auto& sum = *b->snapshot.summary;
    double secs = Seconds(t0, t1);
    out[step] = {{"seconds", secs},
                 {"dump_bytes", sum.total_bytes_processed},
                 {"mb_per_s", sum.total_bytes_processed / 1e6 / secs},
                 {"data_added", sum.data_added},
                 {"repo_growth_bytes", DirBytes(repo_dir) - before},
                 {"cpu_seconds_ward_and_pg_dump", CpuSeconds() - cpu0},
                 {"row_counts_tables", b->snapshot.sources["row_counts"].size()}};
    return b->snapshot;
  };

  auto snap = backup("backup");
  if (!snap.ok()) return Fail("backup", snap.status());
  if (again) {
    auto second = backup("backup_again");
    if (!second.ok()) return Fail("second backup", second.status());
  }

  {
    auto repo = open();
    if (!repo.ok()) return Fail("open", repo.status());
    if (auto s = (*repo)->LoadIndex(); !s.ok()) return Fail("load index", s);
    ward::source::PostgresRestoreOptions ro;
    auto pos = ward::source::PostgresPosition(snap->sources, "");
    ro.position = pos;
    // Same server, same database name with another suffix.
    ro.to = dsn.substr(0, dsn.rfind('/') + 1) + restore_db;
    auto target = ward::source::MakePostgresRestoreTarget(ro);
    if (!target.ok()) return Fail("restore target", target.status());
    double cpu0 = CpuSeconds();
    auto t0 = Clock::now();
    auto report = ward::engine::RunRestoreToTarget(**repo, *snap, "/", **target, nullptr);
    auto t1 = Clock::now();
    if (!report.ok()) return Fail("restore", report.status());
    double secs = Seconds(t0, t1);
    uint64_t bytes = out["backup"]["dump_bytes"];
    out["restore"] = {{"seconds", secs},
                      {"dump_bytes", bytes},
                      {"mb_per_s", bytes / 1e6 / secs},
                      {"cpu_seconds_ward_and_pg_restore", CpuSeconds() - cpu0},
                      {"ok", (*report)["ok"]},
                      {"timings", (*report)["timings"]}};
  }
  out["repo_bytes"] = DirBytes(repo_dir);
  std::cout << out.dump(2) << "\n";
  return 0;
}
