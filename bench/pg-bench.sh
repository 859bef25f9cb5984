#!/usr/bin/env bash
# PostgreSQL logical backup + restore: ward vs the runbook vs restic.
#
#   bench/pg-bench.sh [--scale N] [--repeat N] [--ward-bench PATH] [--dir DIR] [--keep]
#
#   --scale N         pgbench scale of the database (default 50: 5M accounts, ~750 MB)
#   --repeat N        run every method N times, order rotating; report medians
#   --ward-bench PATH the pg_bench_ward program (default build/pg, then build/release)
#   --dir DIR         work directory for dumps and repositories (default /tmp/ward-pg-bench)
#   --keep            keep repositories, dump files and restored databases
#
# The database lives on a throw-away server started by scripts/start-postgres.sh
# (its own PG_BASE, port 55440, fsync ON: restores are timed with durable
# writes, as in production). The database `bench` is made once with
# `pgbench -i -s N` and reused by later runs.
#
# Methods, each a full backup of `bench` and a restore into a new database:
#   ward     pg_bench_ward: PostgresLogicalSource (pg_dump -Fc -Z0 on an exported
#            snapshot, row counts in the same snapshot) streamed into a local ward
#            repository; a second backup of the unchanged database (dedup); restore
#            through PostgresRestoreTarget (pg_restore from stdin, row counts checked)
#   runbook  pg_dump -Fc bench | gzip > bench.pgdump.gz;
#            gunzip -c bench.pgdump.gz | pg_restore -d bench_runbook
#   restic   pg_dump -Fc -Z0 bench | restic backup --stdin --stdin-filename db.pgdump
#            (same uncompressed archive as ward; a second backup for dedup);
#            restic dump latest db.pgdump | pg_restore -d bench_restic
#
# Reported per method: wall time, MB/s (of the database's size on disk, the
# same numerator for every method), and the size of what is stored. Writes
# the Markdown report to stdout and to bench/out/pg-bench-<date>.md.
# Needs: scripts/install-deps.sh --test (PostgreSQL) and restic
# (apt-get install -y restic), and pg_bench_ward built:
#   cmake --build build/pg --target pg_bench_ward
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
SCALE=50
REPEAT=1
DIR=/tmp/ward-pg-bench
KEEP=0
WARD_BENCH=
while [[ $# -gt 0 ]]; do
  case $1 in
    --scale) SCALE=$2; shift ;;
    --repeat) REPEAT=$2; shift ;;
    --ward-bench) WARD_BENCH=$2; shift ;;
    --dir) DIR=$2; shift ;;
    --keep) KEEP=1 ;;
    *) echo "usage: $0 [--scale N] [--repeat N] [--ward-bench PATH] [--dir DIR] [--keep]" >&2; exit 2 ;;
  esac
  shift
done
if [[ -z "$WARD_BENCH" ]]; then
  for b in "$ROOT/build/pg" "$ROOT/build/release"; do
    if [[ -x "$b/src/source/postgres/pg_bench_ward" ]]; then WARD_BENCH="$b/src/source/postgres/pg_bench_ward"; break; fi
  done
fi
[[ -x "${WARD_BENCH:-}" ]] || { echo "pg-bench.sh: build pg_bench_ward first: cmake --build build/pg --target pg_bench_ward" >&2; exit 1; }
command -v restic >/dev/null || { echo "pg-bench.sh: restic missing: apt-get install -y restic" >&2; exit 1; }
command -v jq >/dev/null || { echo "pg-bench.sh: jq missing: apt-get install -y jq" >&2; exit 1; }

# A private copy, so a rebuild during the run does not change what is measured.
mkdir -p "$DIR"
cp "$WARD_BENCH" "$DIR/pg_bench_ward"
WARD_BENCH="$DIR/pg_bench_ward"

export PG_BASE=${PG_BENCH_BASE:-/tmp/ward-pg-bench-server} PG_PORT=${PG_BENCH_PORT:-55440} PG_DURABLE=1
"$ROOT/scripts/start-postgres.sh" start >/dev/null
eval "$("$ROOT/scripts/start-postgres.sh" env)"
export PATH="$PG_BIN:$PATH"
DSN_BASE="postgresql://postgres@127.0.0.1:$PGPORT"

log() { echo "# $*" >&2; }
now() { echo "$EPOCHREALTIME"; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", b-a}'; }
size_of() { du -sb "$1" | cut -f1; }
rows_ok() { [[ "$(psql -X -tAq -d "$1" -c 'SELECT count(*) FROM pgbench_accounts')" == "$((SCALE * 100000))" ]]; }
drop() { PGOPTIONS="-c client_min_messages=warning" psql -X -q -d postgres -c "DROP DATABASE IF EXISTS \"$1\" WITH (FORCE)" >/dev/null; }

have=$(psql -X -tAq -d postgres -c "SELECT count(*) FROM pg_database WHERE datname = 'bench'")
if [[ "$have" == 1 ]] && ! rows_ok bench; then drop bench; have=0; fi
if [[ "$have" != 1 ]]; then
  log "creating pgbench scale $SCALE database (once)"
  t0=$(now)
  createdb bench
  pgbench -i -s "$SCALE" -q bench >/dev/null 2>&1
  psql -X -q -d bench -c "VACUUM ANALYZE" >/dev/null
  log "pgbench -i -s $SCALE took $(secs "$t0" "$(now)") s"
fi
DB_BYTES=$(psql -X -tAq -d bench -c "SELECT pg_database_size('bench')")
log "database bench: $((DB_BYTES / 1048576)) MiB on disk; server $(psql -X -tAq -c 'SHOW server_version')"

RAW="$DIR/results.tsv"
: >"$RAW"
record() { printf '%s\t%s\t%.2f\t%s\n' "$1" "$2" "$3" "$4" >>"$RAW"; }  # method step seconds bytes

run_ward() {
  rm -rf "$DIR/ward-repo"
  drop bench_ward
  "$WARD_BENCH" --dsn "$DSN_BASE/bench" --repo "$DIR/ward-repo" --restore-db bench_ward --again \
    >"$DIR/ward.json" 2>"$DIR/ward.log" || { cat "$DIR/ward.log" >&2; exit 1; }
  rows_ok bench_ward || { echo "ward restore: wrong row count" >&2; exit 1; }
  local j="$DIR/ward.json"
  record ward backup "$(jq .backup.seconds "$j")" "$(jq .backup.repo_growth_bytes "$j")"
  record ward backup-again "$(jq .backup_again.seconds "$j")" "$(jq .backup_again.repo_growth_bytes "$j")"
  record ward restore "$(jq .restore.seconds "$j")" "$(jq .repo_bytes "$j")"
  record ward dump-bytes 0 "$(jq .backup.dump_bytes "$j")"
  record ward restore-create "$(jq .restore.timings.create_database_s "$j")" 0
  record ward restore-pg_restore "$(jq .restore.timings.pg_restore_s "$j")" 0
  record ward restore-check "$(jq .restore.timings.check_s "$j")" 0
}

run_runbook() {
  local f="$DIR/bench.pgdump.gz" t0 t1
  rm -f "$f"
  drop bench_runbook
  t0=$(now)
  (set -o pipefail; pg_dump -Fc -d bench | gzip >"$f")
  t1=$(now)
  record runbook backup "$(secs "$t0" "$t1")" "$(size_of "$f")"
  createdb bench_runbook
  t0=$(now)
  (set -o pipefail; gunzip -c "$f" | pg_restore -d bench_runbook)
  t1=$(now)
  rows_ok bench_runbook || { echo "runbook restore: wrong row count" >&2; exit 1; }
  record runbook restore "$(secs "$t0" "$t1")" "$(size_of "$f")"
}

run_restic() {
  export RESTIC_REPOSITORY="$DIR/restic-repo" RESTIC_PASSWORD=bench-password
  local t0 t1 before
  rm -rf "$RESTIC_REPOSITORY"
  drop bench_restic
  restic init -q >/dev/null
  before=$(size_of "$RESTIC_REPOSITORY")
  t0=$(now)
  (set -o pipefail; pg_dump -Fc -Z0 -d bench | restic backup -q --stdin --stdin-filename db.pgdump >/dev/null)
  t1=$(now)
  record restic backup "$(secs "$t0" "$t1")" "$(( $(size_of "$RESTIC_REPOSITORY") - before ))"
  before=$(size_of "$RESTIC_REPOSITORY")
  t0=$(now)
  (set -o pipefail; pg_dump -Fc -Z0 -d bench | restic backup -q --stdin --stdin-filename db.pgdump >/dev/null)
  t1=$(now)
  record restic backup-again "$(secs "$t0" "$t1")" "$(( $(size_of "$RESTIC_REPOSITORY") - before ))"
  createdb bench_restic
  t0=$(now)
  (set -o pipefail; restic dump -q latest db.pgdump | pg_restore -d bench_restic)
  t1=$(now)
  rows_ok bench_restic || { echo "restic restore: wrong row count" >&2; exit 1; }
  record restic restore "$(secs "$t0" "$t1")" "$(size_of "$RESTIC_REPOSITORY")"
}

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
methods=(ward runbook restic)
for ((round = 0; round < REPEAT; round++)); do
  for ((i = 0; i < ${#methods[@]}; i++)); do
    m=${methods[$(((i + round) % ${#methods[@]}))]}
    log "round $((round + 1))/$REPEAT: $m"
    sync
    "run_$m"
  done
done

# Median of column 3 (seconds) and last value of column 4 (bytes) per method+step.
median() { sort -n | awk '{a[NR]=$1} END{ if (NR==0) print ""; else if (NR%2) print a[(NR+1)/2]; else printf "%.2f\n", (a[NR/2]+a[NR/2+1])/2 }'; }
val() { awk -F'\t' -v m="$1" -v s="$2" '$1==m && $2==s {print $3}' "$RAW" | median; }
range() { awk -F'\t' -v m="$1" -v s="$2" '$1==m && $2==s {print $3}' "$RAW" | sort -n | awk 'NR==1{lo=$1} {hi=$1} END{if (NR>1) printf " (%s–%s)", lo, hi}'; }
bytes() { awk -F'\t' -v m="$1" -v s="$2" '$1==m && $2==s {b=$4} END{print b}' "$RAW"; }
mib() { awk -v b="$1" 'BEGIN{printf "%.1f MiB", b/1048576}'; }
mbs() { awk -v b="$DB_BYTES" -v s="$1" 'BEGIN{ if (s>0) printf "%.0f", b/1e6/s; else print "-" }'; }

LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
DUMP_BYTES=$(bytes ward dump-bytes)
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
REPORT="$ROOT/bench/out/pg-bench-$STAMP.md"
mkdir -p "$ROOT/bench/out"
{
  echo "# PostgreSQL logical backup + restore, pgbench scale $SCALE"
  echo
  echo "$(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) cores; PostgreSQL $(psql -X -tAq -c 'SHOW server_version'); \
restic $(restic version | awk '{print $2}'); $REPEAT round(s), medians (range). Database on disk \
$(mib "$DB_BYTES"); uncompressed custom-format dump $(mib "$DUMP_BYTES"). MB/s = database size / wall time. \
Load average before/after: $LOAD_BEFORE / $LOAD_AFTER."
  echo
  echo "| method | backup s | MB/s | stored after backup | 2nd backup (unchanged) s | added by 2nd | restore s | MB/s |"
  echo "|---|---|---|---|---|---|---|---|"
  for m in ward runbook restic; do
    b=$(val "$m" backup); r=$(val "$m" restore); a=$(val "$m" backup-again)
    if [[ "$m" == runbook ]]; then again="—"; added="full copy again"; else again="$a$(range "$m" backup-again)"; added=$(mib "$(bytes "$m" backup-again)"); fi
    echo "| $m | $b$(range "$m" backup) | $(mbs "$b") | $(mib "$(bytes "$m" backup)") | $again | $added | $r$(range "$m" restore) | $(mbs "$r") |"
  done
  echo
  echo "ward's restore time includes CREATE DATABASE ($(val ward restore-create) s), pg_restore fed from the"
  echo "repository ($(val ward restore-pg_restore) s) and counting every restored table against the snapshot"
  echo "($(val ward restore-check) s); the runbook's and restic's \`createdb\` is not timed and they count nothing."
  echo
  echo "ward: pg_dump -Fc -Z0 on an exported snapshot, exact row counts of every table in the same"
  echo "snapshot, zstd + dedup in the repository, restore checked against the counts."
  echo "runbook: \`pg_dump -Fc | gzip\` and \`gunzip | pg_restore\`. restic: \`pg_dump -Fc -Z0 | restic backup --stdin\`,"
  echo "\`restic dump | pg_restore\`. Every restore is checked for $((SCALE * 100000)) rows in pgbench_accounts."
  echo "pgbench's data is synthetic and extremely compressible (blank filler, sequential keys): gzip over"
  echo "pg_dump's zlib output shrinks it ~1000:1, so stored sizes here say little about real databases."
} | tee "$REPORT"
log "report: $REPORT; raw: $RAW"

if [[ $KEEP != 1 ]]; then
  rm -rf "$DIR/ward-repo" "$DIR/restic-repo" "$DIR/bench.pgdump.gz"
  for d in bench_ward bench_runbook bench_restic; do drop "$d"; done
fi
