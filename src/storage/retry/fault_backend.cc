#include "storage/retry/fault_backend.h"

#include <vector>

namespace ward::storage {

namespace {

const char* OpName(FaultInjectionBackend::Op op) {
  switch (op) {
    case FaultInjectionBackend::Op::kCreate:
      return "create";
    case FaultInjectionBackend::Op::kSave:
      return "save";
    case FaultInjectionBackend::Op::kLoad:
      return "load";
    case FaultInjectionBackend::Op::kStat:
      return "stat";
    case FaultInjectionBackend::Op::kList:
      return "list";
    case FaultInjectionBackend::Op::kRemove:
      return "remove";
  }
  return "?";
}

}  // namespace

FaultInjectionBackend::FaultInjectionBackend(std::unique_ptr<Backend> inner)
    : BackendWrapper(std::move(inner)) {}

void FaultInjectionBackend::FailNext(Op op, Kind kind, StatusCode code, int times) {
  std::lock_guard lock(mu_);
  for (int i = 0; i < times; ++i) scripted_[static_cast<int>(op)].push_back(Fault{kind, code});
}

void FaultInjectionBackend::SetRandomFaults(double rate, uint64_t seed) {
  std::lock_guard lock(mu_);
  rate_ = rate;
  rng_.seed(seed);
}

std::optional<FaultInjectionBackend::Fault> FaultInjectionBackend::Decide(Op op) {
  ++calls_[static_cast<int>(op)];
  std::lock_guard lock(mu_);
  auto& queue = scripted_[static_cast<int>(op)];
  std::optional<Fault> f;
  if (!queue.empty()) {
    f = queue.front();
    queue.pop_front();
  } else if (rate_ > 0) {
    std::uniform_real_distribution<double> u(0, 1);
    if (u(rng_) < rate_) {
      f = Fault{u(rng_) < 0.5 ? Kind::kBefore : Kind::kAfter, StatusCode::kUnavailable};
    }
  }
  if (f) ++faults_;
  return f;
}

Status FaultInjectionBackend::Injected(Op op, const Fault& f, const std::string& what) const {
  return Status(f.code, std::string("injected fault (") +
                            (f.kind == Kind::kBefore ? "before" : "after") + ") in " + OpName(op) +
                            " " + what);
}

Status FaultInjectionBackend::Create() {
  auto f = Decide(Op::kCreate);
  if (f && f->kind == Kind::kBefore) return Injected(Op::kCreate, *f, "");
  Status s = inner()->Create();
  if (f && s.ok()) return Injected(Op::kCreate, *f, "");
  return s;
}

Status FaultInjectionBackend::Save(const Handle& h, ByteView data) {
  auto f = Decide(Op::kSave);
  if (f && f->kind == Kind::kBefore) return Injected(Op::kSave, *f, h.ToString());
  Status s = inner()->Save(h, data);
  if (f && s.ok()) return Injected(Op::kSave, *f, h.ToString());
  return s;
}

Result<Bytes> FaultInjectionBackend::Load(const Handle& h, uint64_t offset, uint64_t length) {
  auto f = Decide(Op::kLoad);
  if (f && f->kind == Kind::kBefore) return Injected(Op::kLoad, *f, h.ToString());
  auto r = inner()->Load(h, offset, length);
  if (f && r.ok()) return Injected(Op::kLoad, *f, h.ToString());
  return r;
}

Result<FileInfo> FaultInjectionBackend::Stat(const Handle& h) {
  auto f = Decide(Op::kStat);
  if (f && f->kind == Kind::kBefore) return Injected(Op::kStat, *f, h.ToString());
  auto r = inner()->Stat(h);
  if (f && r.ok()) return Injected(Op::kStat, *f, h.ToString());
  return r;
}

Status FaultInjectionBackend::List(FileType t, const std::function<Status(const FileInfo&)>& fn) {
  auto f = Decide(Op::kList);
  if (!f) return inner()->List(t, fn);
  if (f->kind == Kind::kBefore) return Injected(Op::kList, *f, FileTypeName(t));
  // Deliver the first half, then fail as a connection lost mid-listing would.
  std::vector<FileInfo> all;
  WARD_RETURN_IF_ERROR(inner()->List(t, [&](const FileInfo& fi) {
    all.push_back(fi);
    return Status::OK();
  }));
  for (size_t i = 0; i < all.size() / 2; ++i) WARD_RETURN_IF_ERROR(fn(all[i]));
  return Injected(Op::kList, *f, FileTypeName(t));
}

Status FaultInjectionBackend::Remove(const Handle& h) {
  auto f = Decide(Op::kRemove);
  if (f && f->kind == Kind::kBefore) return Injected(Op::kRemove, *f, h.ToString());
  Status s = inner()->Remove(h);
  if (f && s.ok()) return Injected(Op::kRemove, *f, h.ToString());
  return s;
}

}  // namespace ward::storage
