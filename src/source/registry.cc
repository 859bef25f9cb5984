#include "source/registry.h"

#include <set>

#include "source/command/command_source.h"
#include "source/files/file_source.h"
#include "source/kind.h"
#include "source/secrets/env_file_target.h"
#ifdef WARD_HAVE_POSTGRES
#include "source/postgres/postgres.h"
#endif
#ifdef WARD_HAVE_REDIS
#include "source/redis/redis.h"
#endif
#ifdef WARD_HAVE_S3BUCKET
#include "source/s3bucket/s3bucket.h"
#endif

namespace ward::source {

namespace {

// The kinds this build has.
const std::vector<const SourceKind*>& Kinds() {
  static const std::vector<const SourceKind*> kinds = {
      &FilesKind(),
      &CommandKind(),
#ifdef WARD_HAVE_POSTGRES
      &PostgresKind(),
#endif
#ifdef WARD_HAVE_REDIS
      &RedisKind(),
#endif
#ifdef WARD_HAVE_S3BUCKET
      &S3BucketKind(),
#endif
  };
  return kinds;
}

const SourceKind* FindKind(const std::string& name) {
  for (const SourceKind* k : Kinds()) {
    if (k->name == name) return k;
  }
  return nullptr;
}

}  // namespace

Status CheckPlanSource(const plan::PlanSource& ps) {
  const SourceKind* kind = FindKind(ps.kind);
  if (kind == nullptr) {
    return UnimplementedError("source '" + ps.name + "': kind '" + ps.kind + "' is not supported by this build");
  }
  return plan::CheckSourceKeys(ps, kind->keys);
}

Result<std::unique_ptr<Source>> MakeSource(const plan::PlanSource& ps) {
  WARD_RETURN_IF_ERROR(CheckPlanSource(ps));
  return FindKind(ps.kind)->make(ps);
}

Result<std::unique_ptr<CompositeSource>> MakePlanSource(const plan::Plan& plan,
                                                        const std::vector<std::string>& only) {
  std::set<std::string> wanted(only.begin(), only.end());
  for (const auto& n : wanted) {
    if (!plan.Find(n)) {
      return InvalidArgumentError("--source " + n + ": the plan " + plan.path + " has no source of that name");
    }
  }
  // Every source's keys, not only the chosen ones': a typo anywhere in the
  // plan is found on the first run. (A kind this build lacks is an error only
  // when that source is chosen.)
  for (const auto& ps : plan.sources) {
    if (FindKind(ps.kind) != nullptr || wanted.empty() || wanted.count(ps.name)) {
      WARD_RETURN_IF_ERROR(CheckPlanSource(ps));
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
  const std::string& to = options.to;
  auto fits = [&](const char* kind, const char* form) -> Status {
    if (options.kind == kind) return Status::OK();
    return InvalidArgumentError(std::string("--to ") + form + " needs a " + kind +
                                " source, but that snapshot path holds a '" + options.kind +
                                "' source: restore it with --target DIR");
  };
  bool pg = to.rfind("postgresql://", 0) == 0 || to.rfind("postgres://", 0) == 0;
  bool redis = to.rfind("redis://", 0) == 0;
  bool s3 = to.rfind("s3:", 0) == 0;
  if (pg) {
    WARD_RETURN_IF_ERROR(fits("postgres", "postgresql://..."));
#ifdef WARD_HAVE_POSTGRES
    return MakePostgresRestoreTarget(options, options.position);
#endif
  } else if (redis) {
    WARD_RETURN_IF_ERROR(fits("redis", "redis://..."));
#ifdef WARD_HAVE_REDIS
    return MakeRedisRestoreTarget(to);
#endif
  } else if (s3) {
    WARD_RETURN_IF_ERROR(fits("s3", "s3:..."));
#ifdef WARD_HAVE_S3BUCKET
    return MakeS3BucketRestoreTarget(options);
#endif
  } else {
    return InvalidArgumentError("--to " + to +
                                ": use postgresql://host/db, redis://host:port or s3:https://host/bucket/prefix");
  }
  return UnimplementedError("--to " + to + ": this build has no restore target for '" + options.kind + "' sources");
}

}  // namespace ward::source
