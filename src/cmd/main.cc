// ward: back up services into one encrypted, deduplicated repository,
// restore them, and prove that recovery works.
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <iostream>

#include "cmd/common.h"
#include "crypto/crypto.h"

int main(int argc, char** argv) {
  using namespace ward::cmd;
  if (!ward::crypto::Init().ok()) return Fail("cannot initialise the crypto library");

  CLI::App app{"ward: backups you can prove you can restore", "ward"};
  app.set_version_flag("--version", "ward " WARD_VERSION);
  app.require_subcommand(1);
  app.fallthrough();
  GlobalOptions g;
  app.add_option("-r,--repo", g.repo,
                 "repository: /path, local:/path, s3:https://host/bucket/prefix, s3:bucket/prefix "
                 "(env WARD_REPOSITORY; default ~/.local/share/ward/repository)");
  app.add_option("--password-file", g.password_file, "read the password from a file (env WARD_PASSWORD_FILE)");
  app.add_option("--password-command", g.password_command, "run a shell command that prints the password");
  app.add_option("--cache-dir", g.cache_dir, "local metadata cache (default ~/.cache/ward)");
  app.add_flag("--no-cache", g.no_cache, "do not use a local metadata cache");
  app.add_option("--storage-class", g.storage.storage_class,
                 "S3 storage class for data packs, e.g. STANDARD_IA (metadata stays STANDARD)");
  app.add_flag("--append-only", g.storage.append_only,
               "never delete anything (for S3 credentials without s3:DeleteObject)");
  app.add_option("--s3-connections", g.storage.connections, "S3 requests in flight at once (default 8)")
      ->check(CLI::Range(1, 256));
  app.add_flag("--json", g.json, "machine-readable output: one JSON document (JSON lines for progress)");
  app.add_flag("-q,--quiet", g.quiet, "print only errors");
  app.add_flag("-v,--verbose", g.verbose, "more messages (repeat for debug)");
  app.footer(
      "Password sources, first found wins: --password-file, --password-command, WARD_PASSWORD_FILE,\n"
      "WARD_PASSWORD, a prompt on the terminal.\n"
      "Exit status: 0 ok, 1 failure, 2 usage error, 3 backup saved but some inputs were unreadable,\n"
      "10 no repository, 11 repository locked, 12 wrong password, 20 check found damage.\n"
      "S3 credentials: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN or AWS_PROFILE with\n"
      "~/.aws/credentials; region from AWS_DEFAULT_REGION (see docs/s3.md).\n"
      "Run 'ward COMMAND --help' for a command's options.");

  Runner runner;
  RegisterInit(app, g, &runner);
  RegisterBackup(app, g, &runner);
  RegisterSnapshots(app, g, &runner);
  RegisterLs(app, g, &runner);
  RegisterRestore(app, g, &runner);
  RegisterCheck(app, g, &runner);
  RegisterKey(app, g, &runner);
  RegisterForget(app, g, &runner);
  RegisterPrune(app, g, &runner);
  RegisterHold(app, g, &runner);
  RegisterCoverage(app, g, &runner);
  RegisterDiff(app, g, &runner);
  RegisterCopy(app, g, &runner);
  RegisterRepair(app, g, &runner);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return ParseFailure(app, e);
  }
  if (ward::Status s = CheckGivenValues(app); !s.ok()) return Fail(s, kExitUsage);

  auto logger = spdlog::stderr_logger_mt("ward");
  logger->set_pattern("ward: %v");
  logger->set_level(g.verbose >= 2 ? spdlog::level::debug
                    : g.verbose == 1 ? spdlog::level::info
                    : g.quiet        ? spdlog::level::err
                                     : spdlog::level::warn);
  spdlog::set_default_logger(logger);

  if (!runner) return Fail("no command given (see ward --help)", kExitUsage);
  return runner();
}
