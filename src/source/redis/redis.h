// Redis as a source (F14) and as a restore target (F24). This is the
// module's interface header; it also brings in the RDB parser (rdb.h).
//
// Backup: RedisSource presents one file, dump.rdb, whose content is the RDB a
// Redis server sends a new replica — taken over the network the way
// `redis-cli --rdb` does, with no shell on the Redis host. Opening it
// connects, authenticates, announces `REPLCONF capa eof capa psync2` and
// `rdb-only 1`, sends `PSYNC ? -1` (SYNC on servers without PSYNC) and
// streams the payload, in either of its forms (`$<length>` from a disk-based
// save, or `$EOF:<mark>` from a diskless one), to the backup engine without
// holding it in memory. While the bytes pass, a second thread parses them as
// an RDB (header, every value, the CRC-64 trailer): a truncated or damaged
// transfer fails the backup instead of being stored as good. Memory: a 32 MiB
// queue to the parser plus the largest single value's compact encodings.
// Works against a master or a replica (chained replication); the replication
// ID and offset at which the RDB was taken are the source's Position (F44).
//
// Restore: the Redis restore target (`--to redis://[user@]host:port`) reads
// the stored dump.rdb as a stream and loads every key with RESTORE (DUMP
// payloads built from the RDB's values, ABSTTL expiry, pipelined in
// batches), restores function libraries with FUNCTION RESTORE, skips keys
// that have already expired, and finally checks DBSIZE of every database
// against the keys it restored. Writing dump.rdb to a directory is the
// engine's ordinary file restore.
//
// Secrets: passwords come from the environment (the variable a plan names in
// password_env; REDISCLI_AUTH for restores), never from a plan, a URL or the
// command line, and appear in no message.
// Thread safety: like Source and RestoreTarget; each object is used by one
// thread (RedisSource's reader runs its own parser thread internally).
#pragma once

#include <memory>
#include <string>

#include "plan/plan.h"
#include "source/redis/rdb.h"
#include "source/kind.h"
#include "source/source.h"

namespace ward::source {

struct RedisSourceOptions {
  std::string address;   // "host:port"
  std::string username;  // ACL user; "" for the default user
  // The password itself ("" for none); callers resolve it from where the
  // plan says, and set password_origin to that place for messages.
  std::string password;
  std::string password_origin;  // e.g. "$REDIS_PASSWORD"
  std::string filename = "dump.rdb";
  int connect_timeout_ms = 10000;
  // Longest silence tolerated from the server. Masters send a newline every
  // second while they prepare the RDB, so this only trips on a dead link.
  int io_timeout_ms = 60000;
};

// A Redis source from options (tests and callers that resolved the
// password themselves). kInvalidArgument for a malformed address.
Result<std::unique_ptr<Source>> NewRedisSource(const RedisSourceOptions& options);

// A Redis source from a plan's [[source]] table: `address = "host:port"`
// (required), `password_env = "VAR"` and `username` (optional),
// `connect_timeout` and `timeout` (durations, optional). A `password` key
// is refused: secrets do not belong in plans.
Result<std::unique_ptr<Source>> MakeRedisSource(const plan::PlanSource& ps);
const SourceKind& RedisKind();  // kind = "redis" and its plan keys

struct RedisRestoreOptions {
  // The environment variable holding the password (as redis-cli reads it).
  std::string password_env = "REDISCLI_AUTH";
  int connect_timeout_ms = 10000;
  int io_timeout_ms = 120000;
  // A pipeline batch is sent when it holds this many keys or bytes.
  size_t batch_keys = 1000;
  size_t batch_bytes = 16u << 20;
  // By default the target must hold no keys (so that DBSIZE proves the
  // restore); with this, existing keys stay and restored ones replace them.
  bool allow_nonempty = false;
  bool restore_functions = true;
};

// A restore target for `--to redis://[user@]host[:port]`. The URL carries
// no password (one in it is refused). Connects at once: kUnavailable if the
// server cannot be reached, kUnauthenticated for a wrong password,
// kFailedPrecondition if it already holds keys (see allow_nonempty).
//
// Finish() reports {"target", "keys_restored", "expired_skipped",
// "empty_skipped", "functions_restored", "module_aux_skipped", "dbsize":
// {"0": n, ...}, "expected": {...}, "seconds", "ok"}; a DBSIZE that does not
// match the restored keys (allowing for keys that expired meanwhile) is an
// error.
Result<std::unique_ptr<RestoreTarget>> MakeRedisRestoreTarget(
    const std::string& url, const RedisRestoreOptions& options = {});

}  // namespace ward::source
