#include "cmd/common.h"

#include <fcntl.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iostream>

#include <fmt/format.h>

#include "base/time.h"
#include "io/file.h"
#include "source/command/command_source.h"
#include "storage/backend.h"

namespace ward::cmd {

std::string RepositoryUrl(const GlobalOptions& g) {
  if (!g.repo.empty()) return g.repo;
  if (const char* r = std::getenv("WARD_REPOSITORY"); r && *r) return r;
  if (const char* x = std::getenv("XDG_DATA_HOME"); x && *x) return std::string(x) + "/ward/repository";
  if (const char* h = std::getenv("HOME"); h && *h) return std::string(h) + "/.local/share/ward/repository";
  return "ward-repository";
}

namespace {

std::string FirstLine(std::string s) {
  size_t nl = s.find('\n');
  if (nl != std::string::npos) s.resize(nl);
  if (!s.empty() && s.back() == '\r') s.pop_back();
  return s;
}

Result<std::string> PasswordFromFile(const std::string& path, const char* what) {
  auto data = io::ReadWholeFile(path);
  if (!data.ok()) return Status(data.status().code(), std::string(what) + ": " + data.status().message());
  std::string pw = FirstLine(std::string(AsString(*data)));
  // An empty password is never a repository's: say so rather than "wrong password".
  if (pw.empty()) {
    return FailedPreconditionError(std::string(what) + " " + path + " holds no password (its first line is empty)");
  }
  return pw;
}

Result<std::string> PasswordFromCommand(const std::string& command) {
  const std::string what = "--password-command '" + command + "'";
  auto reader = source::RunCommandReader({"/bin/sh", "-c", command}, true, {}, {}, what);
  if (!reader.ok()) return reader.status();
  std::string out;
  uint8_t buf[4096];
  for (;;) {
    auto n = (*reader)->Read(buf);
    if (!n.ok()) return n.status();
    if (*n == 0) break;
    out.append(reinterpret_cast<char*>(buf), *n);
    if (out.size() > (1 << 20)) return InvalidArgumentError("--password-command printed more than 1 MiB");
  }
  WARD_RETURN_IF_ERROR((*reader)->Finish());
  std::string pw = FirstLine(out);
  if (pw.empty()) return FailedPreconditionError(what + " printed no password (its first line was empty)");
  return pw;
}

Result<std::string> Prompt(const std::string& prompt) {
  int fd = ::open("/dev/tty", O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    return InvalidArgumentError(
        "no password given: use --password-file, --password-command, WARD_PASSWORD_FILE or WARD_PASSWORD");
  }
  io::UniqueFd tty(fd);
  io::WriteAll(fd, AsBytes(prompt), "/dev/tty").IgnoreError();
  struct termios old, noecho;
  bool restore = ::tcgetattr(fd, &old) == 0;
  if (restore) {
    noecho = old;
    noecho.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    ::tcsetattr(fd, TCSAFLUSH, &noecho);
  }
  std::string line;
  char c;
  while (::read(fd, &c, 1) == 1 && c != '\n') line += c;
  if (restore) ::tcsetattr(fd, TCSAFLUSH, &old);
  io::WriteAll(fd, AsBytes("\n"), "/dev/tty").IgnoreError();
  return FirstLine(line);
}

}  // namespace

Result<std::string> ReadPassword(const GlobalOptions& g, const std::string& prompt, bool confirm) {
  if (!g.password_file.empty()) return PasswordFromFile(g.password_file, "--password-file");
  if (!g.password_command.empty()) return PasswordFromCommand(g.password_command);
  if (const char* f = std::getenv("WARD_PASSWORD_FILE"); f && *f) {
    return PasswordFromFile(f, "WARD_PASSWORD_FILE");
  }
  if (const char* p = std::getenv("WARD_PASSWORD"); p && *p) return std::string(p);
  WARD_ASSIGN_OR_RETURN(std::string pw, Prompt(prompt));
  if (confirm) {
    WARD_ASSIGN_OR_RETURN(std::string again, Prompt("enter the password again: "));
    if (again != pw) return InvalidArgumentError("the passwords do not match");
  }
  return pw;
}

Result<std::string> ReadNewPassword(const GlobalOptions& g, const std::string& new_password_file) {
  if (!new_password_file.empty()) {
    WARD_ASSIGN_OR_RETURN(std::string pw, PasswordFromFile(new_password_file, "--new-password-file"));
    if (pw.empty()) return InvalidArgumentError("--new-password-file: the file holds an empty password");
    return pw;
  }
  WARD_ASSIGN_OR_RETURN(std::string pw, Prompt("enter the new password: "));
  (void)g;
  WARD_ASSIGN_OR_RETURN(std::string again, Prompt("enter the new password again: "));
  if (again != pw) return InvalidArgumentError("the passwords do not match");
  return pw;
}

void ApplyPlanDefaults(const plan::Plan& plan, GlobalOptions* g) {
  auto env = [](const char* k) {
    const char* v = std::getenv(k);
    return v != nullptr && *v != '\0';
  };
  if (g->repo.empty() && !env("WARD_REPOSITORY") && !plan.repository.empty()) g->repo = plan.repository;
  bool have_password = !g->password_file.empty() || !g->password_command.empty() || env("WARD_PASSWORD_FILE") ||
                       env("WARD_PASSWORD");
  if (!have_password) {
    if (!plan.password_file.empty()) {
      g->password_file = plan.password_file;
    } else if (!plan.password_command.empty()) {
      g->password_command = plan.password_command;
    }
  }
}

repo::OpenOptions MakeOpenOptions(const GlobalOptions& g) {
  repo::OpenOptions o;
  if (!g.no_cache) o.cache_dir = g.cache_dir.empty() ? repo::DefaultCacheDir() : g.cache_dir;
  o.storage = g.storage;
  return o;
}

int ExitCodeFor(const Status& s) {
  switch (s.code()) {
    case StatusCode::kUnauthenticated: return kExitWrongPassword;
    case StatusCode::kDataLoss: return kExitDamage;
    default: return kExitFailure;
  }
}

int UsageOrFailure(const Status& s) {
  return s.code() == StatusCode::kInvalidArgument ? kExitUsage : kExitFailure;
}

int Fail(const Status& s, int code) { return Fail(s.message(), code); }

// --- command line -----------------------------------------------------------

CLI::Validator CountValidator() {
  return CLI::Validator(
      [](std::string& v) -> std::string {
        bool digits = !v.empty() && v.size() <= 9 && std::all_of(v.begin(), v.end(), [](char c) {
          return c >= '0' && c <= '9';
        });
        return digits ? "" : "'" + v + "' is not a count: give a whole number, 0 or more";
      },
      "COUNT");
}

Status CheckGivenValues(const CLI::App& app) {
  // CLI11 cannot tell `-r ''` from no -r; an empty value given on purpose
  // must not quietly mean the default.
  static const std::pair<const char*, const char*> kNonEmpty[] = {
      {"--repo", "-r/--repo is empty: give the repository, e.g. -r /srv/ward or -r s3:bucket/prefix "
                 "(leave -r out to use WARD_REPOSITORY or the default)"},
      {"--password-file", "--password-file is empty: give the file that holds the password"},
      {"--password-command", "--password-command is empty: give a command that prints the password"},
      {"--cache-dir", "--cache-dir is empty: give a directory, or use --no-cache"},
  };
  for (const auto& [name, message] : kNonEmpty) {
    const CLI::Option* opt = app.get_option_no_throw(name);
    if (opt == nullptr || opt->count() == 0) continue;
    for (const auto& v : opt->results()) {
      if (v.empty()) return InvalidArgumentError(message);
    }
  }
  return Status::OK();
}

int ParseFailure(const CLI::App& app, const CLI::ParseError& e) {
  if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) return app.exit(e);
  std::vector<CLI::App*> chosen = app.get_subcommands();
  if (chosen.empty()) {
    // CLI11 says "A subcommand is required" for a misspelt command too.
    std::vector<std::string> rest = app.remaining();
    if (!rest.empty()) {
      const char* what = rest.front().starts_with('-') ? "option" : "command";
      return Fail(fmt::format("unknown {} '{}' (see ward --help)", what, rest.front()), kExitUsage);
    }
    if (e.get_name() == "RequiredError") return Fail("no command given (see ward --help)", kExitUsage);
    return Fail(std::string(e.what()) + " (see ward --help)", kExitUsage);
  }
  return Fail(std::string(e.what()) + " (see ward " + chosen.front()->get_name() + " --help)", kExitUsage);
}

int Fail(const std::string& message, int code) {
  std::string m = message;
  for (auto& c : m) {
    if (c == '\n') c = ' ';
  }
  std::cerr << "ward: " << m << std::endl;
  return code;
}

std::unique_ptr<repo::Repository> OpenRepository(const GlobalOptions& g, int* exit_code, int damage_exit) {
  std::string url = RepositoryUrl(g);
  auto backend = storage::OpenBackend(url, g.storage);
  if (!backend.ok()) {
    *exit_code = Fail(backend.status(), backend.status().code() == StatusCode::kInvalidArgument ? kExitUsage
                                                                                                : kExitFailure);
    return nullptr;
  }
  // Tell "no repository" apart before asking for a password.
  auto cfg = (*backend)->Stat(storage::Handle::Config());
  if (!cfg.ok()) {
    if (cfg.status().code() == StatusCode::kNotFound) {
      Status missing = repo::Repository::MissingConfig(**backend);
      *exit_code = Fail(missing, missing.code() == StatusCode::kNotFound  ? kExitNoRepository
                                 : missing.code() == StatusCode::kDataLoss ? damage_exit
                                                                           : kExitFailure);
    } else {
      *exit_code = Fail(cfg.status().WithContext("repository " + (*backend)->Location()));
    }
    return nullptr;
  }
  auto pw = ReadPassword(g, "enter password for repository: ", false);
  if (!pw.ok()) {
    // No password given is a usage error; a password source that fails is a
    // failure (1), never "wrong password" (12).
    *exit_code = Fail(pw.status(), UsageOrFailure(pw.status()));
    return nullptr;
  }
  auto r = repo::Repository::Open(std::move(*backend), *pw, MakeOpenOptions(g));
  if (!r.ok()) {
    int code = r.status().code() == StatusCode::kNotFound ? kExitNoRepository : ExitCodeFor(r.status());
    if (r.status().code() == StatusCode::kDataLoss) code = damage_exit;
    *exit_code = Fail(r.status(), code);
    return nullptr;
  }
  return std::move(*r);
}

void PrintJson(const nlohmann::json& j) { std::cout << j.dump() << std::endl; }

void SnapshotFilter::AddFlags(CLI::App* cmd, bool with_time) {
  cmd->add_option("--host", hosts, "only snapshots of this host (repeatable)")->allow_extra_args(false);
  cmd->add_option("--tag", tags, "only snapshots with this tag (repeatable; a,b means both)")
      ->allow_extra_args(false);
  cmd->add_option("--source", sources, "only snapshots of this source (repeatable)")->allow_extra_args(false);
  cmd->add_option("--path", paths, "only snapshots that include this path (repeatable)")->allow_extra_args(false);
  if (with_time) {
    cmd->add_option("--since", since, "only snapshots taken at or after this time (RFC 3339 or YYYY-MM-DD)");
    cmd->add_option("--until", until, "only snapshots taken at or before this time");
  }
}

std::optional<std::vector<repo::Snapshot>> SnapshotFilter::Select(repo::Repository& repo, int* exit_code) const {
  auto all = repo.ListSnapshots();
  if (!all.ok()) {
    *exit_code = Fail(all.status());
    return std::nullopt;
  }
  auto chosen = Apply(*all);
  if (!chosen.ok()) {
    *exit_code = Fail(chosen.status(), kExitUsage);
    return std::nullopt;
  }
  return std::move(*chosen);
}

Result<std::vector<repo::Snapshot>> SnapshotFilter::Apply(const std::vector<repo::Snapshot>& all) const {
  std::optional<UnixNanos> t0, t1;
  if (!since.empty()) {
    WARD_ASSIGN_OR_RETURN(UnixNanos t, ParseTime(since));
    t0 = t;
  }
  if (!until.empty()) {
    WARD_ASSIGN_OR_RETURN(UnixNanos t, ParseTime(until));
    // A bare date means the whole day.
    t1 = until.size() == 10 ? t + 86400ll * 1000000000 - 1 : t;
  }
  std::vector<repo::Snapshot> out;
  for (const auto& s : all) {
    if (!hosts.empty() && std::find(hosts.begin(), hosts.end(), s.hostname) == hosts.end()) continue;
    if (!sources.empty() &&
        std::none_of(sources.begin(), sources.end(), [&](const std::string& n) { return s.HasSource(n); })) {
      continue;
    }
    if (t0 && s.time < *t0) continue;
    if (t1 && s.time > *t1) continue;
    if (!tags.empty()) {
      // Any of the --tag options matches; within one, all comma-separated tags must be present.
      bool any = false;
      for (const auto& group : tags) {
        bool all_present = true;
        size_t pos = 0;
        while (pos <= group.size()) {
          size_t comma = group.find(',', pos);
          if (comma == std::string::npos) comma = group.size();
          std::string t = group.substr(pos, comma - pos);
          if (!t.empty() && !s.HasTag(t)) all_present = false;
          pos = comma + 1;
        }
        any |= all_present;
      }
      if (!any) continue;
    }
    if (!paths.empty()) {
      bool all_paths = true;
      for (const auto& p : paths) {
        if (std::find(s.paths.begin(), s.paths.end(), p) == s.paths.end()) all_paths = false;
      }
      if (!all_paths) continue;
    }
    out.push_back(s);
  }
  return out;
}

nlohmann::json SnapshotJson(const repo::Snapshot& s) {
  nlohmann::json j = s.ToJson();
  j.erase("version");
  j["id"] = s.id.Hex();
  j["short_id"] = s.id.Short();
  j["host"] = s.hostname;
  return j;
}

// --- progress ---------------------------------------------------------------

ProgressDisplay::ProgressDisplay(const GlobalOptions& g, engine::Progress* p, std::string verb)
    : g_(g), p_(p), verb_(std::move(verb)), tty_(::isatty(2) == 1), start_ns_(NowNanos()) {
  interval_ = g.json ? 1.0 : (tty_ ? 0.2 : 10.0);
  if (const char* e = std::getenv("WARD_PROGRESS_INTERVAL"); e && *e) interval_ = std::max(0.05, std::atof(e));
  if (g.quiet || p == nullptr) return;
  thread_ = std::thread([this] { Run(); });
}

ProgressDisplay::~ProgressDisplay() { Stop(); }

void ProgressDisplay::Stop() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
  if (tty_ && !g_.json) std::cerr << "\r\033[K" << std::flush;
}

void ProgressDisplay::Run() {
  std::unique_lock lock(mu_);
  while (!stop_) {
    cv_.wait_for(lock, std::chrono::duration<double>(interval_), [&] { return stop_.load(); });
    if (!stop_) Draw(false);
  }
}

void ProgressDisplay::Draw(bool) {
  double secs = double(NowNanos() - start_ns_) / 1e9;
  uint64_t done = p_->bytes_done, total = p_->bytes_total;
  uint64_t files = p_->files_done, files_total = p_->files_total;
  bool known = p_->totals_known || total > 0;
  double pct = known && total > 0 ? std::min(1.0, double(done) / double(total)) : 0;
  double rate = secs > 0 ? double(done) / secs : 0;
  if (g_.json) {
    nlohmann::json j = {{"message_type", "status"},   {"action", verb_},
                        {"seconds_elapsed", secs},    {"percent_done", pct},
                        {"files_done", files},        {"total_files", files_total},
                        {"bytes_done", done},         {"total_bytes", total},
                        {"error_count", p_->errors.load()}};
    std::cout << j.dump() << std::endl;
    return;
  }
  std::string line;
  if (known && total > 0) {
    double eta = rate > 0 ? double(total - std::min(done, total)) / rate : 0;
    line = fmt::format("[{}] {:5.1f}%  {} files  {} / {}  {}/s  ETA {}", FormatDuration(secs), pct * 100, files,
                       FormatBytes(done), FormatBytes(total), FormatBytes(static_cast<uint64_t>(rate)),
                       FormatDuration(eta));
  } else {
    line = fmt::format("[{}] {} files  {}  {}/s", FormatDuration(secs), files, FormatBytes(done),
                       FormatBytes(static_cast<uint64_t>(rate)));
  }
  if (p_->errors > 0) line += fmt::format("  {} errors", p_->errors.load());
  if (tty_) {
    std::string cur = p_->Current();
    if (!cur.empty()) line += "  " + (cur.size() > 40 ? "..." + cur.substr(cur.size() - 37) : cur);
    std::cerr << "\r\033[K" << line << std::flush;
  } else {
    std::cerr << verb_ << ": " << line << std::endl;
  }
}

}  // namespace ward::cmd
