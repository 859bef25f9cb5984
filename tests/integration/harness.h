// Runs the built ward binary as a user would, for integration tests: a fresh
// temporary directory per test, a repository in it, and Ward({...}) returning
// the exit status, stdout and stderr. The binary's path comes from CMake
// (WARD_BINARY).
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "storage/backend.h"

namespace ward::testing {

// WARD_TEST_BACKEND=s3 runs the same tests against the S3 server named by
// S3_ENDPOINT (scripts/start-rgw.sh env), each test in a fresh prefix of the
// bucket S3_TEST_BUCKET (default ward-it).
bool UseS3();

struct RunResult {
  int code = -1;
  std::string out, err;
  nlohmann::json Json() const;  // parses out (last line if several)
};

// Runs argv with extra environment variables; `input` goes to stdin.
RunResult RunProcess(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env = {},
                     const std::string& input = "");

// Starts argv in the background; returns its pid (stdout/stderr to files).
int StartProcess(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
                 const std::string& out_file);
// Waits for a started process; returns its exit status (128+signal if killed).
int WaitProcess(int pid);

std::string MakeTempDir(const std::string& tag);
void WriteFile(const std::string& path, const std::string& data);
std::string ReadFile(const std::string& path);
std::string RandomBytes(size_t n, uint64_t seed);
// Text that compresses like source code or SQL.
std::string CompressibleText(size_t n, uint64_t seed);

// Compares two trees: names, types, modes, mtimes (files, symlinks), contents,
// symlink targets, and hard-link structure. Returns "" if equal, else the
// first difference.
std::string DiffTrees(const std::string& a, const std::string& b);

class WardTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // Runs ward with -r <repo> (unless `with_repo` is false) and the test's
  // password in WARD_PASSWORD.
  RunResult Ward(std::vector<std::string> args, std::map<std::string, std::string> env = {});
  RunResult WardNoRepo(std::vector<std::string> args, std::map<std::string, std::string> env = {});
  void Init();  // ward init with fast key derivation; asserts success
  // Points repo_ at a new, empty location (new directory or S3 prefix).
  void FreshRepo();

  // Direct access to the repository's objects, for tests that damage them.
  std::unique_ptr<storage::Backend> RepoBackend();
  std::vector<std::string> RepoObjectNames();  // "<type>/<name>", sorted
  // The largest pack: name and size.
  std::pair<std::string, uint64_t> LargestPack();
  // Replaces a pack's bytes with mutate(bytes) (remove, then save).
  void RewritePack(const std::string& name, const std::function<void(Bytes*)>& mutate);
  // The same for any object ("" names the config).
  void RewriteObject(storage::FileType type, const std::string& name, const std::function<void(Bytes*)>& mutate);

  std::string dir_;   // per-test scratch directory
  std::string repo_;  // repository path inside it
  std::string password_ = "correct horse battery staple";
};

}  // namespace ward::testing
