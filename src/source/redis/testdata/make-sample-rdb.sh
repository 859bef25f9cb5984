#!/usr/bin/env bash
# Regenerates sample.rdb, the RDB fixture of the parser's unit tests: every
# value type and encoding Redis 7.0 writes, expiries, LRU idle times, several
# databases and a function library, saved by a real redis-server.
#   src/source/redis/testdata/make-sample-rdb.sh   (needs redis-server, redis-cli)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
dir="$(mktemp -d /tmp/ward-sample-rdb-XXXXXX)"
port=$((20000 + RANDOM % 20000))
redis-server --port "$port" --bind 127.0.0.1 --dir "$dir" --save "" --appendonly no \
  --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" \
  --enable-debug-command local --maxmemory-policy allkeys-lru
trap 'kill "$(cat "$dir/redis.pid")" 2>/dev/null || true; rm -rf "$dir"' EXIT
cli() { redis-cli -p "$port" "$@" >/dev/null; }
for _ in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done

# Strings: short, int-encoded, negative, LZF-compressible, binary, empty key name.
cli set str:short hello
cli set str:int 12345
cli set str:neg -70000
cli set str:big "$(printf 'ward-%.0s' $(seq 400))"
cli set str:bin "$(printf '\x01\x02\xff\xfe')"
cli set "" empty-name
# Lists: a listpack node; a quicklist of many nodes; a plain node (big element).
cli rpush list:small a b 1 2 -3 300000
redis-cli -p "$port" rpush list:big $(seq 1 3000) >/dev/null
cli debug quicklist-packed-threshold 100
cli rpush list:plain small "$(printf 'P%.0s' $(seq 300))" small2
cli debug quicklist-packed-threshold 1073741824
# Sets: intset, listpack-free hashtable.
cli sadd set:int 1 2 3 -4 100000 5000000000
cli sadd set:str apple banana cherry
redis-cli -p "$port" sadd set:bigint $(seq 1 600) >/dev/null
# Sorted sets: listpack and skiplist.
cli zadd zset:small 1 a 2.5 b -3 c
args=(); for i in $(seq 1 200); do args+=("$i.5" "member-$i"); done
cli zadd zset:big "${args[@]}"
# Hashes: listpack and hashtable.
cli hset hash:small f1 v1 f2 2 f3 "$(printf 'x%.0s' $(seq 30))"
args=(); for i in $(seq 1 1000); do args+=("field-$i" "value-$i"); done
cli hset hash:big "${args[@]}"
# A stream with deleted entries, two consumer groups, pending entries.
for i in $(seq 1 50); do cli xadd stream:s "1000-$i" name "n$i" n "$i"; done
cli xadd stream:s 2000-1 other-field x
cli xdel stream:s 1000-3 1000-4
cli xgroup create stream:s g1 0
cli xgroup create stream:s g2 '$'
cli xreadgroup group g1 alice count 5 streams stream:s '>'
cli xreadgroup group g1 bob count 2 streams stream:s '>'
cli xack stream:s g1 1000-1
# Expiries far in the future (the fixture must not expire).
cli set ttl:str v
cli pexpireat ttl:str 4102444800000
cli hset ttl:hash a b
cli pexpireat ttl:hash 4102444800123
# Other databases.
cli -n 1 set db1:key one
cli -n 3 rpush db3:list x y z
# A function library.
redis-cli -p "$port" function load "#!lua name=wardlib
redis.register_function('ward_echo', function(keys, args) return args[1] end)" >/dev/null
cli save
cp "$dir/dump.rdb" "$here/sample.rdb"
echo "wrote $here/sample.rdb ($(stat -c %s "$here/sample.rdb") bytes)"
