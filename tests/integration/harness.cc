#include "harness.h"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

extern char** environ;

namespace ward::testing {

namespace fs = std::filesystem;

nlohmann::json RunResult::Json() const {
  std::string last;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) last = line;
  }
  return nlohmann::json::parse(last);
}

namespace {

std::vector<std::string> BuildEnv(const std::map<std::string, std::string>& extra) {
  std::map<std::string, std::string> env;
  for (char** e = environ; *e; ++e) {
    std::string kv = *e;
    size_t eq = kv.find('=');
    if (eq != std::string::npos) env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  // Tests must not pick up a developer's settings.
  for (const char* k : {"WARD_REPOSITORY", "WARD_PASSWORD", "WARD_PASSWORD_FILE"}) env.erase(k);
  for (const auto& [k, v] : extra) {
    if (v.empty()) {
      env.erase(k);
    } else {
      env[k] = v;
    }
  }
  std::vector<std::string> out;
  for (const auto& [k, v] : env) out.push_back(k + "=" + v);
  return out;
}

}  // namespace

RunResult RunProcess(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
                     const std::string& input) {
  int out[2], err[2], in[2];
  EXPECT_EQ(::pipe2(out, O_CLOEXEC), 0);
  EXPECT_EQ(::pipe2(err, O_CLOEXEC), 0);
  EXPECT_EQ(::pipe2(in, O_CLOEXEC), 0);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in[0], 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_adddup2(&fa, err[1], 2);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  auto envs = BuildEnv(env);
  std::vector<char*> envp;
  for (auto& e : envs) envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_t pid;
  int rc = posix_spawnp(&pid, args[0], &fa, nullptr, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  ::close(out[1]);
  ::close(err[1]);
  ::close(in[0]);
  RunResult r;
  if (rc != 0) {
    r.err = std::string("spawn failed: ") + std::strerror(rc);
    ::close(out[0]);
    ::close(err[0]);
    ::close(in[1]);
    return r;
  }
  if (!input.empty()) {
    ssize_t w = ::write(in[1], input.data(), input.size());
    (void)w;
  }
  ::close(in[1]);
  struct pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  int open_fds = 2;
  char buf[65536];
  while (open_fds > 0) {
    if (::poll(fds, 2, -1) < 0) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n <= 0) {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      } else {
        (i == 0 ? r.out : r.err).append(buf, static_cast<size_t>(n));
      }
    }
  }
  int st = 0;
  ::waitpid(pid, &st, 0);
  r.code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  return r;
}

int StartProcess(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
                 const std::string& out_file) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  auto envs = BuildEnv(env);
  std::vector<char*> envp;
  for (auto& e : envs) envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_t pid = -1;
  int rc = posix_spawnp(&pid, args[0], &fa, nullptr, args.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  return rc == 0 ? pid : -1;
}

int WaitProcess(int pid) {
  int st = 0;
  ::waitpid(pid, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

std::string MakeTempDir(const std::string& tag) {
  std::string t = "/tmp/ward-it-" + tag + "-XXXXXX";
  char* d = ::mkdtemp(t.data());
  EXPECT_NE(d, nullptr);
  return t;
}

void WriteFile(const std::string& path, const std::string& data) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(data.data(), static_cast<std::streamsize>(data.size()));
}

std::string ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string RandomBytes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string s(n, '\0');
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t v = rng();
    std::memcpy(&s[i], &v, 8);
  }
  for (; i < n; ++i) s[i] = static_cast<char>(rng());
  return s;
}

std::string CompressibleText(size_t n, uint64_t seed) {
  static const char* kWords[] = {"INSERT", "INTO", "users", "VALUES", "select", "from", "where", "id",
                                 "name",   "email", "2026", "NULL",  "true",   "false", "(", ")", ";\n"};
  std::mt19937_64 rng(seed);
  std::string s;
  s.reserve(n);
  while (s.size() < n) {
    s += kWords[rng() % 17];
    s += ' ';
    if (rng() % 5 == 0) s += std::to_string(rng() % 100000);
  }
  s.resize(n);
  return s;
}

std::string DiffTrees(const std::string& a, const std::string& b) {
  auto describe = [](const std::string& root) {
    std::map<std::string, std::string> m;
    std::map<std::pair<dev_t, ino_t>, std::string> inodes;
    for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator(); ++it) {
      std::string p = it->path().string();
      std::string rel = p.substr(root.size());
      struct stat st;
      ::lstat(p.c_str(), &st);
      std::ostringstream d;
      d << "mode=" << std::oct << st.st_mode << std::dec << " uid=" << st.st_uid << " gid=" << st.st_gid;
      if (!S_ISDIR(st.st_mode)) d << " mtime=" << st.st_mtim.tv_sec << "." << st.st_mtim.tv_nsec;
      if (S_ISREG(st.st_mode)) {
        d << " size=" << st.st_size;
        std::string content = ReadFile(p);
        d << " sum=" << std::hash<std::string>()(content);
        if (st.st_nlink > 1) {
          auto key = std::make_pair(st.st_dev, st.st_ino);
          if (!inodes.count(key)) inodes[key] = rel;
          d << " linked-to=" << inodes[key];
        }
      } else if (S_ISLNK(st.st_mode)) {
        d << " -> " << fs::read_symlink(p).string();
      }
      m[rel] = d.str();
    }
    return m;
  };
  auto ma = describe(a), mb = describe(b);
  for (const auto& [k, v] : ma) {
    auto it = mb.find(k);
    if (it == mb.end()) return "missing in " + b + ": " + k;
    if (it->second != v) return k + ": " + v + " vs " + it->second;
  }
  for (const auto& [k, v] : mb) {
    if (!ma.count(k)) return "extra in " + b + ": " + k;
  }
  return "";
}

bool UseS3() {
  const char* b = std::getenv("WARD_TEST_BACKEND");
  return b != nullptr && std::string(b) == "s3";
}

void WardTest::SetUp() {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  dir_ = MakeTempDir(info->name());
  if (UseS3()) {
    const char* endpoint = std::getenv("S3_ENDPOINT");
    if (endpoint == nullptr || *endpoint == '\0') {
      std::string how = "start one with scripts/start-rgw.sh start; eval \"$(scripts/start-rgw.sh env)\"";
      if (std::getenv("CI") != nullptr) {
        FAIL() << "WARD_TEST_BACKEND=s3 but S3_ENDPOINT is not set (CI: this is a failure); " << how;
      }
      GTEST_SKIP() << "S3 tests skipped: S3_ENDPOINT is not set; " << how;
    }
  }
  FreshRepo();
}

void WardTest::FreshRepo() {
  static int counter = 0;
  if (UseS3()) {
    const char* bucket = std::getenv("S3_TEST_BUCKET");
    std::string b = bucket && *bucket ? bucket : "ward-it";
    repo_ = std::string("s3:") + std::getenv("S3_ENDPOINT") + "/" + b + "/" + fs::path(dir_).filename().string() +
            "-" + std::to_string(++counter) + "-" + std::to_string(::getpid());
  } else {
    repo_ = dir_ + "/repo" + (counter++ ? std::to_string(counter) : "");
  }
}

std::unique_ptr<storage::Backend> WardTest::RepoBackend() {
  auto b = storage::OpenBackend(repo_);
  EXPECT_TRUE(b.ok()) << b.status().ToString();
  return b.ok() ? std::move(*b) : nullptr;
}

std::vector<std::string> WardTest::RepoObjectNames() {
  auto b = RepoBackend();
  std::vector<std::string> out;
  using storage::FileType;
  for (FileType t : {FileType::kConfig, FileType::kKey, FileType::kPack, FileType::kIndex, FileType::kSnapshot,
                     FileType::kSession, FileType::kPlan, FileType::kHold}) {
    EXPECT_TRUE(b->List(t, [&](const storage::FileInfo& fi) {
                   out.push_back(std::string(storage::FileTypeName(t)) + "/" + fi.name);
                   return Status::OK();
                 }).ok());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::pair<std::string, uint64_t> WardTest::LargestPack() {
  auto b = RepoBackend();
  std::pair<std::string, uint64_t> best;
  EXPECT_TRUE(b->List(storage::FileType::kPack, [&](const storage::FileInfo& fi) {
                 if (fi.size > best.second) best = {fi.name, fi.size};
                 return Status::OK();
               }).ok());
  return best;
}

void WardTest::RewritePack(const std::string& name, const std::function<void(Bytes*)>& mutate) {
  RewriteObject(storage::FileType::kPack, name, mutate);
}

void WardTest::RewriteObject(storage::FileType type, const std::string& name,
                             const std::function<void(Bytes*)>& mutate) {
  auto b = RepoBackend();
  storage::Handle h{type, name};
  auto data = b->Load(h, 0, 0);
  ASSERT_TRUE(data.ok()) << data.status().ToString();
  mutate(&*data);
  ASSERT_TRUE(b->Remove(h).ok());
  ASSERT_TRUE(b->Save(h, *data).ok());
}

void WardTest::TearDown() {
  if (!HasFailure()) {
    std::error_code ec;
    fs::permissions(dir_, fs::perms::all, ec);
    RunProcess({"chmod", "-R", "u+rwX", dir_});
    fs::remove_all(dir_, ec);
  }
}

RunResult WardTest::Ward(std::vector<std::string> args, std::map<std::string, std::string> env) {
  args.insert(args.begin(), {WARD_BINARY, "-r", repo_});
  if (!env.count("WARD_PASSWORD")) env["WARD_PASSWORD"] = password_;
  env["XDG_CACHE_HOME"] = dir_ + "/cache";
  return RunProcess(args, env);
}

RunResult WardTest::WardNoRepo(std::vector<std::string> args, std::map<std::string, std::string> env) {
  args.insert(args.begin(), WARD_BINARY);
  env["XDG_CACHE_HOME"] = dir_ + "/cache";
  return RunProcess(args, env);
}

void WardTest::Init() {
  auto r = Ward({"init", "--kdf-memory", "8", "--kdf-iterations", "1"});
  ASSERT_EQ(r.code, 0) << r.err;
}

}  // namespace ward::testing
