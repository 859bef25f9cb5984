#include "storage/backend.h"

#include "storage/layout.h"

namespace ward::storage {

const char* FileTypeName(FileType t) {
  switch (t) {
    case FileType::kConfig: return "config";
    case FileType::kKey: return "key";
    case FileType::kPack: return "pack";
    case FileType::kIndex: return "index";
    case FileType::kSnapshot: return "snapshot";
    case FileType::kSession: return "session";
    case FileType::kPlan: return "plan";
    case FileType::kHold: return "hold";
  }
  return "?";
}

std::string Handle::ToString() const {
  if (type == FileType::kConfig) return "config";
  return std::string(FileTypeName(type)) + " " + name;
}

bool IsValidName(std::string_view name) {
  if (name.size() != 64) return false;
  for (char c : name) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

const char* LayoutDir(FileType t) {
  switch (t) {
    case FileType::kConfig: return "";
    case FileType::kKey: return "keys";
    case FileType::kPack: return "data";
    case FileType::kIndex: return "index";
    case FileType::kSnapshot: return "snapshots";
    case FileType::kSession: return "sessions";
    case FileType::kPlan: return "plans";
    case FileType::kHold: return "holds";
  }
  return "";
}

std::string LayoutPath(const Handle& h) {
  if (h.type == FileType::kConfig) return "config";
  std::string dir = LayoutDir(h.type);
  if (h.type == FileType::kPack) return dir + "/" + h.name.substr(0, 2) + "/" + h.name;
  return dir + "/" + h.name;
}

}  // namespace ward::storage
