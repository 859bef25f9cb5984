// ward repair: put a damaged repository back in order (engine/repair.h).
// `repair index` rebuilds the index from the packs' own headers; `repair
// snapshots` writes copies of damaged snapshots without what is lost.
#include <iostream>

#include <fmt/format.h>

#include "cmd/common.h"
#include "engine/repair.h"

namespace ward::cmd {

namespace {
struct RepairOpts {
  bool dry_run = false, read_all_packs = false, forget = false;
  std::vector<std::string> snapshots;
  SnapshotFilter filter;
};

int PrintRepairIndex(const GlobalOptions& g, const engine::RepairIndexResult& r, bool dry_run) {
  if (g.json) {
    PrintJson({{"message_type", "repair_index"},
               {"dry_run", dry_run},
               {"index_files_read", r.index_files_read},
               {"index_files_damaged", r.index_files_damaged},
               {"packs", r.packs},
               {"packs_added", r.packs_added},
               {"packs_dropped", r.packs_dropped},
               {"unreadable_packs", r.unreadable},
               {"index_files_written", r.index_files_written},
               {"index_files_deleted", r.index_files_deleted},
               {"retained", r.retained}});
    return kExitOk;
  }
  for (const auto& p : r.unreadable) std::cerr << "ward: pack " << p << ": header unreadable; left out of the index\n";
  for (const auto& m : r.retained) std::cerr << "ward: note: " << m << " (it is superseded and ignored)\n";
  if (g.quiet) return kExitOk;
  std::cout << fmt::format("read {} index file(s) ({} damaged); {} pack(s) indexed, {} found only by their header, "
                           "{} gone from the repository\n",
                           r.index_files_read, r.index_files_damaged, r.packs, r.packs_added, r.packs_dropped);
  if (dry_run) {
    std::cout << (r.changed() ? "would write a new index (dry run: nothing changed)\n" : "the index is complete\n");
  } else {
    std::cout << fmt::format("wrote {} index file(s), deleted {} old one(s)\n", r.index_files_written,
                             r.index_files_deleted);
  }
  return kExitOk;
}

int PrintRepairSnapshots(const GlobalOptions& g, const engine::RepairSnapshotsResult& r, bool dry_run) {
  if (g.json) {
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& s : r.repaired) {
      nlohmann::json j = {{"original", s.original.Hex()}, {"lost", s.lost}};
      if (!dry_run) j["repaired"] = s.repaired.Hex();
      arr.push_back(j);
    }
    PrintJson({{"message_type", "repair_snapshots"},
               {"dry_run", dry_run},
               {"snapshots_checked", r.snapshots_checked},
               {"repaired", arr},
               {"forgotten", r.forgotten}});
    return kExitOk;
  }
  for (const auto& s : r.repaired) {
    for (const auto& l : s.lost) std::cerr << "ward: snapshot " << s.original.Short() << ": " << l << "\n";
    if (g.quiet) continue;
    if (dry_run) {
      std::cout << fmt::format("snapshot {}: would be saved without {} lost path(s)\n", s.original.Short(),
                               s.lost.size());
    } else {
      std::cout << fmt::format("snapshot {}: saved as {} without {} lost path(s){}\n", s.original.Short(),
                               s.repaired.Short(), s.lost.size(), r.forgotten ? "; the original is forgotten" : "");
    }
  }
  if (!g.quiet) {
    std::cout << fmt::format("checked {} snapshot(s), {} damaged\n", r.snapshots_checked, r.repaired.size());
    if (!dry_run && !r.repaired.empty() && !r.forgotten) {
      std::cout << "the damaged originals are kept: 'ward forget ID' removes them\n";
    }
  }
  return kExitOk;
}
}  // namespace

void RegisterRepair(CLI::App& app, GlobalOptions& g, Runner* runner) {
  static RepairOpts o;
  auto* repair = app.add_subcommand("repair", "Repair a damaged repository: rebuild the index, mend snapshots");
  repair->require_subcommand(1);
  auto* index = repair->add_subcommand("index", "Rebuild the index from the packs' headers (no data is deleted)");
  index->add_flag("--read-all-packs", o.read_all_packs, "trust no index file: read the header of every pack");
  index->add_flag("-n,--dry-run", o.dry_run, "say what would change, change nothing");
  auto* snaps = repair->add_subcommand("snapshots", "Save damaged snapshots again without what is lost");
  snaps->add_option("snapshot", o.snapshots, "snapshot IDs (default: every snapshot the filters select)");
  o.filter.AddFlags(snaps);
  snaps->add_flag("--forget", o.forget, "remove each damaged original once its repaired copy is saved");
  snaps->add_flag("-n,--dry-run", o.dry_run, "say what would change, change nothing");
  snaps->footer("Run 'ward repair index' first: data an index file lost is then found again.");

  index->callback([&g, runner] {
    *runner = [&g]() -> int {
      int code = 0;
      auto repo = OpenRepository(g, &code);
      if (!repo) return code;
      engine::RepairIndexOptions ro{o.dry_run, o.read_all_packs};
      auto r = engine::RunRepairIndex(*repo, ro);
      if (!r.ok()) return Fail(r.status().WithContext("repair index failed"), ExitCodeFor(r.status()));
      return PrintRepairIndex(g, *r, o.dry_run);
    };
  });
  snaps->callback([&g, runner] {
    *runner = [&g]() -> int {
      int code = 0;
      auto repo = OpenRepository(g, &code);
      if (!repo) return code;
      auto selected = o.filter.Select(*repo, &code);
      if (!selected) return code;
      std::vector<repo::Snapshot> chosen;
      if (o.snapshots.empty()) chosen = std::move(*selected);
      for (const auto& want : o.snapshots) {
        auto s = repo->FindSnapshot(want, *selected);
        if (!s.ok()) return Fail(s.status(), kExitUsage);
        chosen.push_back(*s);
      }
      engine::RepairSnapshotsOptions ro{o.dry_run, o.forget};
      auto r = engine::RunRepairSnapshots(*repo, chosen, ro);
      if (!r.ok()) return Fail(r.status().WithContext("repair snapshots failed"), ExitCodeFor(r.status()));
      return PrintRepairSnapshots(g, *r, o.dry_run);
    };
  });
}

}  // namespace ward::cmd
