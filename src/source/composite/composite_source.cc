#include "source/composite/composite_source.h"

#include <unistd.h>

#include <algorithm>

#include "base/time.h"

namespace ward::source {

CompositeSource::CompositeSource(std::vector<std::pair<std::string, std::unique_ptr<Source>>> parts)
    : parts_(std::move(parts)) {
  std::sort(parts_.begin(), parts_.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
}

std::pair<Source*, std::string> CompositeSource::Route(const std::string& path) const {
  std::string head = path.substr(0, path.find('/'));
  std::string rest = path.size() > head.size() ? path.substr(head.size() + 1) : "";
  for (const auto& [name, src] : parts_) {
    if (name == head) return {src.get(), rest};
  }
  return {nullptr, ""};
}

Result<std::vector<Entry>> CompositeSource::List(const std::string& path, std::vector<Status>* skipped) {
  if (path.empty()) {
    std::vector<Entry> out;
    int64_t now = NowNanos();
    for (const auto& [name, src] : parts_) {
      Entry e;
      e.node.name = name;
      e.node.type = repo::NodeType::kDir;
      e.node.mode = 0700;
      e.node.uid = ::getuid();
      e.node.gid = ::getgid();
      e.node.mtime_ns = e.node.ctime_ns = now;
      e.cacheable = false;
      out.push_back(std::move(e));
    }
    return out;
  }
  auto [src, rest] = Route(path);
  if (!src) return NotFoundError("no source named '" + path + "'");
  std::vector<Status> inner;
  auto r = src->List(rest, &inner);
  std::string prefix = path.substr(0, path.find('/'));
  for (auto& s : inner) skipped->push_back(Status(s.code(), "source '" + prefix + "': " + s.message()));
  if (!r.ok()) return Status(r.status().code(), "source '" + prefix + "': " + r.status().message());
  return r;
}

namespace {

// Names the source in every error of a part's reader ("source 'db': ...").
class NamedReader : public Reader {
 public:
  NamedReader(std::unique_ptr<Reader> inner, std::string name) : inner_(std::move(inner)), name_(std::move(name)) {}
  Result<size_t> Read(std::span<uint8_t> out) override {
    auto r = inner_->Read(out);
    if (!r.ok()) return Named(r.status());
    return r;
  }
  Status Finish() override {
    Status s = inner_->Finish();
    return s.ok() ? s : Named(s);
  }

 private:
  Status Named(const Status& s) const { return Status(s.code(), "source '" + name_ + "': " + s.message()); }
  std::unique_ptr<Reader> inner_;
  std::string name_;
};

}  // namespace

Result<std::unique_ptr<Reader>> CompositeSource::Open(const std::string& path, const Entry& entry) {
  auto [src, rest] = Route(path);
  if (!src) return NotFoundError("no source for '" + path + "'");
  std::string name = path.substr(0, path.find('/'));
  auto r = src->Open(rest, entry);
  if (!r.ok()) return Status(r.status().code(), "source '" + name + "': " + r.status().message());
  return std::unique_ptr<Reader>(std::make_unique<NamedReader>(std::move(*r), name));
}

bool CompositeSource::PartialOk() const {
  return std::all_of(parts_.begin(), parts_.end(), [](const auto& p) { return p.second->PartialOk(); });
}

bool CompositeSource::PartialOkFor(const std::string& path) const {
  auto [src, rest] = Route(path);
  return src ? src->PartialOkFor(rest) : PartialOk();
}

std::vector<std::string> CompositeSource::Paths() const {
  std::vector<std::string> out;
  for (const auto& p : parts_) out.push_back("/" + p.first);
  return out;
}

nlohmann::json CompositeSource::Position() const {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [name, src] : parts_) {
    j[name] = {{"kind", src->Kind()}, {"position", src->Position()}};
  }
  return j;
}

}  // namespace ward::source
