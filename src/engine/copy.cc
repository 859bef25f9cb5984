#include "engine/copy.h"

#include <unordered_map>

#include <spdlog/spdlog.h>

#include "io/file.h"

namespace ward::engine {

namespace {

using repo::BlobType;
using repo::Node;

class Copier {
 public:
  Copier(repo::Repository& src, repo::Repository& dst, Progress* p)
      : src_(src),
        dst_(dst),
        progress_(p),
        same_ids_(crypto::Equal(src.mac().Sum(AsBytes("ward-id-probe")).bytes, dst.mac().Sum(AsBytes("ward-id-probe")).bytes)),
        uploader_(&dst, dst.backend()->IsLocal() ? 0 : dst.backend()->Concurrency()),
        data_writer_(&dst, &uploader_),
        tree_writer_(&dst, &uploader_, 4 << 20) {}

  Status LoadMap(const std::string& file);
  Status SaveMap(const std::string& file) const;
  Result<Id> CopyTree(const Id& src_tree);
  // Every blob so far is saved and indexed (before a snapshot is written).
  Status Flush();
  Status Finish();
  CopyResult& result() { return r_; }

 private:
  Result<Id> CopyBlob(BlobType type, const Id& id);

  repo::Repository& src_;
  repo::Repository& dst_;
  Progress* progress_;
  bool same_ids_;
  repo::PackUploader uploader_;
  repo::PackWriter data_writer_, tree_writer_;
  std::unordered_map<Id, Id, IdHash> map_[2];  // source ID -> target ID, per type
  CopyResult r_;
};

Result<Id> Copier::CopyBlob(BlobType type, const Id& id) {
  auto& m = map_[static_cast<int>(type)];
  if (same_ids_) {
    if (dst_.index().Has(type, id)) {
      ++r_.blobs_present;
      return id;
    }
  } else if (auto it = m.find(id); it != m.end() && dst_.index().Has(type, it->second)) {
    ++r_.blobs_present;
    return it->second;
  }
  WARD_ASSIGN_OR_RETURN(Bytes plain, src_.LoadBlob(type, id));  // verified against its ID
  r_.bytes_read += plain.size();
  Id target = same_ids_ ? id : dst_.HashBlob(plain);
  m[id] = target;
  if (dst_.ReserveBlob(type, target)) {
    auto& w = type == BlobType::kData ? data_writer_ : tree_writer_;
    uint64_t before = w.stored_bytes();
    WARD_RETURN_IF_ERROR(w.Add(type, target, plain));
    r_.bytes_stored += w.stored_bytes() - before;
    ++r_.blobs_copied;
  } else {
    ++r_.blobs_present;
  }
  if (progress_ && type == BlobType::kData) progress_->bytes_done += plain.size();
  return target;
}

Result<Id> Copier::CopyTree(const Id& src_tree) {
  auto& tm = map_[static_cast<int>(BlobType::kTree)];
  if (same_ids_ && dst_.index().Has(BlobType::kTree, src_tree)) {
    ++r_.trees_skipped;  // stored after its content: the whole directory is there
    return src_tree;
  }
  if (!same_ids_) {
    auto it = tm.find(src_tree);
    if (it != tm.end() && dst_.index().Has(BlobType::kTree, it->second)) {
      ++r_.trees_skipped;
      return it->second;
    }
  }
  WARD_ASSIGN_OR_RETURN(repo::Tree tree, src_.LoadTree(src_tree));
  for (Node& n : tree.nodes) {
    if (n.type == repo::NodeType::kDir) {
      WARD_ASSIGN_OR_RETURN(n.subtree, CopyTree(n.subtree));
    } else {
      for (Id& id : n.content) {
        WARD_ASSIGN_OR_RETURN(id, CopyBlob(BlobType::kData, id));
      }
      if (progress_ && n.type == repo::NodeType::kFile) progress_->files_done++;
    }
  }
  // Children first, then the tree: a tree in the target implies its content.
  Bytes data = tree.Encode();
  Id target = dst_.HashBlob(data);
  tm[src_tree] = target;
  if (dst_.ReserveBlob(BlobType::kTree, target)) {
    WARD_RETURN_IF_ERROR(tree_writer_.Add(BlobType::kTree, target, data));
    ++r_.blobs_copied;
  }
  return target;
}

Status Copier::Flush() {
  WARD_RETURN_IF_ERROR(data_writer_.Flush());
  WARD_RETURN_IF_ERROR(tree_writer_.Flush());
  return uploader_.Flush();
}

Status Copier::Finish() {
  WARD_RETURN_IF_ERROR(Flush());
  return uploader_.Finish();
}

Status Copier::LoadMap(const std::string& file) {
  if (file.empty() || same_ids_) return Status::OK();
  auto data = io::ReadWholeFile(file);
  if (!data.ok()) return Status::OK();  // no map yet
  Decoder d(*data);
  while (!d.done()) {
    auto type = d.U8();
    auto a = d.IdRaw();
    auto b = d.IdRaw();
    if (!type.ok() || !a.ok() || !b.ok() || *type > 1) return Status::OK();  // damaged: start afresh
    map_[*type][*a] = *b;
  }
  return Status::OK();
}

Status Copier::SaveMap(const std::string& file) const {
  if (file.empty() || same_ids_) return Status::OK();
  Bytes out;
  Encoder e(&out);
  for (int t = 0; t < 2; ++t) {
    for (const auto& [a, b] : map_[t]) {
      e.U8(static_cast<uint8_t>(t));
      e.IdRaw(a);
      e.IdRaw(b);
    }
  }
  return io::WriteFileAtomic(file, out, false, 0600);
}

}  // namespace

Result<CopyResult> RunCopy(repo::Repository& src, repo::Repository& dst, const std::vector<repo::Snapshot>& snapshots,
                           const std::string& id_map_file, Progress* progress) {
  if (src.config().id == dst.config().id) return InvalidArgumentError("source and target are the same repository");
  WARD_ASSIGN_OR_RETURN(std::unique_ptr<repo::ActiveSession> session, dst.BeginSession("copy"));
  WARD_RETURN_IF_ERROR(src.LoadIndex());
  WARD_RETURN_IF_ERROR(dst.LoadIndex());
  WARD_ASSIGN_OR_RETURN(std::vector<repo::Snapshot> existing, dst.ListSnapshots());
  std::unordered_map<Id, Id, IdHash> already;  // source snapshot -> target snapshot
  for (const auto& s : existing) {
    if (s.extra.contains("original") && s.extra["original"].is_string() &&
        s.extra.value("original_repository", "") == src.config().id) {
      auto id = Id::FromHex(s.extra["original"].get<std::string>());
      if (id.ok()) already[*id] = s.id;
    }
  }
  Copier c(src, dst, progress);
  WARD_RETURN_IF_ERROR(c.LoadMap(id_map_file));
  std::vector<repo::Snapshot> todo;
  for (const auto& s : snapshots) {
    if (already.count(s.id)) {
      ++c.result().snapshots_skipped;
    } else {
      todo.push_back(s);
    }
  }
  for (const auto& s : todo) {
    auto tree = c.CopyTree(s.tree);
    if (!tree.ok()) return tree.status().WithContext("copying snapshot " + s.id.Short());
    repo::Snapshot t = s;
    t.tree = *tree;
    t.parent.reset();
    t.extra["original"] = s.id.Hex();
    t.extra["original_repository"] = src.config().id;
    // Blobs first: the snapshot is saved once every pack and index is in.
    WARD_RETURN_IF_ERROR(c.Flush().WithContext("copying snapshot " + s.id.Short()));
    WARD_ASSIGN_OR_RETURN(Id saved, dst.SaveSnapshot(t));
    c.result().copied.emplace_back(s.id, saved);
    ++c.result().snapshots_copied;
    c.SaveMap(id_map_file).IgnoreError();
  }
  WARD_RETURN_IF_ERROR(c.Finish());
  return c.result();
}

}  // namespace ward::engine
