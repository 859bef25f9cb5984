#include "source/registry.h"

#include <set>

#include "source/command/command_source.h"
#include "source/files/file_source.h"
#include "source/secrets/env_file_target.h"

namespace ward::source {

namespace {

Result<std::unique_ptr<Source>> MakeFiles(const plan::PlanSource& ps) {
  FileSourceOptions o;
  WARD_ASSIGN_OR_RETURN(o.paths, ps.Strings("paths", true));
  WARD_ASSIGN_OR_RETURN(o.excludes, ps.Strings("exclude"));
  WARD_ASSIGN_OR_RETURN(o.one_file_system, ps.Bool("one_file_system"));
  auto s = FileSource::Create(o);
  if (!s.ok()) return Status(s.status().code(), "source '" + ps.name + "': " + s.status().message());
  return std::unique_ptr<Source>(std::move(*s));
}

Result<std::unique_ptr<Source>> MakeCommand(const plan::PlanSource& ps) {
  CommandSourceOptions o;
  WARD_ASSIGN_OR_RETURN(std::vector<std::string> argv, ps.Strings("command", true));
  for (auto& a : argv) {
    auto e = plan::ExpandEnv(a);
    if (!e.ok()) return Status(e.status().code(), "source '" + ps.name + "': " + e.status().message());
    a = *e;
  }
  o.argv = std::move(argv);
  WARD_ASSIGN_OR_RETURN(o.filename, ps.String("filename", false, ps.name + ".out"));
  auto s = CommandSource::Create(o);
  if (!s.ok()) return Status(s.status().code(), "source '" + ps.name + "': " + s.status().message());
  return std::unique_ptr<Source>(std::move(*s));
}

}  // namespace

Result<std::unique_ptr<Source>> MakeSource(const plan::PlanSource& ps) {
  if (ps.kind == "files") return MakeFiles(ps);
  if (ps.kind == "command") return MakeCommand(ps);
  return UnimplementedError("source '" + ps.name + "': kind '" + ps.kind + "' is not supported by this build");
}

Result<std::unique_ptr<CompositeSource>> MakePlanSource(const plan::Plan& plan,
                                                        const std::vector<std::string>& only) {
  std::set<std::string> wanted(only.begin(), only.end());
  for (const auto& n : wanted) {
    if (!plan.Find(n)) {
      return InvalidArgumentError("--source " + n + ": the plan " + plan.path + " has no source of that name");
    }
  }
  std::vector<std::pair<std::string, std::unique_ptr<Source>>> parts;
  for (const auto& ps : plan.sources) {
    if (!wanted.empty() && !wanted.count(ps.name)) continue;
    WARD_ASSIGN_OR_RETURN(std::unique_ptr<Source> s, MakeSource(ps));
    parts.emplace_back(ps.name, std::move(s));
  }
  return std::make_unique<CompositeSource>(std::move(parts));
}

std::unique_ptr<RestoreTarget> MakeEnvFileTarget(const std::string& path) {
  return std::make_unique<EnvFileTarget>(path);
}

Result<std::unique_ptr<RestoreTarget>> MakeRestoreTarget(const RestoreTargetOptions& options) {
  return InvalidArgumentError("--to " + options.to + ": no restore target for source kind '" + options.kind +
                              "' in this build; use --target DIR");
}

}  // namespace ward::source
