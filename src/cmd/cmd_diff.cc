// ward diff A B: what changed between two snapshots. ward find PATTERN:
// which snapshots hold a matching path.
#include <fnmatch.h>

#include <iostream>
#include <map>
#include <unordered_map>

#include <fmt/format.h>

#include "base/time.h"
#include "cmd/common.h"

namespace ward::cmd {

namespace {

struct DiffOpts {
  std::string a, b;
  std::string pattern;
  SnapshotFilter filter;
};

struct DiffStats {
  uint64_t added = 0, removed = 0, changed = 0, bytes_added = 0, bytes_removed = 0;
};

uint64_t SubtreeSize(repo::Repository& repo, const repo::Node& n, uint64_t* files) {
  if (n.type != repo::NodeType::kDir) {
    ++*files;
    return n.size;
  }
  auto t = repo.LoadTree(n.subtree);
  if (!t.ok()) return 0;
  uint64_t total = 0;
  for (const auto& c : t->nodes) total += SubtreeSize(repo, c, files);
  return total;
}

Status Diff(repo::Repository& repo, const std::optional<Id>& ta, const std::optional<Id>& tb, const std::string& path,
            const GlobalOptions& g, DiffStats* st, nlohmann::json* out) {
  repo::Tree a, b;
  if (ta) {
    WARD_ASSIGN_OR_RETURN(a, repo.LoadTree(*ta));
  }
  if (tb) {
    WARD_ASSIGN_OR_RETURN(b, repo.LoadTree(*tb));
  }
  auto emit = [&](char what, const std::string& p, const repo::Node& n, uint64_t size, const std::string& detail) {
    if (g.json) {
      out->push_back({{"change", std::string(1, what)}, {"path", p}, {"type", repo::NodeTypeName(n.type)},
                      {"size", size}, {"detail", detail}});
    } else if (!g.quiet) {
      std::cout << what << " " << p << (n.type == repo::NodeType::kDir ? "/" : "")
                << (detail.empty() ? "" : "  (" + detail + ")") << "\n";
    }
  };
  size_t i = 0, j = 0;
  while (i < a.nodes.size() || j < b.nodes.size()) {
    const repo::Node* x = i < a.nodes.size() ? &a.nodes[i] : nullptr;
    const repo::Node* y = j < b.nodes.size() ? &b.nodes[j] : nullptr;
    if (x && (!y || x->name < y->name)) {
      uint64_t files = 0, size = SubtreeSize(repo, *x, &files);
      st->removed += files;
      st->bytes_removed += size;
      emit('-', path + "/" + x->name, *x, size, FormatBytes(size));
      ++i;
    } else if (y && (!x || y->name < x->name)) {
      uint64_t files = 0, size = SubtreeSize(repo, *y, &files);
      st->added += files;
      st->bytes_added += size;
      emit('+', path + "/" + y->name, *y, size, FormatBytes(size));
      ++j;
    } else {
      std::string p = path + "/" + x->name;
      if (x->type == repo::NodeType::kDir && y->type == repo::NodeType::kDir) {
        if (x->subtree != y->subtree) WARD_RETURN_IF_ERROR(Diff(repo, x->subtree, y->subtree, p, g, st, out));
      } else if (x->type != y->type) {
        emit('T', p, *y, y->size, std::string(repo::NodeTypeName(x->type)) + " -> " + repo::NodeTypeName(y->type));
        ++st->changed;
      } else if (x->content != y->content || x->link_target != y->link_target) {
        emit('M', p, *y, y->size, FormatBytes(x->size) + " -> " + FormatBytes(y->size));
        ++st->changed;
        if (y->size > x->size) st->bytes_added += y->size - x->size;
        if (x->size > y->size) st->bytes_removed += x->size - y->size;
      } else if (x->mode != y->mode || x->uid != y->uid || x->gid != y->gid || x->mtime_ns != y->mtime_ns) {
        emit('U', p, *y, y->size, "metadata");
        ++st->changed;
      }
      ++i;
      ++j;
    }
  }
  return Status::OK();
}

// Matches below `tree` (relative paths), memoised per tree ID.
using Matches = std::vector<std::pair<std::string, repo::Node>>;
Status FindIn(repo::Repository& repo, const Id& tree, const std::string& pattern, bool full_path,
              std::unordered_map<Id, Matches, IdHash>* memo, const Matches** out) {
  auto it = memo->find(tree);
  if (it != memo->end()) {
    *out = &it->second;
    return Status::OK();
  }
  WARD_ASSIGN_OR_RETURN(repo::Tree t, repo.LoadTree(tree));
  Matches m;
  for (const auto& n : t.nodes) {
    std::string rel = "/" + n.name;
    bool hit = full_path ? false : fnmatch(pattern.c_str(), n.name.c_str(), 0) == 0;
    if (hit) m.emplace_back(rel, n);
    if (n.type == repo::NodeType::kDir) {
      const Matches* sub = nullptr;
      WARD_RETURN_IF_ERROR(FindIn(repo, n.subtree, pattern, full_path, memo, &sub));
      for (const auto& [p, node] : *sub) m.emplace_back(rel + p, node);
      if (full_path) {
        // Full-path patterns are matched from the snapshot root (below).
        m.emplace_back(rel, n);
      }
    } else if (full_path) {
      m.emplace_back(rel, n);
    }
  }
  auto [ins, ok] = memo->emplace(tree, std::move(m));
  (void)ok;
  *out = &ins->second;
  return Status::OK();
}

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
      DiffStats st;
      nlohmann::json changes = nlohmann::json::array();
      Status s = Diff(*repo, a->tree, b->tree, "", g, &st, &changes);
      if (!s.ok()) return Fail(s);
      if (g.json) {
        PrintJson({{"message_type", "diff"}, {"a", a->id.Hex()}, {"b", b->id.Hex()}, {"changes", changes},
                   {"added", st.added}, {"removed", st.removed}, {"changed", st.changed},
                   {"bytes_added", st.bytes_added}, {"bytes_removed", st.bytes_removed}});
      } else if (!g.quiet) {
        std::cout << fmt::format("\n{} added ({}), {} removed ({}), {} changed\n", st.added, FormatBytes(st.bytes_added),
                                 st.removed, FormatBytes(st.bytes_removed), st.changed);
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
      bool full_path = o.pattern.find('/') != std::string::npos;
      std::unordered_map<Id, Matches, IdHash> memo;
      nlohmann::json out = nlohmann::json::array();
      size_t found = 0;
      for (const auto& s : *snaps) {
        const Matches* m = nullptr;
        Status st = FindIn(*repo, s.tree, o.pattern, full_path, &memo, &m);
        if (!st.ok()) return Fail(st);
        for (const auto& [p, n] : *m) {
          if (full_path && fnmatch(o.pattern.c_str(), p.c_str(), 0) != 0) continue;
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
