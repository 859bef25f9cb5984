// ward hold: legal holds on snapshots (F31). A held snapshot survives every
// forget and prune until released; holds are append-only and auditable.
#include <iostream>

#include <fmt/format.h>

#include "base/time.h"
#include "cmd/common.h"

namespace ward::cmd {

namespace {
struct HoldOpts {
  std::string snapshot, reason;
  bool all = false;
};
}  // namespace

void RegisterHold(CLI::App& app, GlobalOptions& g, Runner* runner) {
  static HoldOpts o;
  auto* hold = app.add_subcommand("hold", "Legal holds: keep snapshots out of every forget and prune");
  hold->require_subcommand(1);
  auto* add = hold->add_subcommand("add", "Put a snapshot under a legal hold");
  add->add_option("snapshot", o.snapshot, "snapshot ID, prefix or 'latest'")->required();
  add->add_option("--reason", o.reason, "why (a case number, a request)")->required();
  auto* list = hold->add_subcommand("list", "List holds: snapshot, reason, who, when");
  list->add_flag("--all", o.all, "also list released holds");
  auto* release = hold->add_subcommand("release", "Release every hold on a snapshot");
  release->add_option("snapshot", o.snapshot, "snapshot ID or prefix")->required();

  add->callback([&g, runner] {
    *runner = [&g]() -> int {
      int code = 0;
      auto repo = OpenRepository(g, &code);
      if (!repo) return code;
      auto all = repo->ListSnapshots();
      if (!all.ok()) return Fail(all.status());
      auto s = repo->FindSnapshot(o.snapshot, *all);
      if (!s.ok()) return Fail(s.status(), kExitUsage);
      auto id = repo->AddHold(s->id, o.reason);
      if (!id.ok()) return Fail(id.status(), id.status().code() == StatusCode::kInvalidArgument ? kExitUsage : kExitFailure);
      if (g.json) {
        PrintJson({{"message_type", "hold_added"}, {"hold", id->Hex()}, {"snapshot", s->id.Hex()}, {"reason", o.reason}});
      } else if (!g.quiet) {
        std::cout << "snapshot " << s->id.Short() << " is on hold: " << o.reason << "\n";
      }
      return kExitOk;
    };
  });
  list->callback([&g, runner] {
    *runner = [&g]() -> int {
      int code = 0;
      auto repo = OpenRepository(g, &code);
      if (!repo) return code;
      std::vector<repo::DamagedObject> damaged;
      auto holds = repo->ListHolds(&damaged);
      if (!holds.ok()) return Fail(holds.status());
      for (const auto& d : damaged) std::cerr << "ward: " << d.error.message() << "\n";
      nlohmann::json arr = nlohmann::json::array();
      if (!g.json) std::cout << fmt::format("{:<10} {:<19} {:<24} {}\n", "Snapshot", "Since", "By", "Reason");
      for (const auto& h : *holds) {
        if (h.released && !o.all) continue;
        nlohmann::json j = {{"hold", h.id.Hex()},       {"snapshot", h.snapshot.Hex()},
                            {"short_id", h.snapshot.Short()}, {"reason", h.reason},
                            {"user", h.user},            {"host", h.host},
                            {"time", FormatRfc3339(h.time)}, {"released", h.released}};
        if (h.released) {
          j["released_by"] = h.released_by;
          j["released_at"] = FormatRfc3339(h.released_at);
        }
        arr.push_back(j);
        if (!g.json) {
          std::cout << fmt::format("{:<10} {:<19} {:<24} {}{}\n", h.snapshot.Short(), FormatLocalTime(h.time),
                                   h.user + "@" + h.host, h.reason,
                                   h.released ? " (released by " + h.released_by + ")" : "");
        }
      }
      if (g.json) PrintJson(arr);
      return damaged.empty() ? kExitOk : kExitFailure;
    };
  });
  release->callback([&g, runner] {
    *runner = [&g]() -> int {
      int code = 0;
      auto repo = OpenRepository(g, &code);
      if (!repo) return code;
      auto holds = repo->ListHolds();
      if (!holds.ok()) return Fail(holds.status());
      // The snapshot may be gone already (a hold can outlive nothing, but be exact).
      std::vector<repo::Snapshot> held;
      for (const auto& h : *holds) {
        repo::Snapshot s;
        s.id = h.snapshot;
        held.push_back(s);
      }
      std::vector<repo::DamagedObject> damaged;
      auto all = repo->ListSnapshots(&damaged);
      if (!all.ok()) return Fail(all.status());
      held.insert(held.end(), all->begin(), all->end());
      for (const auto& d : damaged) {  // a damaged snapshot's hold can still be released
        repo::Snapshot s;
        s.id = d.id;
        held.push_back(s);
      }
      std::sort(held.begin(), held.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
      held.erase(std::unique(held.begin(), held.end(), [](const auto& a, const auto& b) { return a.id == b.id; }),
                 held.end());
      auto s = repo->FindSnapshot(o.snapshot, held);
      if (!s.ok()) return Fail(s.status(), kExitUsage);
      auto n = repo->ReleaseHolds(s->id);
      if (!n.ok()) return Fail(n.status());
      if (*n == 0) return Fail("snapshot " + s->id.Short() + " has no active hold (see 'ward hold list')");
      if (g.json) {
        PrintJson({{"message_type", "hold_released"}, {"snapshot", s->id.Hex()}, {"released", *n}});
      } else if (!g.quiet) {
        std::cout << "released " << *n << " hold(s) on snapshot " << s->id.Short() << "\n";
      }
      return kExitOk;
    };
  });
}

}  // namespace ward::cmd
