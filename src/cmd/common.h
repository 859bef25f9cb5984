// Shared plumbing of the ward commands: global options, passwords, opening
// the repository, exit codes, output (human, --json) and progress display.
// Each command lives in its own cmd_<name>.cc and registers itself with
// CLI11 through a Register<Name> function declared here.
//
// Exit codes (SPEC §8): 0 ok; 1 failure; 2 usage; 3 backup finished but some
// inputs were unreadable; 10 no repository; 11 locked; 12 wrong password;
// 20 check/verify found damage.
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "engine/progress.h"
#include "engine/prune.h"
#include "plan/plan.h"
#include "repo/repository.h"
#include "storage/backend.h"

namespace ward::cmd {

enum ExitCode : int {
  kExitOk = 0,
  kExitFailure = 1,
  kExitUsage = 2,
  kExitPartial = 3,
  kExitNoRepository = 10,
  kExitLocked = 11,
  kExitWrongPassword = 12,
  kExitDamage = 20,
};

struct GlobalOptions {
  std::string repo;
  std::string password_file;
  std::string password_command;
  std::string cache_dir;
  bool no_cache = false;
  bool json = false;
  bool quiet = false;
  int verbose = 0;
  storage::StorageSettings storage;  // --storage-class, --append-only, --s3-connections
};

// A command's body; returns the process exit status.
using Runner = std::function<int()>;

// Sets *runner when the subcommand is chosen.
void RegisterInit(CLI::App& app, GlobalOptions& g, Runner* runner);
void RegisterBackup(CLI::App& app, GlobalOptions& g, Runner* runner);
void RegisterSnapshots(CLI::App& app, GlobalOptions& g, Runner* runner);
void RegisterLs(CLI::App& app, GlobalOptions& g, Runner* runner);
void RegisterRestore(CLI::App& app, GlobalOptions& g, Runner* runner);
void RegisterCheck(CLI::App& app, GlobalOptions& g, Runner* runner);
void RegisterKey(CLI::App& app, GlobalOptions& g, Runner* runner);
void RegisterPrune(CLI::App& app, GlobalOptions& g, Runner* runner);
void RegisterForget(CLI::App& app, GlobalOptions& g, Runner* runner);
void RegisterHold(CLI::App& app, GlobalOptions& g, Runner* runner);
void RegisterCoverage(CLI::App& app, GlobalOptions& g, Runner* runner);
void RegisterDiff(CLI::App& app, GlobalOptions& g, Runner* runner);  // diff and find
void RegisterCopy(CLI::App& app, GlobalOptions& g, Runner* runner);
void RegisterRepair(CLI::App& app, GlobalOptions& g, Runner* runner);

// Opens another repository (copy's target, init's --copy-ids-from) with its
// own password file, or the same password as the main one.
std::unique_ptr<repo::Repository> OpenSecondRepository(const GlobalOptions& g, const std::string& url,
                                                       const std::string& password_file, const char* what,
                                                       int* exit_code);

// Shared by prune and forget --prune.
Result<engine::PruneOptions> MakePruneOptions(const GlobalOptions& g, const std::string& max_unused,
                                              const std::string& stale_after, bool dry_run);
Result<engine::PruneResult> RunPruneWithState(repo::Repository& repo, const GlobalOptions& g,
                                              engine::PruneOptions po);
int PrintPrune(const GlobalOptions& g, const engine::PruneResult& r, bool dry_run);

// The repository URL: -r, else WARD_REPOSITORY, else the embedded default
// ($XDG_DATA_HOME/ward/repository or ~/.local/share/ward/repository).
std::string RepositoryUrl(const GlobalOptions& g);

// The password: --password-file, --password-command, WARD_PASSWORD_FILE,
// WARD_PASSWORD, else a prompt on the terminal. kInvalidArgument when none
// can be had (no terminal).
Result<std::string> ReadPassword(const GlobalOptions& g, const std::string& prompt, bool confirm);
// A new password (init, key add/passwd): --new-password-file if given, else
// as ReadPassword.
Result<std::string> ReadNewPassword(const GlobalOptions& g, const std::string& new_password_file);

// Fills in what a plan file names (repository, password file or command)
// where the command line and environment give nothing.
void ApplyPlanDefaults(const plan::Plan& plan, GlobalOptions* g);

// Opens the repository with the password; on failure prints the error and
// sets *exit_code (10 no repository, 12 wrong password, `damage_exit` for a
// damaged repository — its config lost or damaged, its keys damaged — and 1
// otherwise).
std::unique_ptr<repo::Repository> OpenRepository(const GlobalOptions& g, int* exit_code,
                                                 int damage_exit = kExitFailure);

repo::OpenOptions MakeOpenOptions(const GlobalOptions& g);

// Prints "ward: <message>" on stderr and returns `code` (for `return Fail(...)`).
int Fail(const Status& s, int code = kExitFailure);
int Fail(const std::string& message, int code = kExitFailure);
// Default exit code for a failed status.
int ExitCodeFor(const Status& s);
// kExitUsage for kInvalidArgument (what the user typed), else kExitFailure.
int UsageOrFailure(const Status& s);

// A CLI11 check for --keep-N style counts: a whole number, 0 or more, with a
// message that names the value and what to give instead.
CLI::Validator CountValidator();
// kInvalidArgument naming the option when -r, --password-file,
// --password-command or --cache-dir was given an empty value.
Status CheckGivenValues(const CLI::App& app);
// Prints a command-line error as one "ward: ..." line that says where help
// is (an unknown command named as such) and returns the exit status (2; 0
// for --help and --version, which CLI11 reports as errors too).
int ParseFailure(const CLI::App& app, const CLI::ParseError& e);

// Prints a JSON document on stdout.
void PrintJson(const nlohmann::json& j);

// Snapshot selection shared by snapshots/restore/ls/forget.
struct SnapshotFilter {
  std::vector<std::string> hosts, tags, sources, paths;
  std::string since, until;
  void AddFlags(CLI::App* cmd, bool with_time = true);
  Result<std::vector<repo::Snapshot>> Apply(const std::vector<repo::Snapshot>& all) const;
  // The repository's snapshots this filter selects; on failure prints the
  // error and returns nullopt with *exit_code set (a bad filter is a usage
  // error).
  std::optional<std::vector<repo::Snapshot>> Select(repo::Repository& repo, int* exit_code) const;
};

nlohmann::json SnapshotJson(const repo::Snapshot& s);

// Shows progress while `job` runs: a bar on a terminal, a plain line every
// WARD_PROGRESS_INTERVAL seconds (default 10) otherwise, JSON status lines
// with --json, nothing with --quiet.
class ProgressDisplay {
 public:
  ProgressDisplay(const GlobalOptions& g, engine::Progress* p, std::string verb);
  ~ProgressDisplay();
  void Stop();

 private:
  void Run();
  void Draw(bool final);
  const GlobalOptions& g_;
  engine::Progress* p_;
  std::string verb_;
  bool tty_;
  double interval_;
  int64_t start_ns_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  std::thread thread_;
};

}  // namespace ward::cmd
