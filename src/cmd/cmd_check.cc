// ward check: verify the repository's structure, and optionally its data.
#include <iostream>

#include <fmt/format.h>

#include "cmd/common.h"
#include "engine/check.h"

namespace ward::cmd {

namespace {
struct CheckOpts {
  bool read_data = false;
  std::string subset;
};
}  // namespace

void RegisterCheck(CLI::App& app, GlobalOptions& g, Runner* runner) {
  static CheckOpts o;
  auto* cmd = app.add_subcommand("check", "Check the repository for damage");
  auto* rd = cmd->add_flag("--read-data", o.read_data, "also download, decrypt and verify every pack");
  cmd->add_option("--read-data-subset", o.subset, "verify a random N% of the packs, e.g. 10%")->excludes(rd);
  cmd->footer("Exit status 20: damage was found (the damaged packs and affected snapshots are named).");
  cmd->callback([&g, runner] {
    *runner = [&g]() -> int {
      engine::CheckOptions co;
      co.read_data = o.read_data;
      if (!o.subset.empty()) {
        std::string s = o.subset;
        if (s.back() == '%') s.pop_back();
        char* end = nullptr;
        double pct = std::strtod(s.c_str(), &end);
        if (s.empty() || *end != '\0' || !(pct > 0) || pct > 100) {
          return Fail("--read-data-subset '" + o.subset + "': give a percentage in (0, 100], e.g. 10%", kExitUsage);
        }
        co.read_data = true;
        co.read_fraction = pct / 100;
      }
      int code = 0;
      auto repo = OpenRepository(g, &code, kExitDamage);
      if (!repo) return code;
      engine::Progress progress;
      ProgressDisplay display(g, co.read_data ? &progress : nullptr, "check");
      auto r = engine::RunCheck(*repo, co, &progress);
      display.Stop();
      if (!r.ok()) return Fail(r.status().WithContext("check failed"), ExitCodeFor(r.status()));
      if (g.json) {
        nlohmann::json affected = nlohmann::json::array();
        for (const auto& a : r->affected_snapshots) {
          affected.push_back({{"snapshot", a.snapshot.Hex()}, {"short_id", a.snapshot.Short()}, {"path", a.path}});
        }
        nlohmann::json damaged = nlohmann::json::array();
        for (const auto& p : r->damaged_packs) damaged.push_back(p.Hex());
        PrintJson({{"message_type", "check"},
                   {"ok", r->errors.empty()},
                   {"errors", r->errors},
                   {"warnings", r->warnings},
                   {"damaged_packs", damaged},
                   {"affected_snapshots", affected},
                   {"snapshots", r->snapshots},
                   {"trees", r->trees},
                   {"packs", r->packs},
                   {"packs_read", r->packs_read},
                   {"bytes_read", r->bytes_read}});
      } else {
        for (const auto& w : r->warnings) std::cerr << "ward: note: " << w << "\n";
        for (const auto& e : r->errors) std::cerr << "ward: error: " << e << "\n";
        for (const auto& a : r->affected_snapshots) {
          std::cerr << "ward: snapshot " << a.snapshot.Short() << " is damaged (e.g. " << a.path << ")\n";
        }
        if (!g.quiet) {
          std::cout << fmt::format("checked {} snapshots, {} trees, {} packs", r->snapshots, r->trees, r->packs);
          if (co.read_data) std::cout << fmt::format(", read {} packs ({})", r->packs_read, FormatBytes(r->bytes_read));
          std::cout << (r->errors.empty() ? ": no errors found\n" : "\n");
        }
      }
      if (!r->errors.empty()) {
        std::cerr << fmt::format("ward: check found damage: {} error(s), {} damaged pack(s), {} affected snapshot(s)\n",
                                 r->errors.size(), r->damaged_packs.size(), r->affected_snapshots.size());
        return kExitDamage;
      }
      return kExitOk;
    };
  });
}

}  // namespace ward::cmd
