// ward prune: delete data that no snapshot needs, safely while other hosts
// back up (two-phase delete; see engine/prune.h).
#include <iostream>

#include <fmt/format.h>

#include "base/time.h"
#include "cmd/common.h"
#include "engine/prune.h"
#include "io/file.h"

namespace ward::cmd {

namespace {
struct PruneOpts {
  bool dry_run = false;
  std::string max_unused = "5%";
  std::string stale_after = "1h";
};
}  // namespace

Result<engine::PruneOptions> MakePruneOptions(const GlobalOptions& g, const std::string& max_unused,
                                              const std::string& stale_after, bool dry_run) {
  engine::PruneOptions po;
  po.dry_run = dry_run;
  std::string m = max_unused;
  if (!m.empty() && m.back() == '%') m.pop_back();
  char* end = nullptr;
  double pct = std::strtod(m.c_str(), &end);
  if (m.empty() || *end != '\0' || pct < 0 || pct > 100) {
    return InvalidArgumentError("--max-unused '" + max_unused + "': give a percentage, e.g. 5%");
  }
  po.max_unused = pct / 100;
  auto d = ParseDuration(stale_after);
  if (!d.ok()) return Status(d.status().code(), "--stale-session-after: " + d.status().message());
  po.stale_after_ns = *d;
  (void)g;
  return po;
}

int PrintPrune(const GlobalOptions& g, const engine::PruneResult& r, bool dry_run) {
  if (g.json) {
    PrintJson({{"message_type", "prune"},
               {"dry_run", dry_run},
               {"snapshots", r.snapshots},
               {"packs", r.packs},
               {"blobs_used", r.blobs_used},
               {"blobs_unused", r.blobs_unused},
               {"bytes_used", r.bytes_used},
               {"bytes_unused", r.bytes_unused},
               {"packs_condemned", r.packs_condemned},
               {"packs_repacked", r.packs_repacked},
               {"packs_unindexed", r.packs_unindexed},
               {"bytes_repacked", r.bytes_repacked},
               {"bytes_to_free", r.bytes_to_free},
               {"packs_deleted", r.packs_deleted},
               {"packs_kept", r.packs_kept},
               {"bytes_freed", r.bytes_freed},
               {"index_files_deleted", r.index_files_deleted},
               {"plans_finished", r.plans_finished},
               {"plans_waiting", r.plans_waiting},
               {"waiting_for", r.waiting_for},
               {"retained", r.retained},
               {"objects_retention_extended", r.objects_retention_extended},
               {"temporaries_removed", r.temporaries_removed},
               {"temporary_bytes_removed", r.temporary_bytes_removed},
               {"sessions_removed", r.sessions_removed}});
    return kExitOk;
  }
  if (g.quiet) return kExitOk;
  std::cout << fmt::format("{} snapshots use {} blobs ({}); {} blobs ({}) are unused\n", r.snapshots, r.blobs_used,
                           FormatBytes(r.bytes_used), r.blobs_unused, FormatBytes(r.bytes_unused));
  std::cout << fmt::format("{} {} of {} packs ({} to repack, {} not in any index), freeing {}{}\n",
                           dry_run ? "would delete" : "condemned", r.packs_condemned, r.packs, r.packs_repacked,
                           r.packs_unindexed, FormatBytes(r.bytes_to_free),
                           r.bytes_repacked ? fmt::format(" after copying {} of live data", FormatBytes(r.bytes_repacked))
                                            : "");
  if (!dry_run) {
    std::cout << fmt::format("deleted {} packs and {} index files: {} freed", r.packs_deleted, r.index_files_deleted,
                             FormatBytes(r.bytes_freed));
    if (r.packs_kept) std::cout << fmt::format(" ({} packs kept: a backup in flight needed them)", r.packs_kept);
    std::cout << "\n";
    if (r.plans_waiting) {
      std::cout << fmt::format("{} deletion(s) wait for writers still running; run 'ward prune' again later:\n",
                               r.plans_waiting);
      for (const auto& w : r.waiting_for) std::cout << "  " << w << "\n";
    }
    if (r.temporaries_removed || r.sessions_removed) {
      std::cout << fmt::format("removed {} temporary file(s) ({}) and {} session(s) of writers that are gone\n",
                               r.temporaries_removed, FormatBytes(r.temporary_bytes_removed), r.sessions_removed);
    }
    for (const auto& x : r.retained) std::cout << "kept under Object Lock: " << x << "\n";
    if (r.objects_retention_extended) {
      std::cout << fmt::format("extended Object Lock retention of {} objects\n", r.objects_retention_extended);
    }
  }
  return kExitOk;
}

Result<engine::PruneResult> RunPruneWithState(repo::Repository& repo, const GlobalOptions& g,
                                              engine::PruneOptions po) {
  if (!g.no_cache) {
    std::string dir = (g.cache_dir.empty() ? repo::DefaultCacheDir() : g.cache_dir) + "/" + repo.config().id;
    if (io::MakeDirs(dir, 0700).ok()) po.state_file = dir + "/sessions-seen.json";
  }
  return engine::RunPrune(repo, po, nullptr);
}

void RegisterPrune(CLI::App& app, GlobalOptions& g, Runner* runner) {
  static PruneOpts o;
  auto* cmd = app.add_subcommand("prune", "Delete data no snapshot needs (safe while other hosts back up)");
  cmd->add_flag("-n,--dry-run", o.dry_run, "only say what would be deleted");
  cmd->add_option("--max-unused", o.max_unused, "repack packs with more unused space than this (default 5%)");
  cmd->add_option("--stale-session-after", o.stale_after,
                  "a writer on another host whose session was not refreshed for this long is dead (default 1h)");
  cmd->footer(
      "Deletion is two-phase: what backups in flight could still use is only deleted once they have\n"
      "finished (run prune again later). Exit status 11: another prune is running.");
  cmd->callback([&g, runner] {
    *runner = [&g]() -> int {
      auto po = MakePruneOptions(g, o.max_unused, o.stale_after, o.dry_run);
      if (!po.ok()) return Fail(po.status(), kExitUsage);
      int code = 0;
      auto repo = OpenRepository(g, &code);
      if (!repo) return code;
      auto r = RunPruneWithState(*repo, g, *po);
      if (!r.ok()) {
        return Fail(r.status().WithContext("prune"), r.status().code() == StatusCode::kAborted ? kExitLocked
                                                                                               : ExitCodeFor(r.status()));
      }
      return PrintPrune(g, *r, o.dry_run);
    };
  });
}

}  // namespace ward::cmd
