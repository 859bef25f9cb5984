#include "repo/deletion_plan.h"

#include <algorithm>

#include <nlohmann/json.hpp>

namespace ward::repo {

using json = nlohmann::json;

const WaitList* PendingPlans::WaitListFor(const Id& plan) const {
  for (const auto& w : waitlists) {
    if (w.plan == plan) return &w;
  }
  return nullptr;
}

bool PendingPlans::IsRevoked(const std::string& writer) const {
  for (const auto& r : revocations) {
    if (std::find(r.writers.begin(), r.writers.end(), writer) != r.writers.end()) return true;
  }
  return false;
}

std::string EncodeCondemnPlan(const CondemnPlan& p) {
  IndexFile f;
  f.packs = p.packs;
  json sup = json::array();
  for (const auto& id : p.superseded_indexes) sup.push_back(id.Hex());
  return json{{"version", 1},
              {"kind", "condemn"},
              {"created", FormatRfc3339(p.created)},
              {"packs", Base64Encode(f.Encode())},
              {"superseded_indexes", sup}}
      .dump();
}

std::string EncodeWaitList(const WaitList& w) {
  return json{{"version", 1}, {"kind", "waitlist"}, {"plan", w.plan.Hex()}, {"writers", w.writers}}.dump();
}

std::string EncodeRevocation(const Revocation& r) {
  return json{{"version", 1}, {"kind", "revoked"}, {"writers", r.writers}}.dump();
}

Status DecodePlanObject(const Id& id, ByteView text, PendingPlans* out) {
  try {
    json j = json::parse(AsString(text));
    std::string kind = j.at("kind").get<std::string>();
    if (kind == "condemn") {
      CondemnPlan p;
      p.id = id;
      if (auto t = ParseTime(j.value("created", "")); t.ok()) p.created = *t;
      WARD_ASSIGN_OR_RETURN(Bytes packs, Base64Decode(j.at("packs").get<std::string>()));
      WARD_ASSIGN_OR_RETURN(IndexFile f, IndexFile::Decode(packs));
      p.packs = std::move(f.packs);
      for (const auto& s : j.at("superseded_indexes")) {
        WARD_ASSIGN_OR_RETURN(Id sid, Id::FromHex(s.get<std::string>()));
        p.superseded_indexes.push_back(sid);
      }
      out->condemn.push_back(std::move(p));
    } else if (kind == "waitlist") {
      WaitList w;
      w.id = id;
      WARD_ASSIGN_OR_RETURN(w.plan, Id::FromHex(j.at("plan").get<std::string>()));
      w.writers = j.at("writers").get<std::vector<std::string>>();
      out->waitlists.push_back(std::move(w));
    } else if (kind == "revoked") {
      Revocation r;
      r.id = id;
      r.writers = j.at("writers").get<std::vector<std::string>>();
      out->revocations.push_back(std::move(r));
    } else {
      return FailedPreconditionError("plan " + id.Short() + " has kind '" + kind +
                                     "', which this ward does not know; upgrade ward");
    }
  } catch (const json::exception& e) {
    return DataLossError("plan " + id.Short() + " is malformed: " + e.what());
  }
  return Status::OK();
}

}  // namespace ward::repo
