// Deletion plans: prune's two-phase delete, as repository objects
// (docs/format/repository.md §6). All are metadata objects of type `plan`
// holding JSON with a "kind":
//
//   condemn   packs to delete (with their blobs, so that readers can still
//             find a blob an in-flight backup referenced) and the index files
//             the new consolidated index superseded
//   waitlist  the writers that were registered right after the condemn plan
//             was written; phase two waits until none of them is live
//   revoked   writers a prune declared dead (no heartbeat); such a writer, if
//             it is in fact alive, withdraws its snapshot instead of saving
//             one that could reference deleted data
//
// Thread safety: plain values.
#pragma once

#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/status.h"
#include "base/time.h"
#include "repo/index.h"

namespace ward::repo {

struct CondemnPlan {
  Id id;  // storage name
  UnixNanos created = 0;
  std::vector<IndexFile::Pack> packs;  // condemned packs and their blobs
  std::vector<Id> superseded_indexes;
};

struct WaitList {
  Id id;
  Id plan;
  std::vector<std::string> writers;
};

struct Revocation {
  Id id;
  std::vector<std::string> writers;
};

struct PendingPlans {
  std::vector<CondemnPlan> condemn;
  std::vector<WaitList> waitlists;
  std::vector<Revocation> revocations;

  const WaitList* WaitListFor(const Id& plan) const;
  bool IsRevoked(const std::string& writer) const;
};

std::string EncodeCondemnPlan(const CondemnPlan& p);
std::string EncodeWaitList(const WaitList& w);
std::string EncodeRevocation(const Revocation& r);

// Sorts a plan object into `out` by its kind. kDataLoss if malformed.
Status DecodePlanObject(const Id& id, ByteView json_text, PendingPlans* out);

}  // namespace ward::repo
