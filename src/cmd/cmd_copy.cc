// ward copy: snapshots into a second repository (different keys allowed),
// storing only what the target lacks, never reading a source again.
#include <iostream>

#include <fmt/format.h>

#include "base/time.h"
#include "cmd/common.h"
#include "engine/copy.h"
#include "io/file.h"

namespace ward::cmd {

namespace {
struct CopyOpts {
  std::string to;
  std::string to_password_file;
  std::vector<std::string> snapshots;
  SnapshotFilter filter;
};
}  // namespace

std::unique_ptr<repo::Repository> OpenSecondRepository(const GlobalOptions& g, const std::string& url,
                                                       const std::string& password_file, const char* what,
                                                       int* exit_code) {
  GlobalOptions other = g;
  other.repo = url;
  if (!password_file.empty()) {
    other.password_file = password_file;
    other.password_command.clear();
  }
  auto r = OpenRepository(other, exit_code);
  if (!r) std::cerr << "ward: (that was the " << what << " repository " << url << ")\n";
  return r;
}

void RegisterCopy(CLI::App& app, GlobalOptions& g, Runner* runner) {
  static CopyOpts o;
  auto* cmd = app.add_subcommand("copy", "Copy snapshots into another repository (only what it lacks)");
  cmd->add_option("--to", o.to, "the target repository URL")->required();
  cmd->add_option("--to-password-file", o.to_password_file,
                  "the target's password (default: the same password as the source)");
  o.filter.AddFlags(cmd);
  cmd->add_option("snapshots", o.snapshots, "snapshots to copy (default: all that match the filters)");
  cmd->footer(
      "Copying again adds nothing. For the cheapest copies, create the target with\n"
      "'ward -r TARGET init --copy-ids-from SOURCE': both then share blob IDs.\n"
      "Example: ward -r /srv/backup copy --to s3:https://s3.example.com/offsite/ward");
  cmd->callback([&g, runner] {
    *runner = [&g]() -> int {
      int code = 0;
      auto src = OpenRepository(g, &code);
      if (!src) return code;
      auto dst = OpenSecondRepository(g, o.to, o.to_password_file, "target", &code);
      if (!dst) return code;
      auto chosen = o.filter.Select(*src, &code);
      if (!chosen) return code;
      if (!o.snapshots.empty()) {
        std::vector<repo::Snapshot> picked;
        for (const auto& ref : o.snapshots) {
          auto s = src->FindSnapshot(ref, *chosen);
          if (!s.ok()) return Fail(s.status(), kExitUsage);
          picked.push_back(*s);
        }
        chosen = picked;
      }
      std::string map_file;
      if (!g.no_cache) {
        std::string dir = (g.cache_dir.empty() ? repo::DefaultCacheDir() : g.cache_dir) + "/" + src->config().id;
        if (io::MakeDirs(dir, 0700).ok()) map_file = dir + "/copy-ids-" + dst->config().id;
      }
      engine::Progress progress;
      ProgressDisplay display(g, &progress, "copy");
      int64_t start = NowNanos();
      auto r = engine::RunCopy(*src, *dst, *chosen, map_file, &progress);
      display.Stop();
      if (!r.ok()) return Fail(r.status().WithContext("copy failed"), ExitCodeFor(r.status()));
      double secs = double(NowNanos() - start) / 1e9;
      if (g.json) {
        nlohmann::json copied = nlohmann::json::array();
        for (const auto& [a, b] : r->copied) copied.push_back({{"source", a.Hex()}, {"target", b.Hex()}});
        PrintJson({{"message_type", "copy"}, {"snapshots_copied", r->snapshots_copied},
                   {"snapshots_skipped", r->snapshots_skipped}, {"blobs_copied", r->blobs_copied},
                   {"blobs_present", r->blobs_present}, {"trees_skipped", r->trees_skipped},
                   {"bytes_read", r->bytes_read}, {"bytes_stored", r->bytes_stored}, {"copied", copied},
                   {"duration_seconds", secs}});
      } else if (!g.quiet) {
        for (const auto& [a, b] : r->copied) std::cout << "copied " << a.Short() << " -> " << b.Short() << "\n";
        std::cout << fmt::format(
            "{} snapshot(s) copied, {} already there; {} blobs stored ({}), {} already in the target, in {}\n",
            r->snapshots_copied, r->snapshots_skipped, r->blobs_copied, FormatBytes(r->bytes_stored), r->blobs_present,
            FormatDuration(secs));
      }
      return kExitOk;
    };
  });
}

}  // namespace ward::cmd
