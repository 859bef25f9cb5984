// RDB: the format of a Redis snapshot (dump.rdb, and what a master sends a
// replica on a full resync), read as a stream.
//
// ParseRdb reads an RDB from a Reader front to back without holding more than
// one key in memory: the header ("REDIS" and a version up to 12, Redis 7.4),
// every opcode (AUX, SELECTDB, RESIZEDB, EXPIRETIME[_MS], IDLE, FREQ,
// MODULE_AUX, FUNCTION2, SLOT_INFO), every value type Redis 2.x to 7.4 writes,
// the EOF opcode and the CRC-64 trailer, and that nothing follows it. Each key
// is handed to a visitor with its database, expiry and element count, and on
// request with its value exactly as serialized in the file (type byte first),
// which is what DUMP produces: MakeDumpPayload turns it into a RESTORE
// payload.
//
// The compact encodings inside values (listpack, ziplist, intset, zipmap,
// quicklist nodes, stream listpacks) are walked entry by entry: their lengths,
// back-lengths, terminators and counts must agree, as Redis's own deep
// sanitization demands. A damaged or truncated RDB fails with kDataLoss and a
// message naming the byte offset, the key and what is wrong.
//
// Thread safety: the functions are reentrant; one ParseRdb call uses its
// Reader and visitor from the calling thread only.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/bytes.h"
#include "base/status.h"
#include "source/source.h"

namespace ward::source {

// Redis's CRC-64 (Jones polynomial 0xad93d23594c935a9, reflected, initial
// value 0, no final xor): the RDB trailer and the DUMP payload checksum.
// Continue a running checksum by passing the previous result as `crc`.
uint64_t RdbCrc64(uint64_t crc, ByteView data);

// LZF decompression (liblzf's format, used for RDB strings when Redis runs
// with rdbcompression yes). Fails unless `in` decodes to exactly `out_len`
// bytes without reading or referring outside its buffers.
Result<Bytes> LzfDecompress(ByteView in, size_t out_len);
// The same verdict as LzfDecompress without producing the output (no
// allocation): what validation needs.
Status LzfCheck(ByteView in, size_t out_len);

// The highest RDB version this parser reads (Redis 7.4).
inline constexpr int kMaxRdbVersion = 12;

// RDB value type bytes (the byte before each key).
enum RdbType : uint8_t {
  kRdbString = 0,
  kRdbList = 1,
  kRdbSet = 2,
  kRdbZset = 3,
  kRdbHash = 4,
  kRdbZset2 = 5,
  kRdbModulePreGa = 6,
  kRdbModule2 = 7,
  kRdbHashZipmap = 9,
  kRdbListZiplist = 10,
  kRdbSetIntset = 11,
  kRdbZsetZiplist = 12,
  kRdbHashZiplist = 13,
  kRdbListQuicklist = 14,
  kRdbStreamListpacks = 15,
  kRdbHashListpack = 16,
  kRdbZsetListpack = 17,
  kRdbListQuicklist2 = 18,
  kRdbStreamListpacks2 = 19,
  kRdbSetListpack = 20,
  kRdbStreamListpacks3 = 21,
  kRdbHashMetadataPreGa = 22,
  kRdbHashListpackExPreGa = 23,
  kRdbHashMetadata = 24,
  kRdbHashListpackEx = 25,
};

// What the TYPE command answers for a value of this RDB type ("string",
// "list", "set", "zset", "hash", "stream", "module"), "" if unknown.
std::string_view RdbTypeKind(uint8_t type);
// The type with its encoding, for messages: "hash (listpack)".
std::string RdbTypeName(uint8_t type);

// Validators of the compact encodings found inside values. Each checks the
// whole structure and returns the number of entries it holds (for a stream
// listpack: the number of live stream entries), or kDataLoss saying what is
// wrong and at which offset inside the blob.
Result<uint64_t> ValidateListpack(ByteView lp);
Result<uint64_t> ValidateZiplist(ByteView zl);
Result<uint64_t> ValidateIntset(ByteView is);
Result<uint64_t> ValidateZipmap(ByteView zm);  // returns field/value pairs
Result<uint64_t> ValidateStreamListpack(ByteView lp);

// One key of the RDB.
struct RdbKey {
  uint64_t db = 0;
  std::string key;                   // raw bytes
  std::optional<int64_t> expire_ms;  // absolute, Unix milliseconds
  uint8_t type = 0;                  // RdbType
  // Elements of the value: list items, set members, zset members, hash
  // fields, stream entries; 1 for strings and module values.
  uint64_t elements = 0;
  std::optional<uint64_t> lru_idle_s;  // IDLE opcode (maxmemory-policy *lru)
  std::optional<uint8_t> lfu_freq;     // FREQ opcode (maxmemory-policy *lfu)
  std::string module;                  // module values: the module type name
  uint64_t offset = 0;                 // of the key's first opcode in the RDB
  // The type byte followed by the value exactly as serialized in the RDB
  // (what DUMP returns, minus its footer). Filled only with capture_values.
  Bytes value;
};

// What the whole file held.
struct RdbInfo {
  int version = 0;
  std::vector<std::pair<std::string, std::string>> aux;  // AUX fields in order
  uint64_t keys = 0;
  uint64_t keys_with_expiry = 0;
  std::map<uint64_t, uint64_t> keys_per_db;
  uint64_t functions = 0;          // FUNCTION2 libraries
  uint64_t module_aux = 0;         // MODULE_AUX records (not restorable by RESTORE)
  uint64_t bytes = 0;              // total length of the RDB
  bool checksum_verified = false;  // false: version < 5, or saved with rdbchecksum no
  uint64_t checksum = 0;

  // The value of an AUX field ("redis-ver", "repl-id", ...), "" if absent.
  std::string Aux(std::string_view name) const;
};

// Receives what ParseRdb finds, in file order. A non-OK status stops the
// parse and is returned as is.
class RdbVisitor {
 public:
  virtual ~RdbVisitor() = default;
  // After the header, before anything else.
  virtual Status OnHeader(int rdb_version) {
    (void)rdb_version;
    return Status::OK();
  }
  // Each AUX field (name, value), e.g. "redis-ver", "repl-id", "ctime".
  virtual Status OnAux(const std::string& name, const std::string& value) {
    (void)name;
    (void)value;
    return Status::OK();
  }
  // `key` may be modified (its value moved out).
  virtual Status OnKey(RdbKey& key) = 0;
  // One FUNCTION2 record: the opcode byte and the library's code as an RDB
  // string, i.e. one entry of what FUNCTION DUMP returns.
  virtual Status OnFunction(ByteView record) {
    (void)record;
    return Status::OK();
  }
};

struct RdbParseOptions {
  // Fill RdbKey::value (costs a copy of every value); off to only validate.
  bool capture_values = false;
};

// Parses a whole RDB from `in` (see the top of this file). `visitor` may be
// null. Errors: kDataLoss for a damaged or truncated RDB ("RDB damaged at byte
// 1234 (db 0, key 'user:1', hash (listpack)): listpack entry 3 ...");
// kUnimplemented for a version newer than kMaxRdbVersion or pre-release
// module/function formats; Reader and visitor errors unchanged.
Result<RdbInfo> ParseRdb(Reader& in, RdbVisitor* visitor, const RdbParseOptions& options = {});

// A DUMP/RESTORE payload: `body` (type byte + value, or FUNCTION2 records),
// the RDB version (2 bytes, little endian) and the CRC-64 of all that (8
// bytes, little endian).
Bytes MakeDumpPayload(ByteView body, int rdb_version);

// The name Redis gives a module type ID (9 characters, e.g. "ReJSON-RL").
std::string ModuleTypeName(uint64_t module_id);

}  // namespace ward::source
