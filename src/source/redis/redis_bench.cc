// redis_bench: ward's Redis backup and restore against `redis-cli --rdb`.
//
//   redis_bench [--keys N] [--value-size BYTES] [--workers N]
//
// Starts a throw-away redis-server, fills it with DEBUG POPULATE N keys,
// then measures, one after another on the same data:
//   1. redis-cli --rdb FILE             (the baseline: RDB to a local file)
//   2. ParseRdb over that file          (the validation ward adds)
//   3. RunBackup with a RedisSource     (into a fresh local repository)
//   4. the same backup again            (dedup: what a second run stores)
//   5. RunRestoreToTarget into a second, empty redis-server
// and prints a Markdown table. bench/redis-bench.sh builds and runs it.
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>

#include "crypto/crypto.h"
#include "engine/backup.h"
#include "engine/restore.h"
#include "io/file.h"
#include "source/redis/redis.h"
#include "source/redis/test_server.h"
#include "storage/local/local_backend.h"

extern char** environ;

namespace ward::source {
namespace {

double Since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

int Run(const std::vector<std::string>& argv) {
  std::vector<char*> a;
  for (const auto& s : argv) a.push_back(const_cast<char*>(s.c_str()));
  a.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  pid_t pid;
  int rc = posix_spawnp(&pid, a[0], &fa, nullptr, a.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) return -1;
  int st = 0;
  ::waitpid(pid, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

class FileReader : public Reader {
 public:
  explicit FileReader(int fd) : fd_(fd) {}
  Result<size_t> Read(std::span<uint8_t> out) override {
    return io::ReadFull(fd_, out.data(), out.size(), "rdb");
  }

 private:
  int fd_;
};

struct Row {
  std::string step;
  double seconds;
  std::string detail;
};

int Main(int argc, char** argv) {
  uint64_t keys = 1000000;
  int value_size = 100;
  int workers = 0;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--keys" && i + 1 < argc) {
      keys = std::strtoull(argv[++i], nullptr, 10);
    } else if (a == "--value-size" && i + 1 < argc) {
      value_size = std::atoi(argv[++i]);
    } else if (a == "--workers" && i + 1 < argc) {
      workers = std::atoi(argv[++i]);
    } else {
      std::fprintf(stderr, "usage: %s [--keys N] [--value-size BYTES] [--workers N]\n", argv[0]);
      return 2;
    }
  }
  if (!crypto::Init().ok()) return 1;
  auto fail = [](const std::string& what, const Status& s) {
    std::fprintf(stderr, "redis_bench: %s: %s\n", what.c_str(), s.ToString().c_str());
    return 1;
  };
  auto src = RedisTestServer::Start();
  if (!src.ok()) return fail("starting redis-server", src.status());
  auto dst = RedisTestServer::Start();
  if (!dst.ok()) return fail("starting redis-server", dst.status());
  auto conn = (*src)->Connect();
  if (!conn.ok()) return fail("connecting", conn.status());
  std::vector<Row> rows;

  auto t0 = std::chrono::steady_clock::now();
  auto pop = (*conn)->Command(
      {"DEBUG", "POPULATE", std::to_string(keys), "key", std::to_string(value_size)});
  if (!pop.ok() || (*pop)->type == REDIS_REPLY_ERROR)
    return fail("DEBUG POPULATE", pop.ok() ? InternalError(ReplyText(**pop)) : pop.status());
  rows.push_back({"fill (DEBUG POPULATE)", Since(t0),
                  std::to_string(keys) + " keys of " + std::to_string(value_size) + " bytes"});

  const std::string work = (*src)->dir() + "/bench";
  std::filesystem::create_directories(work);
  const std::string rdb = work + "/cli.rdb";
  t0 = std::chrono::steady_clock::now();
  int rc =
      Run({"redis-cli", "-h", "127.0.0.1", "-p", std::to_string((*src)->port()), "--rdb", rdb});
  const double cli_s = Since(t0);
  if (rc != 0) return fail("redis-cli --rdb", InternalError("exit status " + std::to_string(rc)));
  const double mb = double(std::filesystem::file_size(rdb)) / 1e6;
  char buf[200];
  std::snprintf(buf, sizeof buf, "%.1f MB, %.0f MB/s", mb, mb / cli_s);
  rows.push_back({"redis-cli --rdb FILE", cli_s, buf});

  {
    auto fd = io::OpenRead(rdb);
    if (!fd.ok()) return fail("open", fd.status());
    FileReader r(fd->get());
    t0 = std::chrono::steady_clock::now();
    auto info = ParseRdb(r, nullptr);
    const double s = Since(t0);
    if (!info.ok()) return fail("ParseRdb", info.status());
    std::snprintf(buf, sizeof buf, "%llu keys, %.0f MB/s", (unsigned long long)info->keys, mb / s);
    rows.push_back({"ParseRdb (validation only)", s, buf});
  }

  const std::string repo_dir = work + "/repo";
  repo::OpenOptions oo;
  crypto::KdfParams k = crypto::DefaultKdfParams();
  k.memory = 1 << 20;
  k.ops = 1;
  oo.kdf = k;
  {
    auto r = repo::Repository::Init(storage::NewLocalBackend(repo_dir), "pw", oo);
    if (!r.ok()) return fail("repository init", r.status());
  }
  repo::Snapshot snap;
  for (int run = 1; run <= 2; ++run) {
    auto repo =
        repo::Repository::Open(storage::NewLocalBackend(repo_dir), "pw", repo::OpenOptions());
    if (!repo.ok()) return fail("repository open", repo.status());
    if (auto s = (*repo)->LoadIndex(); !s.ok()) return fail("load index", s);
    RedisSourceOptions so;
    so.address = (*src)->address();
    auto source = NewRedisSource(so);
    engine::BackupOptions bo;
    bo.workers = workers;
    t0 = std::chrono::steady_clock::now();
    auto b = engine::RunBackup(**repo, **source, bo, nullptr);
    const double s = Since(t0);
    if (!b.ok()) return fail("backup", b.status());
    snap = b->snapshot;
    std::snprintf(buf, sizeof buf, "%.0f MB/s, %.1f MB added", mb / s,
                  double(snap.summary->data_added) / 1e6);
    rows.push_back({run == 1 ? "ward backup (RedisSource -> local repo)"
                             : "ward backup again (unchanged data)",
                    s, buf});
  }
  {
    auto repo =
        repo::Repository::Open(storage::NewLocalBackend(repo_dir), "pw", repo::OpenOptions());
    if (!repo.ok()) return fail("repository open", repo.status());
    if (auto s = (*repo)->LoadIndex(); !s.ok()) return fail("load index", s);
    t0 = std::chrono::steady_clock::now();
    auto target = MakeRedisRestoreTarget("redis://" + (*dst)->address());
    if (!target.ok()) return fail("restore target", target.status());
    auto report = engine::RunRestoreToTarget(**repo, snap, "", **target, nullptr);
    const double s = Since(t0);
    if (!report.ok()) return fail("restore", report.status());
    const double n = (*report)["keys_restored"].get<double>();
    std::snprintf(buf, sizeof buf, "%.0f keys, %.0f keys/s, DBSIZE ok: %s", n, n / s,
                  (*report)["ok"].get<bool>() ? "yes" : "no");
    rows.push_back({"ward restore --to redis:// (RESTORE, pipelined)", s, buf});
  }

  std::printf("| step | seconds | |\n|---|---:|---|\n");
  for (const auto& r : rows)
    std::printf("| %s | %.2f | %s |\n", r.step.c_str(), r.seconds, r.detail.c_str());
  return 0;
}

}  // namespace
}  // namespace ward::source

int main(int argc, char** argv) { return ward::source::Main(argc, argv); }
