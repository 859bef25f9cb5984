#include "repo/session.h"

#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "crypto/crypto.h"
#include "io/file.h"
#include "io/process.h"
#include "repo/repository.h"

namespace ward::repo {

bool IsDeadOnThisMachine(const SessionInfo& s) {
  return io::IsGoneFromThisMachine({s.boot_id, s.pid, s.pid_start});
}

ActiveSession::ActiveSession(Repository* repo, std::string kind)
    : repo_(repo), kind_(std::move(kind)), writer_(crypto::RandomId().Hex()) {}

ActiveSession::~ActiveSession() { Close(); }

Status ActiveSession::Write() {
  nlohmann::json j = {{"version", 1},
                      {"kind", kind_},
                      {"writer", writer_},
                      {"generation", generation_},
                      {"hostname", LocalHostname()},
                      {"pid", ::getpid()},
                      {"pid_start", io::ProcessStartTicks(::getpid())},
                      {"boot_id", io::ThisBootId()},
                      {"started", FormatRfc3339(NowNanos())}};
  Id next = crypto::RandomId();
  WARD_RETURN_IF_ERROR(repo_->SaveObjectAs(storage::Handle::Of(storage::FileType::kSession, next),
                                           AsBytes(j.dump())));
  if (have_current_) {
    repo_->backend()->Remove(storage::Handle::Of(storage::FileType::kSession, current_)).IgnoreError();
  }
  current_ = next;
  have_current_ = true;
  return Status::OK();
}

void ActiveSession::Refresh() {
  double interval = 300;
  if (const char* e = std::getenv("WARD_SESSION_REFRESH_SECONDS"); e && *e) interval = std::max(0.05, std::atof(e));
  std::unique_lock lock(mu_);
  while (!closed_) {
    if (cv_.wait_for(lock, std::chrono::duration<double>(interval), [&] { return closed_; })) break;
    ++generation_;
    Write().IgnoreError();  // a failed refresh only makes us look older
  }
}

void ActiveSession::Close() {
  {
    std::lock_guard lock(mu_);
    if (closed_) return;
    closed_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (have_current_) {
    repo_->backend()->Remove(storage::Handle::Of(storage::FileType::kSession, current_)).IgnoreError();
    have_current_ = false;
  }
}

SessionObserver::SessionObserver(std::string state_file, int64_t stale_after_ns)
    : state_file_(std::move(state_file)), stale_after_ns_(stale_after_ns) {}

std::vector<SessionInfo> SessionObserver::Live(const std::vector<SessionInfo>& sessions, UnixNanos now) {
  nlohmann::json seen = nlohmann::json::object();
  if (!state_file_.empty()) {
    auto data = io::ReadWholeFile(state_file_);
    if (data.ok()) {
      try {
        seen = nlohmann::json::parse(AsString(*data));
      } catch (const nlohmann::json::exception&) {
        seen = nlohmann::json::object();  // a damaged state file only forgets observations
      }
    }
  }
  nlohmann::json next = nlohmann::json::object();
  std::vector<SessionInfo> live;
  for (const auto& s : sessions) {
    if (IsDeadOnThisMachine(s)) continue;
    int64_t first = now;
    if (seen.contains(s.writer) && seen[s.writer].value("generation", uint64_t{0}) == s.generation) {
      first = seen[s.writer].value("first_seen", now);
    }
    next[s.writer] = {{"generation", s.generation}, {"first_seen", first}};
    if (!state_file_.empty() && now - first >= stale_after_ns_) continue;  // unchanged for too long
    live.push_back(s);
  }
  if (!state_file_.empty()) {
    io::WriteFileAtomic(state_file_, AsBytes(next.dump()), false, 0600).IgnoreError();
  }
  return live;
}

}  // namespace ward::repo
