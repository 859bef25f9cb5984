// ward backup: files and directories, or the output of a command.
#include <unistd.h>

#include <iostream>

#include <fmt/format.h>

#include "base/time.h"
#include "cmd/common.h"
#include "io/file.h"
#include "engine/backup.h"
#include "source/command/command_source.h"
#include "source/files/file_source.h"
#include "source/registry.h"

namespace ward::cmd {

namespace {

struct BackupOpts {
  std::string host;
  std::vector<std::string> tags;
  std::string time;
  std::vector<std::string> excludes;
  std::vector<std::string> exclude_files;
  bool one_file_system = false;
  bool force = false;
  std::string parent;
  bool stdin_from_command = false;
  std::string stdin_filename = "stdin";
  std::vector<std::string> args;
  std::string plan;
  std::vector<std::string> plan_sources;
};

Status ReadExcludeFiles(const std::vector<std::string>& files, std::vector<std::string>* out) {
  for (const auto& f : files) {
    auto data = io::ReadWholeFile(f);
    if (!data.ok()) return data.status().WithContext("--exclude-file");
    std::string text(AsString(*data));
    size_t pos = 0;
    while (pos < text.size()) {
      size_t nl = text.find('\n', pos);
      if (nl == std::string::npos) nl = text.size();
      std::string line = text.substr(pos, nl - pos);
      pos = nl + 1;
      while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
      if (line.empty() || line[0] == '#') continue;
      out->push_back(line);
    }
  }
  return Status::OK();
}

void PrintSummary(const GlobalOptions& g, const engine::BackupResult& r) {
  const auto& s = *r.snapshot.summary;
  if (g.json) {
    nlohmann::json j = repo::SummaryToJson(s);
    j["message_type"] = "summary";
    j["snapshot_id"] = r.snapshot.id.Hex();
    j["short_id"] = r.snapshot.id.Short();
    j["parent"] = r.parent ? nlohmann::json(r.parent->Hex()) : nlohmann::json();
    j["read_errors"] = r.read_errors.size();
    PrintJson(j);
    return;
  }
  if (g.quiet) return;
  if (r.parent) std::cout << "using parent snapshot " << r.parent->Short() << "\n";
  std::cout << fmt::format("Files: {:>9} new, {:>9} changed, {:>9} unmodified\n", s.files_new, s.files_changed,
                           s.files_unmodified)
            << fmt::format("Dirs:  {:>9} new, {:>9} changed, {:>9} unmodified\n", s.dirs_new, s.dirs_changed,
                           s.dirs_unmodified)
            << fmt::format("Added to the repository: {} ({} before compression)\n", FormatBytes(s.data_added),
                           FormatBytes(s.data_added_plain))
            << fmt::format("processed {} files, {} in {}\n", s.total_files_processed,
                           FormatBytes(s.total_bytes_processed), FormatDuration(s.duration_seconds))
            << "snapshot " << r.snapshot.id.Short() << " saved\n";
}

}  // namespace

void RegisterBackup(CLI::App& app, GlobalOptions& g, Runner* runner) {
  static BackupOpts o;
  auto* cmd = app.add_subcommand("backup", "Back up files and directories, or the output of a command");
  cmd->add_option("--host", o.host, "host name recorded in the snapshot (default: this host)");
  cmd->add_option("--tag", o.tags, "add tags to the snapshot (repeatable; a,b adds two)")->allow_extra_args(false);
  cmd->add_option("--time", o.time, "snapshot time instead of now (RFC 3339)");
  cmd->add_option("-e,--exclude", o.excludes, "exclude paths matching a pattern (repeatable)")
      ->allow_extra_args(false);
  cmd->add_option("--exclude-file", o.exclude_files, "read exclude patterns from a file (repeatable)")
      ->allow_extra_args(false);
  cmd->add_flag("-x,--one-file-system", o.one_file_system, "do not cross file system boundaries");
  cmd->add_flag("-f,--force", o.force, "read every file, even unchanged ones");
  cmd->add_option("--parent", o.parent, "snapshot to compare with (default: latest of this host and paths)");
  cmd->add_flag("--stdin-from-command", o.stdin_from_command,
                "back up the standard output of the command given after --");
  cmd->add_option("--stdin-filename", o.stdin_filename, "file name for the command's output (default: stdin)");
  cmd->add_option("--plan", o.plan, "back up the sources a plan file describes, as one snapshot");
  cmd->add_option("--source", o.plan_sources, "with --plan: only this source (repeatable)")->allow_extra_args(false);
  cmd->add_option("args", o.args, "paths to back up, or (with --stdin-from-command) the command after --");
  cmd->footer(
      "Examples:\n"
      "  ward backup /etc /srv/www --exclude '*.tmp' --tag nightly\n"
      "  ward backup --stdin-from-command --stdin-filename db.dump -- pg_dump -Fc mydb\n"
      "  ward backup --plan /etc/ward/aura-sign.toml [--source postgres]\n"
      "Exit status 3: the snapshot was saved but some inputs could not be read (named on stderr).");
  cmd->callback([&g, runner] {
    *runner = [&g]() -> int {
      std::optional<plan::Plan> plan;
      if (!o.plan.empty()) {
        if (!o.args.empty() || o.stdin_from_command) {
          return Fail("--plan backs up the plan's sources: give no paths and no --stdin-from-command", kExitUsage);
        }
        auto p = plan::LoadPlan(o.plan);
        if (!p.ok()) return Fail(p.status(), kExitUsage);
        plan = std::move(*p);
        // --force distrusts every cache and --no-cache keeps none: the bucket
        // sources' HEAD caches too.
        if (o.force || g.no_cache) {
          for (auto& ps : plan->sources) {
            if (ps.kind == "s3") ps.config["head_cache"] = false;
          }
        }
        ApplyPlanDefaults(*plan, &g);
      } else if (!o.plan_sources.empty()) {
        return Fail("--source needs --plan", kExitUsage);
      }
      if (!plan && o.args.empty()) {
        return Fail(o.stdin_from_command ? "no command given: put it after --, e.g. -- pg_dump -Fc mydb"
                                         : "no paths given: ward backup PATH...",
                    kExitUsage);
      }
      engine::BackupOptions bo;
      bo.hostname = o.host;
      for (const auto& t : o.tags) {  // --tag a,b adds two tags (as restic does)
        size_t pos = 0;
        while (pos <= t.size()) {
          size_t comma = t.find(',', pos);
          if (comma == std::string::npos) comma = t.size();
          if (comma > pos) bo.tags.push_back(t.substr(pos, comma - pos));
          pos = comma + 1;
        }
      }
      bo.force = o.force;
      if (!o.time.empty()) {
        auto t = ParseTime(o.time);
        if (!t.ok()) return Fail(t.status().WithContext("--time"), kExitUsage);
        bo.time = *t;
      }
      std::unique_ptr<source::Source> src, scanner;
      if (plan) {
        auto s = source::MakePlanSource(*plan, o.plan_sources);
        if (!s.ok()) return Fail(s.status(), s.status().code() == StatusCode::kInvalidArgument ? kExitUsage : kExitFailure);
        src = std::move(*s);
        bo.service = plan->service;
      } else if (o.stdin_from_command) {
        auto s = source::CommandSource::Create({o.args, o.stdin_filename, !g.quiet});
        if (!s.ok()) return Fail(s.status(), kExitUsage);
        src = std::move(*s);
      } else {
        std::vector<std::string> excludes = o.excludes;
        Status es = ReadExcludeFiles(o.exclude_files, &excludes);
        if (!es.ok()) return Fail(es, kExitUsage);
        source::FileSourceOptions fo{o.args, excludes, o.one_file_system};
        auto s = source::FileSource::Create(fo);
        if (!s.ok()) {
          return Fail(s.status(), s.status().code() == StatusCode::kInvalidArgument ? kExitUsage : kExitFailure);
        }
        src = std::move(*s);
        // Totals (for the percentage and ETA of the progress bar) cost a
        // second walk of the tree: only worth it when someone watches.
        if (!g.quiet && !g.json && ::isatty(2) == 1) {
          auto sc = source::FileSource::Create(fo);
          if (sc.ok()) scanner = std::move(*sc);
        }
        bo.excludes = excludes;
      }
      bo.scanner = scanner.get();

      int code = 0;
      auto repo = OpenRepository(g, &code);
      if (!repo) return code;
      if (!o.parent.empty()) {
        auto all = repo->ListSnapshots();
        if (!all.ok()) return Fail(all.status());
        auto p = repo->FindSnapshot(o.parent, *all);
        if (!p.ok()) return Fail(p.status().WithContext("--parent"), kExitUsage);
        bo.parent = p->id;
      }
      engine::Progress progress;
      ProgressDisplay display(g, &progress, "backup");
      auto r = engine::RunBackup(*repo, *src, bo, &progress);
      display.Stop();
      // The repository is open by now: a source refusing its login is a
      // failure of that source (1), not the repository's password (12).
      if (!r.ok()) return Fail(r.status().WithContext("backup failed (no snapshot was saved)"), kExitFailure);
      for (const auto& e : r->read_errors) std::cerr << "ward: could not read " << e.message() << "\n";
      PrintSummary(g, *r);
      if (!r->read_errors.empty()) {
        std::cerr << "ward: snapshot " << r->snapshot.id.Short() << " saved, but " << r->read_errors.size()
                  << " input(s) could not be read (listed above)\n";
        return kExitPartial;
      }
      return kExitOk;
    };
  });
}

}  // namespace ward::cmd
