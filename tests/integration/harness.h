// Runs the built ward binary as a user would, for integration tests: a fresh
// temporary directory per test, a repository in it, and Ward({...}) returning
// the exit status, stdout and stderr. The binary's path comes from CMake
// (WARD_BINARY).
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace ward::testing {

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

  std::string dir_;   // per-test scratch directory
  std::string repo_;  // repository path inside it
  std::string password_ = "correct horse battery staple";
};

}  // namespace ward::testing
