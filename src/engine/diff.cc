#include "engine/diff.h"

#include <fnmatch.h>

#include <optional>

namespace ward::engine {

namespace {

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

Status Diff(repo::Repository& repo, const std::optional<Id>& ta, const std::optional<Id>& tb,
            const std::string& path, TreeDiff* d) {
  repo::Tree a, b;
  if (ta) {
    WARD_ASSIGN_OR_RETURN(a, repo.LoadTree(*ta));
  }
  if (tb) {
    WARD_ASSIGN_OR_RETURN(b, repo.LoadTree(*tb));
  }
  auto emit = [&](char what, const std::string& p, const repo::Node& n, uint64_t size,
                  std::string detail) {
    d->changes.push_back({what, p, n, size, std::move(detail)});
  };
  size_t i = 0, j = 0;
  while (i < a.nodes.size() || j < b.nodes.size()) {
    const repo::Node* x = i < a.nodes.size() ? &a.nodes[i] : nullptr;
    const repo::Node* y = j < b.nodes.size() ? &b.nodes[j] : nullptr;
    if (x && (!y || x->name < y->name)) {
      uint64_t files = 0, size = SubtreeSize(repo, *x, &files);
      d->removed += files;
      d->bytes_removed += size;
      emit('-', path + "/" + x->name, *x, size, FormatBytes(size));
      ++i;
    } else if (y && (!x || y->name < x->name)) {
      uint64_t files = 0, size = SubtreeSize(repo, *y, &files);
      d->added += files;
      d->bytes_added += size;
      emit('+', path + "/" + y->name, *y, size, FormatBytes(size));
      ++j;
    } else {
      std::string p = path + "/" + x->name;
      if (x->type == repo::NodeType::kDir && y->type == repo::NodeType::kDir) {
        if (x->subtree != y->subtree)
          WARD_RETURN_IF_ERROR(Diff(repo, x->subtree, y->subtree, p, d));
      } else if (x->type != y->type) {
        emit('T', p, *y, y->size,
             std::string(repo::NodeTypeName(x->type)) + " -> " + repo::NodeTypeName(y->type));
        ++d->changed;
      } else if (x->content != y->content || x->link_target != y->link_target) {
        emit('M', p, *y, y->size, FormatBytes(x->size) + " -> " + FormatBytes(y->size));
        ++d->changed;
        if (y->size > x->size) d->bytes_added += y->size - x->size;
        if (x->size > y->size) d->bytes_removed += x->size - y->size;
      } else if (x->mode != y->mode || x->uid != y->uid || x->gid != y->gid ||
                 x->mtime_ns != y->mtime_ns) {
        emit('U', p, *y, y->size, "metadata");
        ++d->changed;
      }
      ++i;
      ++j;
    }
  }
  return Status::OK();
}

}  // namespace

Result<TreeDiff> DiffTrees(repo::Repository& repo, const Id& a, const Id& b) {
  TreeDiff d;
  WARD_RETURN_IF_ERROR(Diff(repo, a, b, "", &d));
  return d;
}

PathFinder::PathFinder(repo::Repository& repo, std::string pattern)
    : repo_(repo),
      pattern_(std::move(pattern)),
      full_path_(pattern_.find('/') != std::string::npos) {}

Result<PathFinder::Matches> PathFinder::Find(const Id& root) {
  const Matches* below = nullptr;
  WARD_RETURN_IF_ERROR(Below(root, &below));
  if (!full_path_) return *below;
  // Full-path patterns hold every path below (see Below): match them from the root.
  Matches out;
  for (const auto& [p, n] : *below) {
    if (fnmatch(pattern_.c_str(), p.c_str(), 0) == 0) out.emplace_back(p, n);
  }
  return out;
}

Status PathFinder::Below(const Id& tree, const Matches** out) {
  auto it = memo_.find(tree);
  if (it != memo_.end()) {
    *out = &it->second;
    return Status::OK();
  }
  WARD_ASSIGN_OR_RETURN(repo::Tree t, repo_.LoadTree(tree));
  Matches m;
  for (const auto& n : t.nodes) {
    std::string rel = "/" + n.name;
    if (!full_path_ && fnmatch(pattern_.c_str(), n.name.c_str(), 0) == 0) m.emplace_back(rel, n);
    if (n.type == repo::NodeType::kDir) {
      const Matches* sub = nullptr;
      WARD_RETURN_IF_ERROR(Below(n.subtree, &sub));
      for (const auto& [p, node] : *sub) m.emplace_back(rel + p, node);
    }
    if (full_path_) m.emplace_back(rel, n);
  }
  auto [ins, ok] = memo_.emplace(tree, std::move(m));
  (void)ok;
  *out = &ins->second;
  return Status::OK();
}

}  // namespace ward::engine
