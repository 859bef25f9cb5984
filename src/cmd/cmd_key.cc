// ward key: manage the passwords (key files) that open the repository.
#include <iostream>

#include <fmt/format.h>

#include "base/time.h"
#include "cmd/common.h"

namespace ward::cmd {

namespace {
struct KeyOpts {
  std::string new_password_file;
  std::string id;
};

Result<Id> ResolveKey(repo::Repository& repo, const std::string& prefix) {
  auto keys = repo.ListKeys();
  if (!keys.ok()) return keys.status();
  std::optional<Id> found;
  for (const auto& k : *keys) {
    if (k.id.Hex().rfind(prefix, 0) == 0) {
      if (found) return InvalidArgumentError("key prefix '" + prefix + "' is ambiguous: give more digits");
      found = k.id;
    }
  }
  if (!found || prefix.empty()) return NotFoundError("no key '" + prefix + "' in this repository (see 'ward key list')");
  return *found;
}
}  // namespace

void RegisterKey(CLI::App& app, GlobalOptions& g, Runner* runner) {
  static KeyOpts o;
  auto* key = app.add_subcommand("key", "Manage the passwords (keys) of the repository");
  key->require_subcommand(1);
  auto* list = key->add_subcommand("list", "List keys");
  auto* add = key->add_subcommand("add", "Add a key with a new password");
  add->add_option("--new-password-file", o.new_password_file, "read the new password from this file");
  auto* remove = key->add_subcommand("remove", "Remove a key (not the one in use)");
  remove->add_option("id", o.id, "key ID or unique prefix")->required();
  auto* passwd = key->add_subcommand("passwd", "Change the password of the key in use");
  passwd->add_option("--new-password-file", o.new_password_file, "read the new password from this file");

  list->callback([&g, runner] {
    *runner = [&g]() -> int {
      int code = 0;
      auto repo = OpenRepository(g, &code);
      if (!repo) return code;
      auto keys = repo->ListKeys();
      if (!keys.ok()) return Fail(keys.status());
      if (g.json) {
        nlohmann::json arr = nlohmann::json::array();
        for (const auto& k : *keys) {
          arr.push_back({{"id", k.id.Hex()}, {"short_id", k.id.Short()}, {"current", k.current},
                         {"username", k.username}, {"hostname", k.hostname}, {"created", FormatRfc3339(k.created)}});
        }
        PrintJson(arr);
        return kExitOk;
      }
      std::cout << fmt::format(" {:<10} {:<12} {:<20} {}\n", "ID", "User", "Host", "Created");
      for (const auto& k : *keys) {
        std::cout << fmt::format("{}{:<10} {:<12} {:<20} {}\n", k.current ? "*" : " ", k.id.Short(), k.username,
                                 k.hostname, FormatLocalTime(k.created));
      }
      return kExitOk;
    };
  });
  add->callback([&g, runner] {
    *runner = [&g]() -> int {
      int code = 0;
      auto repo = OpenRepository(g, &code);
      if (!repo) return code;
      auto pw = ReadNewPassword(g, o.new_password_file);
      if (!pw.ok()) return Fail(pw.status(), kExitUsage);
      auto id = repo->AddKey(*pw, std::nullopt);
      if (!id.ok()) return Fail(id.status());
      if (g.json) {
        PrintJson({{"message_type", "key_added"}, {"id", id->Hex()}});
      } else if (!g.quiet) {
        std::cout << "saved new key " << id->Short() << "\n";
      }
      return kExitOk;
    };
  });
  remove->callback([&g, runner] {
    *runner = [&g]() -> int {
      int code = 0;
      auto repo = OpenRepository(g, &code);
      if (!repo) return code;
      auto id = ResolveKey(*repo, o.id);
      if (!id.ok()) return Fail(id.status(), kExitUsage);
      Status s = repo->RemoveKey(*id);
      if (!s.ok()) return Fail(s);
      if (!g.quiet && !g.json) std::cout << "removed key " << id->Short() << "\n";
      if (g.json) PrintJson({{"message_type", "key_removed"}, {"id", id->Hex()}});
      return kExitOk;
    };
  });
  passwd->callback([&g, runner] {
    *runner = [&g]() -> int {
      int code = 0;
      auto repo = OpenRepository(g, &code);
      if (!repo) return code;
      auto pw = ReadNewPassword(g, o.new_password_file);
      if (!pw.ok()) return Fail(pw.status(), kExitUsage);
      // New key first, then remove the old one: never a moment without a key.
      auto id = repo->AddKey(*pw, std::nullopt);
      if (!id.ok()) return Fail(id.status());
      Id old = repo->current_key();
      Status s = repo->backend()->Remove(storage::Handle::Of(storage::FileType::kKey, old));
      if (!s.ok()) return Fail(s.WithContext("new key " + id->Short() + " saved, but the old key could not be removed"));
      if (g.json) {
        PrintJson({{"message_type", "password_changed"}, {"id", id->Hex()}, {"removed", old.Hex()}});
      } else if (!g.quiet) {
        std::cout << "saved new key " << id->Short() << " and removed the old one " << old.Short() << "\n";
      }
      return kExitOk;
    };
  });
}

}  // namespace ward::cmd
