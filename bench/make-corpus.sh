#!/usr/bin/env bash
# Build (or reuse) the deterministic benchmark corpus.
#
#   bench/make-corpus.sh [--quick] [--dir DIR]
#
# Full corpus (~2 GiB) in DIR/corpus-full, quick (~200 MiB) in DIR/corpus-quick:
#   files/             real files from /usr/lib and /usr/share (1.4 GiB / 140 MiB),
#                      a fixed pseudo-random sample (see corpus.py select), cp -a
#   incompressible.bin AES-256-CTR keystream with a fixed key (300 MiB / 30 MiB)
#   dump.sql           generated mysqldump-style INSERTs, fixed seed (300 MiB / 30 MiB)
# A content manifest (DIR/corpus-MODE.manifest) records what was built; when the
# directory still matches it the corpus is reused, otherwise it is rebuilt.
# Prints the corpus path on the last line of stdout.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PY=/usr/bin/python3
DIR=${WARD_BENCH_DIR:-/tmp/ward-bench}
MODE=full

while [[ $# -gt 0 ]]; do
  case $1 in
    --quick) MODE=quick ;;
    --dir) DIR=$2; shift ;;
    --dir=*) DIR=${1#--dir=} ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "make-corpus.sh: unknown argument: $1" >&2; exit 2 ;;
  esac
  shift
done

die() { echo "make-corpus.sh: error: $*" >&2; exit 1; }
log() { echo "[corpus] $*" >&2; }

MiB=$((1 << 20))
if [[ $MODE == full ]]; then
  FILES_BUDGET=$((1434 * MiB))   # 1.4 GiB
  INC_BYTES=$((300 * MiB))
  SQL_BYTES=$((300 * MiB))
else
  FILES_BUDGET=$((140 * MiB))
  INC_BYTES=$((30 * MiB))
  SQL_BYTES=$((30 * MiB))
fi
# Key and IV of the keystream: fixed, so the "incompressible" file is reproducible.
AES_KEY=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
AES_IV=f0e0d0c0b0a090807060504030201000

CORPUS=$DIR/corpus-$MODE
MANIFEST=$DIR/corpus-$MODE.manifest
PARAMS="ward-bench-corpus v1 mode=$MODE files=$FILES_BUDGET inc=$INC_BYTES sql=$SQL_BYTES key=$AES_KEY iv=$AES_IV"
[[ -x $PY ]] || die "$PY not found (apt-get install -y python3)"
command -v openssl >/dev/null || die "openssl not found (apt-get install -y openssl)"
mkdir -p "$DIR"

if [[ -d $CORPUS && -f $MANIFEST && -f $MANIFEST.params ]] && [[ $(cat "$MANIFEST.params") == "$PARAMS" ]]; then
  log "verifying existing corpus $CORPUS against its manifest"
  if cmp -s <("$PY" "$HERE/corpus.py" manifest "$CORPUS") "$MANIFEST"; then
    log "corpus matches its manifest, reusing it"
    echo "$CORPUS"
    exit 0
  fi
  log "corpus differs from its manifest, rebuilding"
fi

rm -rf "$CORPUS" "$CORPUS.tmp" "$MANIFEST" "$MANIFEST.params"
mkdir -p "$CORPUS.tmp/files"
T0=$SECONDS

log "selecting $FILES_BUDGET bytes of files from /usr/lib and /usr/share"
"$PY" "$HERE/corpus.py" select --budget "$FILES_BUDGET" --max-file $((FILES_BUDGET / 10)) \
  --out "$DIR/corpus-$MODE.files" /usr/lib /usr/share >&2
log "copying them (cp -a --parents)"
(cd / && xargs -0 -n 2000 cp -a --parents -t "$CORPUS.tmp/files" < "$DIR/corpus-$MODE.files") \
  || die "copying the system files failed"

log "writing incompressible.bin ($INC_BYTES bytes of AES-256-CTR keystream)"
openssl enc -aes-256-ctr -nosalt -K "$AES_KEY" -iv "$AES_IV" \
  -in <(head -c "$INC_BYTES" /dev/zero) -out "$CORPUS.tmp/incompressible.bin" \
  || die "openssl enc failed"
[[ $(stat -c %s "$CORPUS.tmp/incompressible.bin") == "$INC_BYTES" ]] || die "incompressible.bin has the wrong size"

log "writing dump.sql (~$SQL_BYTES bytes)"
"$PY" "$HERE/corpus.py" sql --size "$SQL_BYTES" --seed 1 --out "$CORPUS.tmp/dump.sql" || die "SQL generator failed"

# Fixed timestamps on the generated files, so that the manifest and the
# corpus do not depend on when it was built.
touch -d '2023-06-01 12:00:00 UTC' "$CORPUS.tmp/incompressible.bin" "$CORPUS.tmp/dump.sql"

mv "$CORPUS.tmp" "$CORPUS"
log "writing manifest"
"$PY" "$HERE/corpus.py" manifest "$CORPUS" > "$MANIFEST.tmp"
mv "$MANIFEST.tmp" "$MANIFEST"
echo "$PARAMS" > "$MANIFEST.params"
log "built $CORPUS: $(du -sb "$CORPUS" | cut -f1) bytes, $(wc -l < "$MANIFEST") entries, $((SECONDS - T0)) s"
echo "$CORPUS"
