// CompositeSource: several sources in one snapshot, each under its own name
// (postgres/, redis/, cvs/, audit/ ...), read one after another. This is how a
// plan becomes one recovery point of a whole service.
//
// A failure of any source fails the whole backup when that source does not
// accept partial results; file trees keep their own rule (unreadable entries
// are named and skipped).
// Thread safety: like Source, one walking thread.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "source/source.h"

namespace ward::source {

class CompositeSource : public Source {
 public:
  // Names must be unique and valid file names.
  explicit CompositeSource(std::vector<std::pair<std::string, std::unique_ptr<Source>>> parts);

  Result<std::vector<Entry>> List(const std::string& path, std::vector<Status>* skipped) override;
  Result<std::unique_ptr<Reader>> Open(const std::string& path, const Entry& entry) override;
  // Partial results are fine for this composite only if every part agrees;
  // Open/List errors of a part that does not are fatal (see PartialOkFor).
  bool PartialOk() const override;
  bool PartialOkFor(const std::string& path) const override;
  std::vector<std::string> Paths() const override;
  std::string Kind() const override { return "plan"; }
  // {"<name>": {"kind": ..., "position": {...}}, ...}
  nlohmann::json Position() const override;

  // The part a path belongs to, and the path inside it.
  std::pair<Source*, std::string> Route(const std::string& path) const;

 private:
  std::vector<std::pair<std::string, std::unique_ptr<Source>>> parts_;
};

}  // namespace ward::source
