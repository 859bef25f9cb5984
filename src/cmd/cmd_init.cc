// ward init: create a repository (at -r, WARD_REPOSITORY, or the embedded
// default under the XDG data directory).
#include <iostream>

#include "cmd/common.h"
#include "storage/backend.h"

namespace ward::cmd {

void RegisterInit(CLI::App& app, GlobalOptions& g, Runner* runner) {
  auto* cmd = app.add_subcommand("init", "Create a new repository");
  struct InitOpts {
    uint64_t kdf_memory_mib = 64;
    uint64_t kdf_iterations = 3;
    int compression = 3;
    int lock_days = 0;
    std::string lock_mode = "COMPLIANCE";
    std::string copy_ids_from, from_password_file;
  };
  static InitOpts o;
  cmd->add_option("--kdf-memory", o.kdf_memory_mib, "Argon2id memory for the first key, MiB (default 64)")
      ->check(CLI::Range(1, 4096));
  cmd->add_option("--kdf-iterations", o.kdf_iterations, "Argon2id passes for the first key (default 3)")
      ->check(CLI::Range(1, 64));
  cmd->add_option("--compression", o.compression, "zstd level for data, 1-19 (default 3)")->check(CLI::Range(1, 19));
  cmd->add_option("--object-lock-days", o.lock_days,
                  "S3 Object Lock: keep every object ward writes undeletable for N days")
      ->check(CLI::Range(1, 36500));
  cmd->add_option("--object-lock-mode", o.lock_mode, "COMPLIANCE (default; nobody can shorten it) or GOVERNANCE")
      ->check(CLI::IsMember({"COMPLIANCE", "GOVERNANCE", "compliance", "governance"}));
  cmd->add_option("--copy-ids-from", o.copy_ids_from,
                  "share blob IDs with this repository (cheapest 'ward copy' between the two)");
  cmd->add_option("--from-password-file", o.from_password_file,
                  "with --copy-ids-from: its password (default: the same password)");
  cmd->footer(
      "Examples:\n"
      "  ward init                                   # local repository in ~/.local/share/ward/repository\n"
      "  ward -r /srv/backup init\n"
      "  ward -r s3:https://s3.example.com/bucket/ward init\n"
      "  ward -r s3:https://s3.example.com/locked-bucket/ward init --object-lock-days 30\n"
      "Object Lock settings are recorded in the repository and bind every later writer.");
  cmd->callback([&g, runner] {
    *runner = [&g] {
      std::string url = RepositoryUrl(g);
      storage::StorageSettings settings = g.storage;
      if (o.lock_days > 0) {
        settings.lock_mode = o.lock_mode == "governance" || o.lock_mode == "GOVERNANCE" ? "GOVERNANCE" : "COMPLIANCE";
        settings.lock_days = o.lock_days;
      }
      auto backend = storage::OpenBackend(url, settings);
      if (!backend.ok()) {
        return Fail(backend.status(),
                    backend.status().code() == StatusCode::kInvalidArgument ? kExitUsage : kExitFailure);
      }
      auto existing = (*backend)->Stat(storage::Handle::Config());
      if (existing.ok()) {
        return Fail("a repository already exists at " + (*backend)->Location() + "; nothing was changed");
      }
      auto pw = ReadPassword(g, "enter a password for the new repository: ", true);
      if (!pw.ok()) return Fail(pw.status(), kExitUsage);
      repo::OpenOptions open = MakeOpenOptions(g);
      open.storage = settings;
      if (!o.copy_ids_from.empty()) {
        int code = 0;
        auto from = OpenSecondRepository(g, o.copy_ids_from, o.from_password_file, "--copy-ids-from", &code);
        if (!from) return code;
        open.id_key = from->id_key();
        open.chunker_secret = from->config().chunker.secret;
      }
      crypto::KdfParams kdf = crypto::DefaultKdfParams();
      kdf.memory = o.kdf_memory_mib << 20;
      kdf.ops = o.kdf_iterations;
      open.kdf = kdf;
      open.compression_level = o.compression;
      auto r = repo::Repository::Init(std::move(*backend), *pw, open);
      if (!r.ok()) return Fail(r.status());
      if (g.json) {
        PrintJson({{"message_type", "initialized"},
                   {"id", (*r)->config().id},
                   {"repository", (*r)->backend()->Location()}});
      } else if (!g.quiet) {
        std::cout << "created ward repository " << (*r)->config().id.substr(0, 10) << " at "
                  << (*r)->backend()->Location() << "\n\n"
                  << "Keep the password safe: without it the data cannot be read back.\n";
      }
      return static_cast<int>(kExitOk);
    };
  });
}

}  // namespace ward::cmd
