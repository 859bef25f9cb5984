// ward snapshots: list snapshots, filtered.
#include <iostream>
#include <map>

#include <fmt/format.h>

#include "base/time.h"
#include "cmd/common.h"

namespace ward::cmd {

namespace {
struct SnapshotsOpts {
  SnapshotFilter filter;
  int latest = 0;
};

std::string Join(const std::vector<std::string>& v, const char* sep) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) out += (i ? sep : "") + v[i];
  return out;
}
}  // namespace

void RegisterSnapshots(CLI::App& app, GlobalOptions& g, Runner* runner) {
  static SnapshotsOpts o;
  auto* cmd = app.add_subcommand("snapshots", "List snapshots");
  o.filter.AddFlags(cmd);
  cmd->add_option("--latest", o.latest, "only the newest N snapshots of each host, source and paths")
      ->expected(0, 1)
      ->default_str("1");
  cmd->footer(
      "Examples:\n"
      "  ward snapshots --host db1 --since 2026-11-01\n"
      "  ward snapshots --latest --json");
  cmd->callback([&g, runner, cmd] {
    if (cmd->count("--latest") && o.latest == 0) o.latest = 1;
    *runner = [&g]() -> int {
      int code = 0;
      auto repo = OpenRepository(g, &code);
      if (!repo) return code;
      auto list = o.filter.Select(*repo, &code);
      if (!list) return code;
      std::vector<repo::Snapshot> shown = *list;
      if (o.latest > 0) {
        std::map<std::string, int> seen;
        std::vector<repo::Snapshot> keep;
        for (auto it = shown.rbegin(); it != shown.rend(); ++it) {
          std::string key = it->hostname + "\n" + it->source + "\n" + Join(it->paths, "\n");
          if (seen[key]++ < o.latest) keep.push_back(*it);
        }
        shown.assign(keep.rbegin(), keep.rend());
      }
      if (g.json) {
        nlohmann::json arr = nlohmann::json::array();
        for (const auto& s : shown) arr.push_back(SnapshotJson(s));
        PrintJson(arr);
        return kExitOk;
      }
      std::cout << fmt::format("{:<10} {:<19} {:<16} {:<8} {:<16} {:>10}  {}\n", "ID", "Time", "Host", "Source",
                               "Tags", "Size", "Paths");
      std::cout << std::string(100, '-') << "\n";
      for (const auto& s : shown) {
        std::string size = s.summary ? FormatBytes(s.summary->total_bytes_processed) : "";
        std::cout << fmt::format("{:<10} {:<19} {:<16} {:<8} {:<16} {:>10}  {}\n", s.id.Short(),
                                 FormatLocalTime(s.time), s.hostname, s.source, Join(s.tags, ","), size,
                                 Join(s.paths, " "));
      }
      std::cout << std::string(100, '-') << "\n" << shown.size() << " snapshot(s)\n";
      return kExitOk;
    };
  });
}

}  // namespace ward::cmd
