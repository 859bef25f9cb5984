#include "repo/tree.h"

#include <algorithm>

namespace ward::repo {

namespace {

constexpr uint8_t kVersion = 1;

enum Tag : uint64_t {
  kName = 1,
  kType = 2,
  kMode = 3,
  kUid = 4,
  kGid = 5,
  kUser = 6,
  kGroup = 7,
  kMtime = 8,
  kCtime = 9,
  kSize = 10,
  kInode = 11,
  kDevice = 12,
  kLinks = 13,
  kRdev = 14,
  kSparse = 15,
  kLinkTarget = 16,
  kContent = 17,
  kSubtree = 18,
  kXattr = 19,  // repeated: name varint-prefixed, then value
};

void Field(Encoder* e, uint64_t tag, ByteView value) {
  e->Varint(tag);
  e->Varint(value.size());
  e->Raw(value);
}

void UintField(Encoder* e, uint64_t tag, uint64_t v) {
  Bytes b;
  Encoder(&b).Varint(v);
  Field(e, tag, b);
}

void IntField(Encoder* e, uint64_t tag, int64_t v) {
  Bytes b;
  Encoder(&b).SignedVarint(v);
  Field(e, tag, b);
}

Result<uint64_t> UintValue(ByteView v) {
  Decoder d(v);
  WARD_ASSIGN_OR_RETURN(uint64_t x, d.Varint());
  if (!d.done()) return DataLossError("tree: bad integer field");
  return x;
}

Result<int64_t> IntValue(ByteView v) {
  Decoder d(v);
  WARD_ASSIGN_OR_RETURN(int64_t x, d.SignedVarint());
  if (!d.done()) return DataLossError("tree: bad integer field");
  return x;
}

}  // namespace

const char* NodeTypeName(NodeType t) {
  switch (t) {
    case NodeType::kFile: return "file";
    case NodeType::kDir: return "dir";
    case NodeType::kSymlink: return "symlink";
    case NodeType::kFifo: return "fifo";
    case NodeType::kCharDev: return "chardev";
    case NodeType::kBlockDev: return "blockdev";
    case NodeType::kSocket: return "socket";
  }
  return "?";
}

Bytes Tree::Encode() const {
  Bytes out;
  Encoder e(&out);
  e.U8(kVersion);
  e.Varint(nodes.size());
  Bytes rec;
  for (const Node& n : nodes) {
    rec.clear();
    Encoder r(&rec);
    Field(&r, kName, AsBytes(n.name));
    UintField(&r, kType, static_cast<uint64_t>(n.type));
    UintField(&r, kMode, n.mode);
    UintField(&r, kUid, n.uid);
    UintField(&r, kGid, n.gid);
    if (!n.user.empty()) Field(&r, kUser, AsBytes(n.user));
    if (!n.group.empty()) Field(&r, kGroup, AsBytes(n.group));
    IntField(&r, kMtime, n.mtime_ns);
    IntField(&r, kCtime, n.ctime_ns);
    UintField(&r, kSize, n.size);
    UintField(&r, kInode, n.inode);
    UintField(&r, kDevice, n.device);
    UintField(&r, kLinks, n.links);
    if (n.rdev) UintField(&r, kRdev, n.rdev);
    if (n.sparse) UintField(&r, kSparse, 1);
    if (n.type == NodeType::kSymlink) Field(&r, kLinkTarget, AsBytes(n.link_target));
    if (!n.content.empty()) {
      r.Varint(kContent);
      r.Varint(n.content.size() * Id::kSize);
      for (const Id& id : n.content) r.IdRaw(id);
    }
    if (n.type == NodeType::kDir) Field(&r, kSubtree, n.subtree.bytes);
    for (const auto& [k, v] : n.xattrs) {
      Bytes x;
      Encoder xe(&x);
      xe.Str(k);
      xe.Raw(AsBytes(v));
      Field(&r, kXattr, x);
    }
    e.Varint(rec.size());
    e.Raw(rec);
  }
  return out;
}

Result<Tree> Tree::Decode(ByteView data) {
  Decoder d(data);
  WARD_ASSIGN_OR_RETURN(uint8_t version, d.U8());
  if (version != kVersion) {
    return FailedPreconditionError("tree format version " + std::to_string(version) +
                                   " is newer than this ward understands; upgrade ward");
  }
  WARD_ASSIGN_OR_RETURN(uint64_t count, d.Varint());
  if (count > d.remaining()) return DataLossError("tree: bad node count");
  Tree t;
  t.nodes.resize(count);
  for (Node& n : t.nodes) {
    WARD_ASSIGN_OR_RETURN(uint64_t len, d.Varint());
    WARD_ASSIGN_OR_RETURN(ByteView rec, d.Raw(len));
    Decoder r(rec);
    while (!r.done()) {
      WARD_ASSIGN_OR_RETURN(uint64_t tag, r.Varint());
      WARD_ASSIGN_OR_RETURN(uint64_t size, r.Varint());
      WARD_ASSIGN_OR_RETURN(ByteView v, r.Raw(size));
      switch (tag) {
        case kName: n.name = AsString(v); break;
        case kType: {
          WARD_ASSIGN_OR_RETURN(uint64_t x, UintValue(v));
          if (x < 1 || x > 7) return DataLossError("tree: bad node type");
          n.type = static_cast<NodeType>(x);
          break;
        }
        case kMode: { WARD_ASSIGN_OR_RETURN(uint64_t x, UintValue(v)); n.mode = static_cast<uint32_t>(x); break; }
        case kUid: { WARD_ASSIGN_OR_RETURN(uint64_t x, UintValue(v)); n.uid = static_cast<uint32_t>(x); break; }
        case kGid: { WARD_ASSIGN_OR_RETURN(uint64_t x, UintValue(v)); n.gid = static_cast<uint32_t>(x); break; }
        case kUser: n.user = AsString(v); break;
        case kGroup: n.group = AsString(v); break;
        case kMtime: { WARD_ASSIGN_OR_RETURN(n.mtime_ns, IntValue(v)); break; }
        case kCtime: { WARD_ASSIGN_OR_RETURN(n.ctime_ns, IntValue(v)); break; }
        case kSize: { WARD_ASSIGN_OR_RETURN(n.size, UintValue(v)); break; }
        case kInode: { WARD_ASSIGN_OR_RETURN(n.inode, UintValue(v)); break; }
        case kDevice: { WARD_ASSIGN_OR_RETURN(n.device, UintValue(v)); break; }
        case kLinks: { WARD_ASSIGN_OR_RETURN(n.links, UintValue(v)); break; }
        case kRdev: { WARD_ASSIGN_OR_RETURN(n.rdev, UintValue(v)); break; }
        case kSparse: { WARD_ASSIGN_OR_RETURN(uint64_t x, UintValue(v)); n.sparse = x != 0; break; }
        case kLinkTarget: n.link_target = AsString(v); break;
        case kContent:
          if (v.size() % Id::kSize != 0) return DataLossError("tree: bad content list");
          n.content.reserve(v.size() / Id::kSize);
          for (size_t i = 0; i < v.size(); i += Id::kSize) {
            n.content.push_back(Id::FromBytes(v.subspan(i, Id::kSize)));
          }
          break;
        case kSubtree:
          if (v.size() != Id::kSize) return DataLossError("tree: bad subtree ID");
          n.subtree = Id::FromBytes(v);
          break;
        case kXattr: {
          Decoder x(v);
          WARD_ASSIGN_OR_RETURN(std::string key, x.Str());
          WARD_ASSIGN_OR_RETURN(ByteView val, x.Raw(x.remaining()));
          n.xattrs.emplace_back(std::move(key), std::string(AsString(val)));
          break;
        }
        default: break;  // a field from a later version: skip
      }
    }
    if (n.name.empty() || n.name == "." || n.name == ".." || n.name.find('/') != std::string::npos ||
        n.name.find('\0') != std::string::npos) {
      return DataLossError("tree: invalid entry name '" + n.name + "'");
    }
  }
  if (!d.done()) return DataLossError("tree: trailing bytes");
  for (size_t i = 1; i < t.nodes.size(); ++i) {
    if (!(t.nodes[i - 1].name < t.nodes[i].name)) return DataLossError("tree: entries not sorted");
  }
  return t;
}

const Node* Tree::Find(std::string_view name) const {
  auto it = std::lower_bound(nodes.begin(), nodes.end(), name,
                             [](const Node& n, std::string_view v) { return n.name < v; });
  if (it == nodes.end() || it->name != name) return nullptr;
  return &*it;
}

}  // namespace ward::repo
