// ward restore: a snapshot (or a path in it) into a directory or a service.
#include <iostream>

#include <fmt/format.h>

#include "base/time.h"
#include "cmd/common.h"
#include "engine/restore.h"
#include "source/registry.h"

namespace ward::cmd {

namespace {
struct RestoreOpts {
  std::string what;
  std::string target;
  std::vector<std::string> includes, excludes;
  bool delta = false;
  SnapshotFilter filter;
  source::RestoreTargetOptions to;  // --to and its options; kind and position come from the snapshot
  std::string to_env;
};

int ToService(const GlobalOptions& g, repo::Repository& repo, const repo::Snapshot& snap, const std::string& sub,
              RestoreOpts& o) {
  std::unique_ptr<source::RestoreTarget> tgt = o.to_env.empty() ? nullptr : source::MakeEnvFileTarget(o.to_env);
  if (!tgt) {
    std::tie(o.to.kind, o.to.position) = engine::SourceAt(snap, sub);
    auto t = source::MakeRestoreTarget(o.to);
    if (!t.ok()) return Fail(t.status().WithContext("--to " + o.to.to), UsageOrFailure(t.status()));
    tgt = std::move(*t);
  }
  engine::Progress progress;
  ProgressDisplay display(g, &progress, "restore");
  int64_t start = NowNanos();
  auto report = engine::RunRestoreToTarget(repo, snap, sub, *tgt, &progress);
  display.Stop();
  if (!report.ok()) {
    // The target's own login failing is not the repository's password (12);
    // a failed check of what was restored is 20.
    return Fail(report.status().WithContext("restore failed"),
                report.status().code() == StatusCode::kDataLoss ? kExitDamage : kExitFailure);
  }
  if (g.json) {
    nlohmann::json j = *report;
    j["message_type"] = "summary";
    j["snapshot_id"] = snap.id.Hex();
    PrintJson(j);
  } else if (!g.quiet) {
    std::cout << fmt::format("restored {}{}: {}, in {}\n", snap.id.Short(), sub.empty() ? "" : ":" + sub,
                             tgt->Summary(), FormatDuration(double(NowNanos() - start) / 1e9));
  }
  return kExitOk;
}

int ToDirectory(const GlobalOptions& g, repo::Repository& repo, const repo::Snapshot& snap, const std::string& sub,
                const RestoreOpts& o) {
  engine::RestoreOptions ro{o.target, sub, o.includes, o.excludes, o.delta, 0};
  engine::Progress progress;
  ProgressDisplay display(g, &progress, "restore");
  int64_t start = NowNanos();
  auto r = engine::RunRestore(repo, snap, ro, &progress);
  display.Stop();
  if (!r.ok()) return Fail(r.status().WithContext("restore failed"));
  double secs = double(NowNanos() - start) / 1e9;
  uint64_t items = r->files_restored + r->files_unchanged + r->dirs + r->links + r->special;
  bool nothing = items == 0 && !r->errors.empty();
  // With nothing restored, one error is the reason: named once, in the last line.
  if (!nothing || r->errors.size() > 1) {
    for (const auto& e : r->errors) std::cerr << "ward: " << e.message() << "\n";
  }
  if (g.json) {
    PrintJson({{"message_type", "summary"}, {"snapshot_id", snap.id.Hex()}, {"files_restored", r->files_restored},
               {"files_unchanged", r->files_unchanged}, {"dirs", r->dirs}, {"links", r->links},
               {"bytes_written", r->bytes_written}, {"bytes_reused", r->bytes_reused}, {"errors", r->errors.size()},
               {"duration_seconds", secs}});
  } else if (!g.quiet && !nothing) {
    std::cout << fmt::format("restored snapshot {} to {}: {} files ({} written", snap.id.Short(), o.target,
                             r->files_restored, FormatBytes(r->bytes_written));
    if (o.delta) std::cout << fmt::format(", {} already correct", FormatBytes(r->bytes_reused));
    std::cout << fmt::format("), {} dirs in {}\n", r->dirs, FormatDuration(secs));
  }
  if (r->errors.empty()) return kExitOk;
  if (nothing && r->errors.size() == 1) return Fail("nothing was restored: " + r->errors[0].message());
  if (nothing) {
    return Fail(fmt::format("nothing was restored to {}: {} errors (listed above)", o.target, r->errors.size()));
  }
  return Fail(fmt::format("{} item(s) could not be restored (listed above); {} file(s) and {} dir(s) were",
                          r->errors.size(), r->files_restored + r->files_unchanged, r->dirs));
}
}  // namespace

void RegisterRestore(CLI::App& app, GlobalOptions& g, Runner* runner) {
  static RestoreOpts o;
  auto* cmd = app.add_subcommand("restore", "Restore a snapshot, or a path in it, into a directory or a service");
  cmd->add_option("snapshot", o.what, "SNAPSHOT[:PATH]: ID, unique prefix or 'latest', and a path in it")
      ->required();
  auto* target = cmd->add_option("-t,--target", o.target, "directory to restore into (created if missing)");
  auto* to = cmd->add_option("--to", o.to.to,
                             "restore a service source into a service: postgresql://host/newdb, "
                             "redis://host:port, s3:https://host/bucket/prefix");
  auto* to_env =
      cmd->add_option("--to-env", o.to_env, "write a stored secrets export (Vault JSON) as a .env file (0600)");
  target->excludes(to)->excludes(to_env);
  to->excludes(to_env);
  cmd->add_option("--tables", o.to.tables, "with --to postgresql://...: only these tables (a,b)")->delimiter(',');
  cmd->add_flag("--swap", o.to.swap,
                "with --to postgresql://...: after the row counts check, rename live -> old, new -> live");
  cmd->add_option("--storage-class", o.to.storage_class, "with --to s3:...: storage class of the restored objects");
  cmd->add_flag("--allow-overwrite", o.to.allow_overwrite,
                "with --to s3:...: write into the bucket and prefix the snapshot was taken from, replacing live "
                "objects (nothing is deleted)");
  cmd->add_option("-i,--include", o.includes, "restore only paths matching a pattern (repeatable)")
      ->allow_extra_args(false);
  cmd->add_option("-e,--exclude", o.excludes, "skip paths matching a pattern (repeatable)")->allow_extra_args(false);
  cmd->add_flag("--delta", o.delta, "keep files (and parts of files) at the target that are already correct");
  o.filter.AddFlags(cmd, false);
  cmd->footer(
      "Every restored byte is checked against its hash. Files that cannot be restored are\n"
      "named on stderr and removed; everything else is restored (exit status 1).\n"
      "Examples:\n"
      "  ward restore latest --target /tmp/restore\n"
      "  ward restore 1a2b3c4d:/etc/nginx --target /tmp/nginx --delta\n"
      "  ward restore latest:postgres --to postgresql://db/app_new --swap\n"
      "  ward restore latest:secrets/vault.json --to-env /run/app/.env");
  cmd->callback([&g, runner] {
    *runner = [&g]() -> int {
      size_t colon = o.what.find(':');
      std::string ref = o.what.substr(0, colon);
      std::string sub = colon == std::string::npos ? "" : o.what.substr(colon + 1);
      if (o.target.empty() && o.to.to.empty() && o.to_env.empty()) {
        return Fail("give --target DIR, --to URL or --to-env FILE", kExitUsage);
      }
      int code = 0;
      auto repo = OpenRepository(g, &code);
      if (!repo) return code;
      Status li = repo->LoadIndex();
      if (!li.ok()) return Fail(li);
      auto candidates = o.filter.Select(*repo, &code);
      if (!candidates) return code;
      auto snap = repo->FindSnapshot(ref, *candidates);
      if (!snap.ok()) return Fail(snap.status(), kExitUsage);
      if (!o.to.to.empty() || !o.to_env.empty()) return ToService(g, *repo, *snap, sub, o);
      return ToDirectory(g, *repo, *snap, sub, o);
    };
  });
}

}  // namespace ward::cmd
