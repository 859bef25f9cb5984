// ward forget: remove snapshots by retention policy (or by ID), never a
// snapshot under a legal hold; --prune deletes their data afterwards.
#include <iostream>
#include <map>

#include <fmt/format.h>

#include "base/time.h"
#include "cmd/common.h"
#include "engine/forget.h"

namespace ward::cmd {

namespace {

struct ForgetOpts {
  int last = 0, hourly = 0, daily = 0, weekly = 0, monthly = 0, yearly = 0;
  std::string within;
  std::string group_by = "host,source,paths";
  std::string time_zone;
  bool prune = false, dry_run = false;
  std::string plan;
  std::string max_unused = "5%";
  SnapshotFilter filter;
  std::vector<std::string> ids;
};

nlohmann::json Brief(const repo::Snapshot& s) {
  if (s.extra.contains("damaged")) return {{"id", s.id.Hex()}, {"short_id", s.id.Short()}, {"damaged", true}};
  return {{"id", s.id.Hex()}, {"short_id", s.id.Short()}, {"time", FormatRfc3339(s.time)}, {"host", s.hostname},
          {"tags", s.tags},    {"paths", s.paths}};
}

Status PolicyFromPlan(const plan::Plan& p, engine::RetentionPolicy* pol) {
  const auto& r = p.retention;
  auto get = [&](const char* key, int* out) -> Status {
    if (!r.contains(key)) return Status::OK();
    if (!r[key].is_number_integer() || r[key].get<int>() < 0) {
      return InvalidArgumentError("plan " + p.path + " [retention]: " + key + " must be a whole number");
    }
    *out = r[key].get<int>();
    return Status::OK();
  };
  WARD_RETURN_IF_ERROR(get("keep_last", &pol->last));
  WARD_RETURN_IF_ERROR(get("keep_hourly", &pol->hourly));
  WARD_RETURN_IF_ERROR(get("keep_daily", &pol->daily));
  WARD_RETURN_IF_ERROR(get("keep_weekly", &pol->weekly));
  WARD_RETURN_IF_ERROR(get("keep_monthly", &pol->monthly));
  WARD_RETURN_IF_ERROR(get("keep_yearly", &pol->yearly));
  if (r.contains("keep_within")) {
    if (!r["keep_within"].is_string()) {
      return InvalidArgumentError("plan " + p.path + " [retention]: keep_within must be a duration such as \"30d\"");
    }
    WARD_ASSIGN_OR_RETURN(pol->within_ns, ParseDuration(r["keep_within"].get<std::string>()));
  }
  return Status::OK();
}

}  // namespace

void RegisterForget(CLI::App& app, GlobalOptions& g, Runner* runner) {
  static ForgetOpts o;
  auto* cmd = app.add_subcommand("forget", "Remove snapshots by retention policy or ID (held snapshots stay)");
  cmd->add_option("--keep-last", o.last, "keep the N newest snapshots")->check(CountValidator());
  cmd->add_option("--keep-hourly", o.hourly, "keep the newest snapshot of each of the last N hours")
      ->check(CountValidator());
  cmd->add_option("--keep-daily", o.daily, "... of each of the last N days")->check(CountValidator());
  cmd->add_option("--keep-weekly", o.weekly, "... of each of the last N ISO weeks")->check(CountValidator());
  cmd->add_option("--keep-monthly", o.monthly, "... of each of the last N months")->check(CountValidator());
  cmd->add_option("--keep-yearly", o.yearly, "... of each of the last N years")->check(CountValidator());
  cmd->add_option("--keep-within", o.within, "keep snapshots within DURATION (e.g. 30d) of the group's newest");
  cmd->add_option("--group-by", o.group_by, "group snapshots by host,source,paths,tags (default host,source,paths)");
  cmd->add_option("--timezone", o.time_zone, "time zone for hours/days/weeks (IANA name; default local)");
  cmd->add_option("--plan", o.plan, "take the policy from a plan's [retention] table (its service only)");
  cmd->add_flag("--prune", o.prune, "prune afterwards (delete the data no snapshot needs any more)");
  cmd->add_option("--max-unused", o.max_unused, "with --prune: see 'ward prune --help'");
  cmd->add_flag("-n,--dry-run", o.dry_run, "only say which snapshots would go, and why each kept one stays");
  o.filter.AddFlags(cmd);
  cmd->add_option("snapshots", o.ids, "remove exactly these snapshots (IDs or prefixes) instead of a policy");
  cmd->footer(
      "Examples:\n"
      "  ward forget --keep-daily 7 --keep-weekly 5 --keep-monthly 12 --dry-run\n"
      "  ward forget --plan /etc/ward/shop.toml --prune\n"
      "A snapshot under a legal hold ('ward hold') is always kept.");
  cmd->callback([&g, runner] {
    *runner = [&g]() -> int {
      engine::RetentionPolicy pol{o.last, o.hourly, o.daily, o.weekly, o.monthly, o.yearly, 0};
      if (!o.within.empty()) {
        auto d = ParseDuration(o.within);
        if (!d.ok()) return Fail(d.status().WithContext("--keep-within"), kExitUsage);
        pol.within_ns = *d;
      }
      std::optional<plan::Plan> plan;
      if (!o.plan.empty()) {
        auto p = plan::LoadPlan(o.plan);
        if (!p.ok()) return Fail(p.status(), kExitUsage);
        plan = std::move(*p);
        ApplyPlanDefaults(*plan, &g);
        if (pol.Empty()) {
          Status s = PolicyFromPlan(*plan, &pol);
          if (!s.ok()) return Fail(s, kExitUsage);
        }
      }
      if (pol.Empty() && o.ids.empty()) {
        return Fail("no policy given: nothing would be kept, so nothing is removed "
                    "(use --keep-*, --plan, or name snapshots)",
                    kExitUsage);
      }
      std::vector<std::string> group_by;
      for (size_t pos = 0; pos <= o.group_by.size();) {
        size_t comma = o.group_by.find(',', pos);
        if (comma == std::string::npos) comma = o.group_by.size();
        if (comma > pos) group_by.push_back(o.group_by.substr(pos, comma - pos));
        pos = comma + 1;
      }
      int code = 0;
      auto repo = OpenRepository(g, &code);
      if (!repo) return code;
      std::vector<repo::DamagedObject> damaged;
      auto all = repo->ListSnapshots(&damaged);
      if (!all.ok()) return Fail(all.status());
      auto candidates = o.filter.Apply(*all);
      if (!candidates.ok()) return Fail(candidates.status(), kExitUsage);
      if (plan) {
        std::erase_if(*candidates, [&](const repo::Snapshot& s) { return s.service != plan->service; });
      }
      auto holds = repo->ListHolds();
      if (!holds.ok()) return Fail(holds.status());
      std::map<Id, std::vector<std::string>> held;
      for (const auto& h : *holds) {
        if (!h.released) held[h.snapshot].push_back(h.reason);
      }

      std::vector<engine::ForgetGroup> groups;
      if (!o.ids.empty()) {
        engine::ForgetGroup g1;
        for (const auto& ref : o.ids) {
          auto s = repo->FindSnapshot(ref, *all);
          if (!s.ok() && s.status().code() == StatusCode::kNotFound) {
            // A damaged snapshot can be named to be removed, and only that.
            if (auto d = repo::Repository::FindDamaged(ref, damaged); d.ok()) {
              repo::Snapshot stub;
              stub.id = *d;
              stub.extra["damaged"] = true;
              s = std::move(stub);
            }
          }
          if (!s.ok()) return Fail(s.status(), kExitUsage);
          auto h = held.find(s->id);
          if (h != held.end()) {
            std::vector<std::string> why;
            for (const auto& r : h->second) why.push_back("held: " + r);
            g1.keep.push_back({*s, why});
          } else {
            g1.remove.push_back(*s);
          }
        }
        groups.push_back(std::move(g1));
      } else {
        auto applied = engine::ApplyPolicy(*candidates, pol, group_by, o.time_zone, held);
        if (!applied.ok()) return Fail(applied.status(), kExitUsage);
        groups = std::move(*applied);
      }

      size_t removed = 0;
      std::vector<std::string> failures;
      nlohmann::json jgroups = nlohmann::json::array();
      for (const auto& grp : groups) {
        nlohmann::json jg = {{"key", grp.key}, {"keep", nlohmann::json::array()}, {"remove", nlohmann::json::array()}};
        for (const auto& k : grp.keep) {
          auto b = Brief(k.snapshot);
          b["reasons"] = k.reasons;
          jg["keep"].push_back(b);
        }
        for (const auto& s : grp.remove) {
          auto b = Brief(s);
          if (!o.dry_run) {
            Status st = repo->RemoveSnapshot(s.id);
            if (st.ok()) {
              ++removed;
            } else {
              b["error"] = st.message();
              failures.push_back(st.message());
            }
          }
          jg["remove"].push_back(b);
        }
        jgroups.push_back(jg);
        if (!g.json && !g.quiet) {
          std::string key;
          for (const auto& [k, v] : grp.key) key += (key.empty() ? "" : " ") + k + "=" + v;
          if (!key.empty()) std::cout << "group " << key << ":\n";
          if (!pol.Empty()) std::cout << "policy: " << pol.Describe() << "\n";
          std::cout << fmt::format("keep {} snapshot(s):\n", grp.keep.size());
          for (const auto& k : grp.keep) {
            std::string why;
            for (const auto& r : k.reasons) why += (why.empty() ? "" : ", ") + r;
            std::cout << fmt::format("  {}  {}  {}\n", k.snapshot.id.Short(), FormatLocalTime(k.snapshot.time), why);
          }
          std::cout << fmt::format("{} {} snapshot(s):\n", o.dry_run ? "would remove" : "removed", grp.remove.size());
          for (const auto& s : grp.remove) {
            std::cout << fmt::format("  {}  {}\n", s.id.Short(),
                                     s.extra.contains("damaged") ? "(damaged)" : FormatLocalTime(s.time));
          }
          std::cout << "\n";
        }
      }
      for (const auto& f : failures) std::cerr << "ward: could not remove: " << f << "\n";
      nlohmann::json summary = {{"message_type", "forget"}, {"dry_run", o.dry_run}, {"groups", jgroups},
                                {"removed", removed}};
      int exit_code = failures.empty() ? kExitOk : kExitFailure;
      if (o.prune && !o.dry_run) {
        auto po = MakePruneOptions(g, o.max_unused, "1h", false);
        if (!po.ok()) return Fail(po.status(), kExitUsage);
        auto r = RunPruneWithState(*repo, g, *po);
        if (!r.ok()) {
          return Fail(r.status().WithContext("prune after forget"),
                      r.status().code() == StatusCode::kAborted ? kExitLocked : kExitFailure);
        }
        if (g.json) {
          summary["prune"] = {{"packs_deleted", r->packs_deleted}, {"bytes_freed", r->bytes_freed},
                              {"plans_waiting", r->plans_waiting}};
        } else {
          PrintPrune(g, *r, false);
        }
      }
      if (g.json) PrintJson(summary);
      return exit_code;
    };
  });
}

}  // namespace ward::cmd
