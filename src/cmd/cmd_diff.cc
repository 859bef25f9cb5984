// ward diff A B: what changed between two snapshots. ward find PATTERN:
// which snapshots hold a matching path.
#include <iostream>

#include <fmt/format.h>

#include "base/time.h"
#include "cmd/common.h"
#include "engine/diff.h"

namespace ward::cmd {

namespace {
struct DiffOpts {
  std::string a, b;
  std::string pattern;
  SnapshotFilter filter;
};
}  // namespace

void RegisterDiff(CLI::App& app, GlobalOptions& g, Runner* runner) {
  static DiffOpts o;
  auto* diff = app.add_subcommand("diff", "Show what changed between two snapshots");
  // Not ->required(): CLI11 would say only "b is required".
  diff->add_option("old", o.a, "older snapshot");
  diff->add_option("new", o.b, "newer snapshot");
  diff->footer("+ added, - removed, M content changed, T type changed, U metadata changed");
  diff->callback([&g, runner] {
    *runner = [&g]() -> int {
      if (o.a.empty() || o.b.empty()) return Fail("diff needs two snapshots: ward diff OLD NEW", kExitUsage);
      int code = 0;
      auto repo = OpenRepository(g, &code);
      if (!repo) return code;
      Status li = repo->LoadIndex();
      if (!li.ok()) return Fail(li);
      auto all = repo->ListSnapshots();
      if (!all.ok()) return Fail(all.status());
      auto a = repo->FindSnapshot(o.a, *all);
      if (!a.ok()) return Fail(a.status(), kExitUsage);
      auto b = repo->FindSnapshot(o.b, *all);
      if (!b.ok()) return Fail(b.status(), kExitUsage);
      auto st = engine::DiffTrees(*repo, a->tree, b->tree);
      if (!st.ok()) return Fail(st.status());
      nlohmann::json changes = nlohmann::json::array();
      for (const auto& c : st->changes) {
        if (g.json) {
          changes.push_back({{"change", std::string(1, c.what)}, {"path", c.path},
                             {"type", repo::NodeTypeName(c.node.type)}, {"size", c.size}, {"detail", c.detail}});
        } else if (!g.quiet) {
          std::cout << c.what << " " << c.path << (c.node.type == repo::NodeType::kDir ? "/" : "")
                    << (c.detail.empty() ? "" : "  (" + c.detail + ")") << "\n";
        }
      }
      if (g.json) {
        PrintJson({{"message_type", "diff"}, {"a", a->id.Hex()}, {"b", b->id.Hex()}, {"changes", changes},
                   {"added", st->added}, {"removed", st->removed}, {"changed", st->changed},
                   {"bytes_added", st->bytes_added}, {"bytes_removed", st->bytes_removed}});
      } else if (!g.quiet) {
        std::cout << fmt::format("\n{} added ({}), {} removed ({}), {} changed\n", st->added, FormatBytes(st->bytes_added),
                                 st->removed, FormatBytes(st->bytes_removed), st->changed);
      }
      return kExitOk;
    };
  });

  auto* find = app.add_subcommand("find", "Find which snapshots hold a path matching a pattern");
  find->add_option("pattern", o.pattern, "glob on the file name (*.sql), or on the whole path if it has a '/'")
      ->required();
  o.filter.AddFlags(find);
  find->callback([&g, runner] {
    *runner = [&g]() -> int {
      int code = 0;
      auto repo = OpenRepository(g, &code);
      if (!repo) return code;
      Status li = repo->LoadIndex();
      if (!li.ok()) return Fail(li);
      auto snaps = o.filter.Select(*repo, &code);
      if (!snaps) return code;
      engine::PathFinder finder(*repo, o.pattern);
      nlohmann::json out = nlohmann::json::array();
      size_t found = 0;
      for (const auto& s : *snaps) {
        auto m = finder.Find(s.tree);
        if (!m.ok()) return Fail(m.status());
        for (const auto& [p, n] : *m) {
          ++found;
          if (g.json) {
            out.push_back({{"snapshot", s.id.Hex()}, {"short_id", s.id.Short()}, {"time", FormatRfc3339(s.time)},
                           {"host", s.hostname}, {"path", p}, {"type", repo::NodeTypeName(n.type)},
                           {"size", n.size}, {"mtime", FormatRfc3339(n.mtime_ns)}});
          } else {
            std::cout << fmt::format("{}  {}  {}  {:>10}  {}\n", s.id.Short(), FormatLocalTime(s.time), s.hostname,
                                     n.type == repo::NodeType::kDir ? "dir" : FormatBytes(n.size), p);
          }
        }
      }
      if (g.json) PrintJson(out);
      if (!g.json && !g.quiet) std::cout << found << " match(es) in " << snaps->size() << " snapshot(s)\n";
      return kExitOk;
    };
  });
}

}  // namespace ward::cmd
