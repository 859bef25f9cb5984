// A kind of plan source as its folder declares it: the name plans use
// (kind = "files"), the keys its [[source]] table may hold beyond the common
// ones (plan::CommonSourceKeys), and how to build it from that table. Each
// folder under source/ defines its kind next to its code, so a new kind
// brings its own keys; the registry (registry.h) lists the kinds a build has
// and checks every [[source]] against its kind's keys before building any.
//
// Thread safety: kinds are immutable statics.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "plan/plan.h"
#include "source/source.h"

namespace ward::source {

struct SourceKind {
  std::string name;
  std::vector<std::string> keys;
  Result<std::unique_ptr<Source>> (*make)(const plan::PlanSource& ps);
};

// The kinds in ward_source itself (the service kinds declare theirs in their
// own headers: postgres.h, redis.h, s3bucket.h).
const SourceKind& FilesKind();    // files/file_source.cc
const SourceKind& CommandKind();  // command/command_source.cc

}  // namespace ward::source
