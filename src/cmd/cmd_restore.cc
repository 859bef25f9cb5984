// ward restore: a snapshot (or a path in it) into a directory.
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
  std::string to, to_env, storage_class;
  std::vector<std::string> tables;
  bool swap = false;
  bool allow_overwrite = false;
};

// The kind and recorded position of the source a restore path starts in:
// plan snapshots name their parts ({"postgres": {"kind": ..., "position": ...}}).
std::pair<std::string, nlohmann::json> SourceOf(const repo::Snapshot& s, const std::string& sub) {
  std::string head = sub;
  while (!head.empty() && head[0] == '/') head.erase(0, 1);
  head = head.substr(0, head.find('/'));
  if (s.source == "plan" && s.sources.is_object() && s.sources.contains(head)) {
    const auto& part = s.sources[head];
    return {part.value("kind", ""), part.value("position", nlohmann::json::object())};
  }
  return {s.source, s.sources};
}
}  // namespace

void RegisterRestore(CLI::App& app, GlobalOptions& g, Runner* runner) {
  static RestoreOpts o;
  auto* cmd = app.add_subcommand("restore", "Restore a snapshot, or a path in it, into a directory or a service");
  cmd->add_option("snapshot", o.what, "SNAPSHOT[:PATH]: ID, unique prefix or 'latest', and a path in it")
      ->required();
  auto* target = cmd->add_option("-t,--target", o.target, "directory to restore into (created if missing)");
  auto* to = cmd->add_option("--to", o.to,
                             "restore a service source into a service: postgresql://host/newdb, "
                             "redis://host:port, s3:https://host/bucket/prefix");
  auto* to_env = cmd->add_option("--to-env", o.to_env, "write a stored secrets export (Vault JSON) as a .env file (0600)");
  target->excludes(to)->excludes(to_env);
  to->excludes(to_env);
  cmd->add_option("--tables", o.tables, "with --to postgresql://...: only these tables (a,b)")->delimiter(',');
  cmd->add_flag("--swap", o.swap, "with --to postgresql://...: after the row counts check, rename live -> old, new -> live");
  cmd->add_option("--storage-class", o.storage_class, "with --to s3:...: storage class of the restored objects");
  cmd->add_flag("--allow-overwrite", o.allow_overwrite,
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
      std::string ref = o.what, sub;
      size_t colon = ref.find(':');
      if (colon != std::string::npos) {
        sub = ref.substr(colon + 1);
        ref = ref.substr(0, colon);
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
      if (!o.to.empty() || !o.to_env.empty()) {
        std::unique_ptr<source::RestoreTarget> tgt;
        if (!o.to_env.empty()) {
          tgt = source::MakeEnvFileTarget(o.to_env);
        } else {
          auto [kind, position] = SourceOf(*snap, sub);
          source::RestoreTargetOptions to_opts;
          to_opts.to = o.to;
          to_opts.kind = kind;
          to_opts.tables = o.tables;
          to_opts.swap = o.swap;
          to_opts.storage_class = o.storage_class;
          to_opts.allow_overwrite = o.allow_overwrite;
          to_opts.position = position;
          auto t = source::MakeRestoreTarget(to_opts);
          if (!t.ok()) {
            return Fail(t.status().WithContext("--to " + o.to),
                        t.status().code() == StatusCode::kInvalidArgument ? kExitUsage : kExitFailure);
          }
          tgt = std::move(*t);
        }
        engine::Progress progress;
        ProgressDisplay display(g, &progress, "restore");
        auto report = engine::RunRestoreToTarget(*repo, *snap, sub, *tgt, &progress);
        display.Stop();
        if (!report.ok()) {
          // The target's own login failing is not the repository's password
          // (12); a failed check of what was restored is 20.
          int exit = report.status().code() == StatusCode::kDataLoss ? kExitDamage : kExitFailure;
          return Fail(report.status().WithContext("restore failed"), exit);
        }
        if (g.json) {
          nlohmann::json j = *report;
          j["message_type"] = "summary";
          j["snapshot_id"] = snap->id.Hex();
          PrintJson(j);
        } else if (!g.quiet) {
          std::cout << "restored " << snap->id.Short() << (sub.empty() ? "" : ":" + sub) << " to "
                    << (o.to.empty() ? o.to_env : o.to) << "\n"
                    << report->dump(2) << "\n";
        }
        return kExitOk;
      }
      if (o.target.empty()) return Fail("give --target DIR, --to URL or --to-env FILE", kExitUsage);
      engine::RestoreOptions ro;
      ro.target = o.target;
      ro.subpath = sub;
      ro.includes = o.includes;
      ro.excludes = o.excludes;
      ro.delta = o.delta;
      engine::Progress progress;
      ProgressDisplay display(g, &progress, "restore");
      int64_t start = NowNanos();
      auto r = engine::RunRestore(*repo, *snap, ro, &progress);
      display.Stop();
      if (!r.ok()) return Fail(r.status().WithContext("restore failed"));
      double secs = double(NowNanos() - start) / 1e9;
      for (const auto& e : r->errors) std::cerr << "ward: " << e.message() << "\n";
      if (g.json) {
        PrintJson({{"message_type", "summary"},
                   {"snapshot_id", snap->id.Hex()},
                   {"files_restored", r->files_restored},
                   {"files_unchanged", r->files_unchanged},
                   {"dirs", r->dirs},
                   {"links", r->links},
                   {"bytes_written", r->bytes_written},
                   {"bytes_reused", r->bytes_reused},
                   {"errors", r->errors.size()},
                   {"duration_seconds", secs}});
      } else if (!g.quiet) {
        std::cout << fmt::format("restored snapshot {} to {}: {} files ({} written", snap->id.Short(), o.target,
                                 r->files_restored, FormatBytes(r->bytes_written));
        if (o.delta) std::cout << fmt::format(", {} already correct", FormatBytes(r->bytes_reused));
        std::cout << fmt::format("), {} dirs in {}\n", r->dirs, FormatDuration(secs));
      }
      if (!r->errors.empty()) {
        return Fail(fmt::format("{} item(s) could not be restored (listed above); the rest was restored",
                                r->errors.size()));
      }
      return kExitOk;
    };
  });
}

}  // namespace ward::cmd
