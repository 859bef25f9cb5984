// ward ls: list the files in a snapshot.
#include <sys/stat.h>

#include <iostream>

#include <fmt/format.h>

#include "base/time.h"
#include "cmd/common.h"
#include "engine/restore.h"

namespace ward::cmd {

namespace {

struct LsOpts {
  std::string snapshot;
  std::string path = "/";
  bool long_format = false;
  bool recursive = true;
  SnapshotFilter filter;
};

std::string ModeString(const repo::Node& n) {
  char t = '-';
  switch (n.type) {
    case repo::NodeType::kDir: t = 'd'; break;
    case repo::NodeType::kSymlink: t = 'l'; break;
    case repo::NodeType::kFifo: t = 'p'; break;
    case repo::NodeType::kCharDev: t = 'c'; break;
    case repo::NodeType::kBlockDev: t = 'b'; break;
    case repo::NodeType::kSocket: t = 's'; break;
    default: break;
  }
  std::string s(1, t);
  const char* rwx = "rwxrwxrwx";
  for (int i = 0; i < 9; ++i) s += (n.mode & (0400 >> i)) ? rwx[i] : '-';
  return s;
}

Status Walk(repo::Repository& repo, const repo::Node& dir, const std::string& path, bool recursive, bool json,
            bool long_format, nlohmann::json* out) {
  WARD_ASSIGN_OR_RETURN(repo::Tree tree, repo.LoadTree(dir.subtree));
  for (const auto& n : tree.nodes) {
    std::string p = path + "/" + n.name;
    if (json) {
      out->push_back({{"path", p},
                      {"name", n.name},
                      {"type", repo::NodeTypeName(n.type)},
                      {"size", n.size},
                      {"mode", n.mode},
                      {"uid", n.uid},
                      {"gid", n.gid},
                      {"user", n.user},
                      {"group", n.group},
                      {"mtime", FormatRfc3339(n.mtime_ns)}});
      if (n.type == repo::NodeType::kSymlink) out->back()["link_target"] = n.link_target;
    } else if (long_format) {
      std::string owner = n.user.empty() ? std::to_string(n.uid) : n.user;
      std::string group = n.group.empty() ? std::to_string(n.gid) : n.group;
      std::cout << fmt::format("{} {:>8} {:>8} {:>12} {} {}", ModeString(n), owner, group, n.size,
                               FormatLocalTime(n.mtime_ns), p);
      if (n.type == repo::NodeType::kSymlink) std::cout << " -> " << n.link_target;
      std::cout << "\n";
    } else {
      std::cout << p << "\n";
    }
    if (recursive && n.type == repo::NodeType::kDir) {
      WARD_RETURN_IF_ERROR(Walk(repo, n, p, recursive, json, long_format, out));
    }
  }
  return Status::OK();
}

}  // namespace

void RegisterLs(CLI::App& app, GlobalOptions& g, Runner* runner) {
  static LsOpts o;
  auto* cmd = app.add_subcommand("ls", "List the files of a snapshot");
  cmd->add_option("snapshot", o.snapshot, "snapshot ID, unique prefix (8+ hex digits) or 'latest'")->required();
  cmd->add_option("path", o.path, "directory (or file) in the snapshot to list (default /)");
  cmd->add_flag("-l,--long", o.long_format, "show mode, owner, size and time");
  cmd->add_flag("!--no-recursive", o.recursive, "list only the directory itself, not below");
  o.filter.AddFlags(cmd, false);
  cmd->callback([&g, runner] {
    *runner = [&g]() -> int {
      int code = 0;
      auto repo = OpenRepository(g, &code);
      if (!repo) return code;
      Status li = repo->LoadIndex();
      if (!li.ok()) return Fail(li);
      auto candidates = o.filter.Select(*repo, &code);
      if (!candidates) return code;
      auto snap = repo->FindSnapshot(o.snapshot, *candidates);
      if (!snap.ok()) return Fail(snap.status(), kExitUsage);
      std::string path = o.path.empty() || o.path[0] != '/' ? "/" + o.path : o.path;
      while (path.size() > 1 && path.back() == '/') path.pop_back();
      auto node = engine::FindNode(*repo, snap->tree, path);
      if (!node.ok()) return Fail(node.status());
      nlohmann::json out = nlohmann::json::array();
      std::string base = path == "/" ? "" : path;
      Status s;
      if (node->type == repo::NodeType::kDir) {
        s = Walk(*repo, *node, base, o.recursive, g.json, o.long_format, &out);
      } else if (g.json) {
        out.push_back({{"path", path}, {"type", repo::NodeTypeName(node->type)}, {"size", node->size}});
      } else {
        std::cout << path << "\n";
      }
      if (g.json) PrintJson({{"snapshot", snap->id.Hex()}, {"nodes", out}});
      if (!s.ok()) return Fail(s);
      return kExitOk;
    };
  });
}

}  // namespace ward::cmd
