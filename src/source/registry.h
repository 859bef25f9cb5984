// Builds sources and restore targets from what the user wrote: a plan's
// [[source]] tables, or a restore's --to URL. The one place that maps kinds
// (files, command, postgres, redis, s3) to implementations.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "plan/plan.h"
#include "source/composite/composite_source.h"
#include "source/source.h"

namespace ward::source {

// Checks a plan source's keys against its kind's (kind.h): kInvalidArgument
// naming the file, line and key (with "did you mean") for one it does not
// take; kUnimplemented for a kind this build lacks.
Status CheckPlanSource(const plan::PlanSource& ps);

// One plan source, after CheckPlanSource. Secrets are resolved here from what
// the plan names (environment variables, files), never from the plan itself.
Result<std::unique_ptr<Source>> MakeSource(const plan::PlanSource& ps);

// The plan's sources (all, or those named in `only`) as one composite. Every
// source's keys are checked first, chosen or not.
Result<std::unique_ptr<CompositeSource>> MakePlanSource(const plan::Plan& plan,
                                                        const std::vector<std::string>& only);

struct RestoreTargetOptions {
  std::string to;                   // postgresql://..., redis://..., s3:...
  std::string kind;                 // the source kind recorded in the snapshot
  std::vector<std::string> tables;  // postgres: restore only these
  bool swap = false;                // postgres: rename new <-> live after checks
  std::string storage_class;        // s3
  bool allow_overwrite = false;     // s3: may write where the snapshot was taken
  // What the snapshot recorded for this source (its "position": row counts,
  // database name, replication offset, ...), for the target's checks.
  nlohmann::json position = nlohmann::json::object();
};

// A restore target for `--to`. kInvalidArgument if the URL does not fit the
// snapshot's source kind.
Result<std::unique_ptr<RestoreTarget>> MakeRestoreTarget(const RestoreTargetOptions& options);

// `--to-env FILE`: writes a secrets export (Vault's `kv get -format=json`,
// KV version 1 or 2, or a flat JSON object of strings) back as a .env file
// with mode 0600.
std::unique_ptr<RestoreTarget> MakeEnvFileTarget(const std::string& path);

}  // namespace ward::source
