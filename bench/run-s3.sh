#!/usr/bin/env bash
# ward vs restic against S3 (Ceph RGW on loopback). See bench/README.md, "S3".
#
#   bench/run-s3.sh [--quick] [--dir DIR] [--tools "ward restic"] [--ward PATH]
#                   [--proxy PATH | --no-proxy] [--repeat N] [--no-drop-caches]
#                   [--keep] [--ward-flags "..."] [--restic-flags "..."]
#   bench/run-s3.sh --report bench/out/s3-<date>     (regenerate a report)
#
#   --quick           ~200 MiB corpus instead of ~2 GiB (bench/make-corpus.sh)
#   --dir DIR         where the corpus is (shared with run.sh; default
#                     /tmp/ward-bench or $WARD_BENCH_DIR); this script works in DIR/s3
#   --tools LIST      tools, in this order (default "ward restic")
#   --ward PATH       ward binary (default build/release/ward; a private copy runs)
#   --proxy PATH      request counter: tests/tools/fault_proxy at --rate 0 (default
#                     build/release/tests/tools/fault_proxy; a private copy runs)
#   --no-proxy        talk to RGW directly (requests are then counted from the
#                     RGW access log only)
#   --repeat N        N rounds, the tools' order rotating; medians and ranges
#   --no-drop-caches  do not drop the page cache before each step (pre-read instead)
#   --keep            keep the buckets and the data of the last round
#   --ward-flags S    extra global flags for ward (e.g. "--s3-connections 16")
#   --restic-flags S  extra global flags for restic (e.g. "-o s3.connections=8")
#
# Needs the RGW of scripts/start-rgw.sh (started here if it is not running;
# RGW_BASE as there), restic, /usr/bin/time. Writes the Markdown report to
# stdout and to bench/out/s3-<date>.md; raw data, tool output and the RGW
# access-log lines of every step go to bench/out/s3-<date>/.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
PY=/usr/bin/python3
DIR=${WARD_BENCH_DIR:-/tmp/ward-bench}
QUICK=()
TOOLS="ward restic"
WARD=$ROOT/build/release/ward
PROXY=$ROOT/build/release/tests/tools/fault_proxy
USE_PROXY=1
DROP=1
KEEP=0
REPEAT=1
ROUND=1
WARD_FLAGS=""
RESTIC_FLAGS=""
REPORT_ONLY=
RGW_BASE=${RGW_BASE:-/tmp/ward-rgw}

while [[ $# -gt 0 ]]; do
  case $1 in
    --quick) QUICK=(--quick) ;;
    --dir) DIR=$2; shift ;;
    --dir=*) DIR=${1#--dir=} ;;
    --tools) TOOLS=$2; shift ;;
    --tools=*) TOOLS=${1#--tools=} ;;
    --ward) WARD=$2; shift ;;
    --ward=*) WARD=${1#--ward=} ;;
    --proxy) PROXY=$2; shift ;;
    --proxy=*) PROXY=${1#--proxy=} ;;
    --no-proxy) USE_PROXY=0 ;;
    --no-drop-caches) DROP=0 ;;
    --keep) KEEP=1 ;;
    --repeat) REPEAT=$2; shift ;;
    --repeat=*) REPEAT=${1#--repeat=} ;;
    --ward-flags) WARD_FLAGS=$2; shift ;;
    --restic-flags) RESTIC_FLAGS=$2; shift ;;
    --report) REPORT_ONLY=$2; shift ;;
    -h|--help) sed -n '2,28p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run-s3.sh: unknown argument: $1 (try --help)" >&2; exit 2 ;;
  esac
  shift
done

# ============================================================================
# Python helpers (standard library only)
# ============================================================================

# rgwlog LOG OFFSET BUCKET EXPECTED OUT_LINES TSV TOOL STEP ROUND
# Reads the RGW log from OFFSET, keeps the beast access lines (one per request:
# method, target, status, bytes sent + received) whose target is in BUCKET,
# waits (up to 10 s) until there are at least EXPECTED of them (the log is
# written asynchronously), appends per-method counts and bytes and per-status
# counts to TSV, copies the lines to OUT_LINES, prints the number of requests.
RGWLOG_PY='
import re, sys, time, os
log, off, bucket, expected, out_lines, tsv, tool, step, rnd = sys.argv[1:]
off, expected = int(off), int(expected)
pat = re.compile(r" beast: \S+: \S+ - \S+ \[[^\]]*\] \"(\S+) (\S+) [^\"]*\" (\d+) (\d+) ")
mine_re = re.compile(r"^/" + re.escape(bucket) + r"(?:[/?]|$)")
deadline = time.time() + 10
time.sleep(0.3 if expected else 1.5)
while True:
    size = os.path.getsize(log)
    start = off if size >= off else 0  # log rotated: read it all
    with open(log, "rb") as f:
        f.seek(start)
        data = f.read().decode("utf-8", "replace")
    mine, foreign = [], 0
    for line in data.splitlines():
        m = pat.search(line)
        if not m:
            continue
        if mine_re.match(m.group(2)):
            mine.append((m.group(1), m.group(2), int(m.group(3)), int(m.group(4)), line))
        else:
            foreign += 1
    if len(mine) >= expected or time.time() > deadline:
        break
    time.sleep(0.5)
by = {}
status = {}
for meth, tgt, st, nb, _ in mine:
    c = by.setdefault(meth, [0, 0])
    c[0] += 1
    c[1] += nb
    status[st] = status.get(st, 0) + 1
with open(out_lines, "w") as f:
    for x in mine:
        f.write(x[4] + "\n")
with open(tsv, "a") as f:
    for meth, (n, nb) in sorted(by.items()):
        f.write("%s\t%s\t%s\tmethod\t%s\t%d\t%d\n" % (tool, step, rnd, meth, n, nb))
    for st, n in sorted(status.items()):
        f.write("%s\t%s\t%s\tstatus\t%d\t%d\t0\n" % (tool, step, rnd, st, n))
    f.write("%s\t%s\t%s\tforeign\t-\t%d\t0\n" % (tool, step, rnd, foreign))
print(len(mine))
'

# bucketstats: radosgw-admin bucket stats JSON on stdin -> "bytes objects".
BUCKETSTATS_PY='
import json, sys
try:
    d = json.load(sys.stdin)
    u = d.get("usage", {})
    size = sum(v.get("size", 0) for k, v in u.items() if k in ("rgw.main", "rgw.multimeta"))
    n = sum(v.get("num_objects", 0) for k, v in u.items() if k == "rgw.main")
    print(size, n)
except Exception:
    print("-1 -1")
'

# The report: raw data directory -> Markdown on stdout.
REPORT_PY='
import json, os, sys
d = sys.argv[1]
MB, MiB = 1e6, float(1 << 20)
STEPS = [("backup-initial", "1. initial backup"), ("backup-unchanged", "2. unchanged re-backup"),
         ("backup-changed", "3. backup after the ~5% change"), ("restore", "4. full restore"),
         ("check", "5. check --read-data")]

def median(xs):
    xs = sorted(xs)
    n = len(xs)
    if n == 0:
        return None
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2

def fmt(x, nd=1):
    return "–" if x is None else "{:,.{}f}".format(x, nd)

def rat(a, b):
    return None if a is None or b in (None, 0) else a / b

def fr(r):
    return "–" if r is None else "%.2f" % r

meta = {}
for line in open(os.path.join(d, "meta.tsv")):
    k, _, v = line.rstrip("\n").partition("\t")
    meta[k] = v
tools = meta["tools"].split()
rounds = int(meta.get("rounds", "1"))
ncores = int(meta.get("cores", "2").split()[0])

# steps.tsv: tool step wall rss_kib user sys load1 sync busy steal round server_cpu proxy_cpu proxy_requests
raw = {}
for line in open(os.path.join(d, "steps.tsv")):
    f = line.rstrip("\n").split("\t")
    t, st = f[0], f[1]
    wall, cpu = float(f[2]), float(f[4]) + float(f[5])
    srv = float(f[11]) if f[11] != "-" else None
    prx = float(f[12]) if f[12] != "-" else 0.0
    s = {"wall": wall, "rss": int(f[3]) * 1024, "cpu": cpu, "load": float(f[6]),
         "sync": float(f[7]), "server": srv, "proxy_cpu": prx,
         "preq": int(f[13]) if f[13] != "-" else None,
         "others": max(0.0, float(f[8]) - cpu - (srv or 0) - prx) / max(wall, 1e-3),
         "steal": float(f[9])}
    raw.setdefault((t, st), []).append(s)
steps = {}
for k, rs in raw.items():
    s = {}
    for m in rs[0]:
        vals = [x[m] for x in rs if x[m] is not None]
        s[m] = median(vals) if vals else None
    s["n"] = len(rs)
    s["wall_min"] = min(x["wall"] for x in rs)
    s["wall_max"] = max(x["wall"] for x in rs)
    steps[k] = s

# requests.tsv: tool step round kind key count bytes
req = {}
for line in open(os.path.join(d, "requests.tsv")):
    t, st, r, kind, key, n, nb = line.rstrip("\n").split("\t")
    req.setdefault((t, st, kind, key), {})[r] = (int(n), int(nb))
def rounds_of(t, st):
    return sorted({r for (t2, s2, _, _), v in req.items() if t2 == t and s2 == st for r in v})
def per_round(t, st, kind, key, idx):
    rs = rounds_of(t, st)
    v = req.get((t, st, kind, key), {})
    return [v.get(r, (0, 0))[idx] for r in rs]
def med_req(t, st, kind, key, idx=0):
    return median(per_round(t, st, kind, key, idx)) if rounds_of(t, st) else None
def methods(t, st):
    return sorted({k for (t2, s2, kind, k) in req if t2 == t and s2 == st and kind == "method"})
def total_req(t, st):
    rs = rounds_of(t, st)
    if not rs:
        return None
    tot = []
    for r in rs:
        tot.append(sum(v.get(r, (0, 0))[0] for (t2, s2, kind, _), v in req.items()
                       if t2 == t and s2 == st and kind == "method"))
    return median(tot)
def bytes_dir(t, st, up):
    rs = rounds_of(t, st)
    if not rs:
        return None
    sel = ("PUT", "POST") if up else ("GET",)
    out = []
    for r in rs:
        out.append(sum(v.get(r, (0, 0))[1] for (t2, s2, kind, k), v in req.items()
                       if t2 == t and s2 == st and kind == "method" and k in sel))
    return median(out)

values = {}
for line in open(os.path.join(d, "values.tsv")):
    t, k, v = line.rstrip("\n").split("\t")[:3]
    values.setdefault((t, k), []).append(int(v))
values = {k: median(v) for k, v in values.items()}

def read_json(p):
    try:
        return json.load(open(p))
    except (OSError, ValueError):
        return None
modify = read_json(os.path.join(d, "logs", "r1-modify.json"))
corpus = int(meta["corpus_bytes"])
after = modify["corpus_bytes_after"] if modify else corpus
touched = modify["touched_bytes"] if modify else None
base = {"backup-initial": corpus, "backup-unchanged": corpus, "backup-changed": touched,
        "restore": after, "check": after}

o = []
p = o.append
p("# ward vs restic on S3 (Ceph RGW on loopback), %s corpus" % meta["mode"])
p("")
p("Run %s: `%s`." % (meta["date"], meta.get("command", "bench/run-s3.sh")))
if rounds > 1:
    p("")
    p("%d rounds, each on a fresh copy of the corpus with fresh buckets; the tools\x27 order "
      "rotates. Every number is the median over the rounds; wall times show (min–max)." % rounds)
p("")
p("| | |")
p("|---|---|")
for k, label in (("cpu", "CPU"), ("cores", "Cores"), ("ram", "RAM"), ("kernel", "Kernel"),
                 ("os", "OS"), ("fs", "File system of the work dir"), ("server", "S3 server"),
                 ("endpoint", "Endpoint"), ("counting", "Request counting"),
                 ("version_ward", "ward"), ("version_restic", "restic"),
                 ("flags_ward", "ward flags"), ("flags_restic", "restic flags"),
                 ("osd_free", "OSD free space at start"),
                 ("cache_mode", "Page cache"), ("load_start", "Load average at start"),
                 ("busy_start", "Busiest processes at start (%CPU)"),
                 ("load_end", "Load average at end")):
    if meta.get(k):
        p("| %s | %s |" % (label, meta[k].replace("|", "/")))
p("")
p("Corpus %s: %s files, %s bytes (%.2f GiB)." % (meta["corpus"], meta["corpus_files"],
                                              format(corpus, ","), corpus / 2**30))
if modify:
    p("The ~5%% change rewrote %s bytes in %d files holding %s bytes (step 3\x27s MB/s is "
      "over those bytes); steps 4 and 5 count the %s bytes of the changed corpus." % (
          format(modify["changed_bytes"], ","), modify["touched_files"],
          format(modify["touched_bytes"], ","), format(after, ",")))
p("")

cols = ["step", "tool", "wall s", "MB/s", "CPU s", "RGW+OSD CPU s", "peak RSS MiB",
        "requests", "by method", "up MB", "down MB", "bucket MiB (objects)"]
p("| " + " | ".join(cols) + " |")
p("|" + "---|" * len(cols))
for st, title in [("init", "init (not compared)")] + STEPS:
    first = True
    for t in tools:
        s = steps.get((t, st))
        if not s:
            continue
        wall = fmt(s["wall"], 2)
        if s["n"] > 1:
            wall += " (%s–%s)" % (fmt(s["wall_min"], 2), fmt(s["wall_max"], 2))
        b = base.get(st)
        nreq = total_req(t, st)
        preq = s.get("preq")
        rq = fmt(nreq, 0)
        if preq is not None and nreq is not None and preq != nreq:
            rq += " (proxy %s)" % fmt(preq, 0)
        elif nreq is None and preq is not None:
            rq = fmt(preq, 0) + " (proxy)"
        bym = ", ".join("%s %s" % (m, fmt(med_req(t, st, "method", m), 0)) for m in methods(t, st))
        up, down = bytes_dir(t, st, True), bytes_dir(t, st, False)
        repo = values.get((t, "repo-" + st))
        objs = values.get((t, "objects-" + st))
        p("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            title if first else "", t, wall,
            fmt(b / MB / s["wall"], 1) if b and st != "init" else "",
            fmt(s["cpu"], 1), fmt(s["server"], 1), fmt(s["rss"] / MiB, 0), rq, bym or "–",
            fmt(up / MB if up is not None else None, 1), fmt(down / MB if down is not None else None, 1),
            "%s (%s)" % (fmt(repo / MiB, 1), fmt(objs, 0)) if repo is not None and repo >= 0 else ""))
        first = False
p("")
p("MB/s = 10^6 bytes per second of wall time. CPU s = the tool\x27s user+system time; "
  "*RGW+OSD CPU s* = what radosgw, ceph-osd and ceph-mon used during the step (they share the "
  "%d cores with the tool). *requests* = HTTP requests in the tool\x27s bucket, from the RGW "
  "access log%s; *up MB* = request bodies of PUT/POST, *down MB* = reply bodies of GET "
  "(the log\x27s bytes field, sent + received). *bucket* = the bucket\x27s size after the step "
  "(`radosgw-admin bucket stats`)." % (
      ncores, "; the proxy\x27s count is shown in parentheses where it differs"
      if meta.get("proxy") == "1" else ""))
p("")

ts = [t for t in tools if t != "ward"]
if "ward" in tools and ts:
    for t in ts:
        p("Ratios ward/%s (throughput: above 1 = ward faster; the rest: below 1 = ward uses less):" % t)
        p("")
        p("| step | throughput | CPU | RGW+OSD CPU | peak RSS | requests | up bytes | down bytes | bucket size |")
        p("|---|---|---|---|---|---|---|---|---|")
        for st, title in STEPS:
            w, r = steps.get(("ward", st)), steps.get((t, st))
            if not w or not r:
                continue
            p("| %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                title, fr(rat(r["wall"], w["wall"])), fr(rat(w["cpu"], r["cpu"])),
                fr(rat(w["server"], r["server"])), fr(rat(w["rss"], r["rss"])),
                fr(rat(total_req("ward", st), total_req(t, st))),
                fr(rat(bytes_dir("ward", st, True), bytes_dir(t, st, True))) if st.startswith("backup") else "–",
                fr(rat(bytes_dir("ward", st, False), bytes_dir(t, st, False))),
                fr(rat(values.get(("ward", "repo-" + st)), values.get((t, "repo-" + st))))
                if st.startswith("backup") else "–"))
        p("")

p("Noise (medians): the 1-minute load average before the step, the CPU that processes other "
  "than the tool, the proxy and the Ceph daemons used during it (in cores of %d), and the "
  "requests other clients sent to RGW meanwhile." % ncores)
p("")
p("| step | " + " | ".join("%s: load / others\x27 cores / foreign requests / proxy CPU s" % t for t in tools) + " |")
p("|---|" + "---|" * len(tools))
for st, title in STEPS:
    row = [title]
    for t in tools:
        s = steps.get((t, st))
        if not s:
            row.append("–")
            continue
        row.append("%s / %s / %s / %s" % (fmt(s["load"], 2), fmt(s["others"], 2),
                                          fmt(med_req(t, st, "foreign", "-"), 0),
                                          fmt(s["proxy_cpu"], 1) if meta.get("proxy") == "1" else "–"))
    p("| " + " | ".join(row) + " |")
p("")

odd = []
for (t, st, kind, key), v in sorted(req.items()):
    if kind == "status" and not key.startswith("2"):
        odd.append("%s %s: HTTP %s × %s (rounds %s)" % (t, st, key, "/".join(str(v[r][0]) for r in sorted(v)),
                                                      ",".join(sorted(v))))
if odd:
    p("Non-2xx replies (per round):")
    p("")
    for x in odd:
        p("- " + x)
    p("")
verify = [(t, read_json(os.path.join(d, "logs", "%s-r%d-verify.json" % (t, r))))
          for t in tools for r in range(1, rounds + 1)]
vs = ["%s: %d entries, %d errors" % (t, v["entries"], v["errors"]) for t, v in verify if v]
p("Restored trees compared with the data (content, type, size, symlinks): " + "; ".join(vs) + ".")
p("")
sys.stdout.write("\n".join(o) + "\n")
'

if [[ -n $REPORT_ONLY ]]; then
  exec "$PY" -c "$REPORT_PY" "$REPORT_ONLY"
fi

# ============================================================================
# Setup
# ============================================================================
die() { echo "run-s3.sh: error: $*" >&2; exit 1; }
[[ $REPEAT =~ ^[1-9][0-9]*$ ]] || { echo "run-s3.sh: --repeat needs a positive number" >&2; exit 2; }
log() { echo "[bench-s3 $(date +%H:%M:%S)] $*" >&2; }
OUT=
PROXY_PID=
BUCKETS=()
COMMAND=$(echo "bench/run-s3.sh $*" | sed "s/ *$//")

cleanup_buckets() {
  local b
  for b in "${BUCKETS[@]}"; do delete_bucket "$b"; done
  BUCKETS=()
}
on_exit() {
  local rc=$?
  if [[ -n $PROXY_PID ]]; then kill -TERM "$PROXY_PID" 2>/dev/null || true; wait "$PROXY_PID" 2>/dev/null || true; fi
  if [[ $rc != 0 ]]; then
    echo "run-s3.sh: stopped (exit status $rc)${OUT:+ — logs in $OUT/}" >&2
    if [[ $KEEP == 0 && ${#BUCKETS[@]} -gt 0 ]]; then
      echo "run-s3.sh: deleting this round's buckets (${BUCKETS[*]}); --keep keeps them" >&2
      cleanup_buckets
    fi
  fi
}
trap on_exit EXIT

# S3 endpoint and credentials: scripts/start-rgw.sh (starts RGW if needed).
if [[ -z ${S3_ENDPOINT:-} || -z ${AWS_ACCESS_KEY_ID:-} ]]; then
  log "starting/looking up RGW: scripts/start-rgw.sh env"
  eval "$("$ROOT/scripts/start-rgw.sh" env)" || die "scripts/start-rgw.sh env failed"
fi
[[ $S3_ENDPOINT =~ ^http://([^/:]+):([0-9]+)/?$ ]] || die "S3_ENDPOINT=$S3_ENDPOINT: expected http://HOST:PORT"
UP_HOST=${BASH_REMATCH[1]}
UP_PORT=${BASH_REMATCH[2]}
CEPH_CONF=$RGW_BASE/ceph.conf
RGW_LOG=$RGW_BASE/log/client.rgw.a.log
[[ -f $CEPH_CONF ]] || die "no $CEPH_CONF: this script measures the RGW of scripts/start-rgw.sh (RGW_BASE=$RGW_BASE)"
[[ -f $RGW_LOG ]] || die "no RGW log at $RGW_LOG"
command -v radosgw-admin >/dev/null || die "radosgw-admin missing"
RGWADMIN=(timeout 120 radosgw-admin -c "$CEPH_CONF")

DIR=$(mkdir -p "$DIR" && cd "$DIR" && pwd)
WORK=$DIR/s3
mkdir -p "$WORK/bin"
[[ $WARD == /* ]] || WARD=$(pwd)/$WARD
[[ $PROXY == /* ]] || PROXY=$(pwd)/$PROXY
STAMP=$(date +%Y-%m-%d-%H%M%S)${QUICK:+-quick}
BSTAMP=$(date +%Y%m%d-%H%M%S)
OUT=$HERE/out/s3-$STAMP
mkdir -p "$OUT/logs"
RESULTS=$OUT/steps.tsv
META=$OUT/meta.tsv
REQS=$OUT/requests.tsv
: > "$RESULTS"; : > "$META"; : > "$REQS"; : > "$OUT/values.tsv"
meta() { printf '%s\t%s\n' "$1" "$2" >> "$META"; }

# Private copies: the build tree may be rebuilt while we measure.
for t in $TOOLS; do
  case $t in
    ward)
      [[ -x $WARD ]] || die "ward binary not found at $WARD (cmake --build --preset release --target ward)"
      cp "$WARD" "$WORK/bin/ward.tmp" && mv "$WORK/bin/ward.tmp" "$WORK/bin/ward"
      WARD_SRC=$WARD; WARD=$WORK/bin/ward ;;
    restic) command -v restic >/dev/null || die "restic not installed (apt-get install -y restic)" ;;
    *) die "unknown tool '$t' (ward, restic)" ;;
  esac
done
if [[ $USE_PROXY == 1 ]]; then
  [[ -x $PROXY ]] || die "fault_proxy not found at $PROXY (cmake --build build/release --target fault_proxy)"
  cp "$PROXY" "$WORK/bin/fault_proxy.tmp" && mv "$WORK/bin/fault_proxy.tmp" "$WORK/bin/fault_proxy"
  PROXY=$WORK/bin/fault_proxy
  # One port for the whole run (the proxy sets SO_REUSEADDR): the repository
  # URL stays the same from step to step.
  PROXY_PORT=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  EP_PORT=$PROXY_PORT
else
  EP_PORT=$UP_PORT
fi
[[ -x /usr/bin/time ]] || die "/usr/bin/time missing (apt-get install -y time)"
[[ -x $PY ]] || die "$PY missing"

# --- page cache (as bench/run.sh) --------------------------------------------
CACHE_MODE=warm
if [[ $DROP == 1 ]]; then
  if sync && (echo 3 > /proc/sys/vm/drop_caches) 2>/dev/null; then
    CACHE_MODE=dropped
  else
    log "cannot drop the page cache here; pre-reading the data before each step instead"
  fi
fi
prepare_cache() {
  sync
  if [[ $CACHE_MODE == dropped ]]; then
    echo 3 > /proc/sys/vm/drop_caches
  elif [[ -e $DATA ]]; then
    find "$DATA" -type f -print0 | xargs -0 -r cat > /dev/null
  fi
}

# --- corpus --------------------------------------------------------------------
log "corpus: bench/make-corpus.sh ${QUICK[*]:-} --dir $DIR"
CORPUS=$("$HERE/make-corpus.sh" "${QUICK[@]}" --dir "$DIR" | tail -n1) || die "building the corpus failed"
[[ -d $CORPUS ]] || die "corpus directory $CORPUS missing"
DATA=$WORK/data
RESTORE=$WORK/restore
STATE=$WORK/state
file_bytes() { find "$1" -type f -printf '%s\n' | awk '{s+=$1} END {printf "%d\n", s}'; }
CORPUS_BYTES=$(file_bytes "$CORPUS")
CORPUS_FILES=$(find "$CORPUS" -type f | wc -l)
AVAIL=$(df -B1 --output=avail "$DIR" | tail -n1)
(( AVAIL > CORPUS_BYTES * 3 )) || die "not enough free space in $DIR: $AVAIL bytes free, ~$((CORPUS_BYTES * 3)) needed"

# --- Ceph: daemons (CPU accounting) and free space on the OSD -----------------
CEPH_PIDS=()
for n in client.rgw.a osd.0 mon.a; do
  f=$RGW_BASE/run/$n.pid
  [[ -s $f ]] && CEPH_PIDS+=("$(<"$f")")
done
[[ ${#CEPH_PIDS[@]} == 3 ]] || log "warning: found only ${#CEPH_PIDS[@]} of 3 Ceph daemon PIDs in $RGW_BASE/run"
# Sum of utime+stime (clock ticks) of PIDS.
proc_ticks() {
  local s=0 p line
  for p in "$@"; do
    line=$(cat "/proc/$p/stat" 2>/dev/null) || continue
    line=${line##*) }
    # after "comm) ": field 3 is state; utime and stime are fields 14 and 15 of the full line
    read -r -a f <<< "$line"
    s=$(( s + f[11] + f[12] ))
  done
  echo "$s"
}
osd_free() {  # prints "free total" of the OSD's device in bytes, or nothing
  timeout 20 ceph --admin-daemon "$RGW_BASE/run/osd.0.asok" bluestore bluefs device info 2>/dev/null |
    "$PY" -c 'import json, sys; d = json.load(sys.stdin)["dev"]; print(d["free"], d["total"])' 2>/dev/null || true
}
# The OSD is a 10 GiB file shared with the test suites: refuse to fill it.
# A repository is ~0.42 x the corpus; keep 10% of the device free (the
# cluster stops all writes at 95%).
check_osd_space() {
  local ft free total need
  ft=$(osd_free)
  if [[ -z $ft ]]; then log "warning: cannot read the OSD's free space"; return 0; fi
  read -r free total <<< "$ft"
  need=$(( CORPUS_BYTES / 2 * $(wc -w <<< "$TOOLS") ))
  log "OSD: $((free >> 20)) MiB free of $((total >> 20)) MiB; this round needs ~$((need >> 20)) MiB"
  (( free - need > total / 10 )) || die "the OSD has $((free >> 20)) MiB free of $((total >> 20)) MiB; a round needs ~$((need >> 20)) MiB and 10% must stay free (delete old buckets, or use --quick)"
}

delete_bucket() {
  "${RGWADMIN[@]}" bucket rm --bucket="$1" --purge-objects --bypass-gc >> "$OUT/logs/bucket-rm.log" 2>&1 ||
    log "warning: could not delete bucket $1 (see $OUT/logs/bucket-rm.log): ${RGWADMIN[*]} bucket rm --bucket=$1 --purge-objects --bypass-gc"
}
bucket_stats() {  # BUCKET -> "bytes objects"
  "${RGWADMIN[@]}" bucket stats --bucket="$1" 2>/dev/null | "$PY" -c "$BUCKETSTATS_PY"
}

# --- machine -------------------------------------------------------------------
meta date "$(date -u '+%Y-%m-%d %H:%M UTC')"
meta command "$COMMAND"
meta mode "$([[ ${#QUICK[@]} -gt 0 ]] && echo quick || echo full)"
meta cpu "$(lscpu | sed -n 's/^Model name: *//p' | head -n1)"
meta cores "$(nproc) online ($(lscpu | sed -n 's/^Thread(s) per core: *//p') thread(s) per core)"
meta ram "$(free -b | awk '/^Mem:/ {printf "%.1f GiB", $2/2^30}')"
meta kernel "$(uname -sr)"
meta os "$(. /etc/os-release && echo "$PRETTY_NAME")"
meta fs "$(findmnt -no SOURCE,FSTYPE -T "$DIR" | tr -s ' ') at $(findmnt -no TARGET -T "$DIR")"
meta server "$(radosgw --version 2>/dev/null | head -n1 | sed 's/ceph version //'): radosgw (beast) + 1 BlueStore OSD on a sparse file + 1 mon, all on this machine ($RGW_BASE)"
meta endpoint "$S3_ENDPOINT"
if [[ $USE_PROXY == 1 ]]; then
  meta counting "tools talk to fault_proxy --rate 0 on 127.0.0.1:$PROXY_PORT (restarted for every step); RGW access log"
else
  meta counting "RGW access log only (--no-proxy)"
fi
meta proxy "$USE_PROXY"
OSD_FT=$(osd_free)
[[ -n $OSD_FT ]] && meta osd_free "$(awk '{printf "%.2f GB of %.2f GB", $1/1e9, $2/1e9}' <<< "$OSD_FT")"
meta load_start "$(cut -d' ' -f1-3 /proc/loadavg)"
meta busy_start "$(ps -eo pcpu=,comm= --sort=-pcpu | head -n5 | awk '{printf "%s%s %s%%", (NR>1?", ":""), $2, $1}')"
meta cache_mode "$([[ $CACHE_MODE == dropped ]] && echo "dropped before every step (the OSD's own cache is not)" || echo "warm: data pre-read before every step")"
meta corpus "$CORPUS"
meta corpus_bytes "$CORPUS_BYTES"
meta corpus_files "$CORPUS_FILES"
meta tools "$TOOLS"
meta rounds "$REPEAT"
for t in $TOOLS; do
  case $t in
    ward) meta version_ward "$("$WARD" --version 2>&1 | head -n1) ($WARD_SRC, sha256 $(sha256sum "$WARD" | cut -c1-12), git $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$ROOT" diff --quiet HEAD -- src 2>/dev/null || echo ', uncommitted changes in src/'))"
          meta flags_ward "${WARD_FLAGS:-none (default --s3-connections 8)}" ;;
    restic) meta version_restic "$(restic version 2>&1 | head -n1)"
            meta flags_restic "--compression auto, repository v2${RESTIC_FLAGS:+, $RESTIC_FLAGS} (default s3.connections 5)" ;;
  esac
done

# ============================================================================
# Measurement
# ============================================================================
start_proxy() {
  [[ $USE_PROXY == 1 ]] || return 0
  local base=$1 i
  "$PROXY" --upstream "$UP_HOST:$UP_PORT" --listen "127.0.0.1:$PROXY_PORT" --rate 0 \
    > "$base.proxy.out" 2> "$base.proxy.err" &
  PROXY_PID=$!
  for i in $(seq 1 100); do
    grep -q '^listening on' "$base.proxy.out" 2>/dev/null && return 0
    kill -0 "$PROXY_PID" 2>/dev/null || break
    sleep 0.05
  done
  cat "$base.proxy.err" >&2
  die "fault_proxy did not start on 127.0.0.1:$PROXY_PORT"
}
# stop_proxy BASE: stops the proxy; sets PREQ (requests it saw) and PCPU (its
# CPU seconds), "-" without a proxy.
stop_proxy() {
  PREQ=- PCPU=-
  [[ $USE_PROXY == 1 && -n $PROXY_PID ]] || return 0
  local ticks n
  ticks=$(proc_ticks "$PROXY_PID")
  kill -TERM "$PROXY_PID"
  wait "$PROXY_PID" || true
  PROXY_PID=
  n=$(sed -n 's/^fault_proxy: \([0-9]*\) requests.*/\1/p' "$1.proxy.err")
  PREQ=${n:--}
  PCPU=$(awk -v t="$ticks" -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.2f", t / hz}')
}

# timed TOOL STEP -- CMD...: drop caches, start the counting proxy, run CMD
# under /usr/bin/time, stop the proxy, count the step's requests in the RGW
# log; append one line to steps.tsv:
#   tool step wall rss_kib user sys load1 sync_after busy steal round server_cpu proxy_cpu proxy_requests
timed() {
  local tool=$1 step=$2
  shift 2
  [[ $1 == -- ]] && shift
  local base=$OUT/logs/$tool-r$ROUND-$step
  prepare_cache
  start_proxy "$base"
  local load t0 t1 rc=0 c0 c1 k0 k1 off
  load=$(cut -d' ' -f1 /proc/loadavg)
  log "$tool $step: $*"
  off=$(stat -c %s "$RGW_LOG")
  k0=$(proc_ticks "${CEPH_PIDS[@]}")
  c0=$(head -n1 /proc/stat)
  t0=$EPOCHREALTIME
  /usr/bin/time -f '%e %M %U %S' -o "$base.time" "$@" > "$base.out" 2> "$base.err" || rc=$?
  t1=$EPOCHREALTIME
  c1=$(head -n1 /proc/stat)
  k1=$(proc_ticks "${CEPH_PIDS[@]}")
  stop_proxy "$base"
  local preq=$PREQ pcpu=$PCPU
  if [[ $rc != 0 ]]; then
    echo "run-s3.sh: $tool $step failed with exit status $rc: $*" >&2
    echo "--- last lines of $base.err:" >&2
    tail -n 30 "$base.err" >&2
    exit 1
  fi
  local s0=$EPOCHREALTIME
  sync
  local s1=$EPOCHREALTIME
  local nreq
  nreq=$("$PY" -c "$RGWLOG_PY" "$RGW_LOG" "$off" "$BUCKET" "$([[ $preq == - ]] && echo 0 || echo "$preq")" \
           "$base.rgw.log" "$REQS" "$tool" "$step" "$ROUND")
  local wall rss user sys busy steal srv
  read -r _ rss user sys < <(tail -n1 "$base.time")
  wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", b - a}')
  read -r busy steal < <(awk -v hz="$(getconf CLK_TCK)" -v a="$c0" -v b="$c1" 'BEGIN {
    n = split(a, x, " "); split(b, y, " ")
    for (i = 2; i <= 8 && i <= n; i++) if (i != 5 && i != 6) busy += y[i] - x[i]
    printf "%.2f %.2f\n", busy / hz, (y[9] - x[9]) / hz }')
  srv=$(awk -v a="$k0" -v b="$k1" -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.2f", (b - a) / hz}')
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$tool" "$step" "$wall" "$rss" "$user" "$sys" "$load" \
    "$(awk -v a="$s0" -v b="$s1" 'BEGIN {printf "%.3f", b - a}')" "$busy" "$steal" "$ROUND" "$srv" "$pcpu" "$preq" >> "$RESULTS"
  log "$tool $step: ${wall}s, peak RSS ${rss} KiB, RGW+OSD CPU ${srv}s, $nreq requests in the RGW log$([[ $preq == - ]] || echo " (proxy: $preq)")"
  if [[ $preq != - && $preq != "$nreq" ]]; then
    log "warning: the proxy counted $preq requests, the RGW log shows $nreq for bucket $BUCKET"
  fi
}
record() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$ROUND" >> "$OUT/values.tsv"; }

reset_state() {
  rm -rf "$DATA" "$RESTORE" "$STATE"
}

# use_tool TOOL: the tool's bucket for this round, private cache/config dirs,
# and its commands in CMD_*.
use_tool() {
  local tool=$1
  BUCKET=wardbench-$BSTAMP-r$ROUND-$tool
  REPO=s3:http://127.0.0.1:$EP_PORT/$BUCKET/repo
  mkdir -p "$STATE/$tool/cache" "$STATE/$tool/config"
  export XDG_CACHE_HOME=$STATE/$tool/cache XDG_CONFIG_HOME=$STATE/$tool/config
  local -a wf rf
  read -r -a wf <<< "$WARD_FLAGS"
  read -r -a rf <<< "$RESTIC_FLAGS"
  case $tool in
    ward)
      CMD_INIT=("$WARD" "${wf[@]}" -r "$REPO" init)
      CMD_BACKUP=("$WARD" "${wf[@]}" -r "$REPO" backup --json "$DATA")
      CMD_RESTORE=("$WARD" "${wf[@]}" -r "$REPO" restore latest --target "$RESTORE")
      CMD_CHECK=("$WARD" "${wf[@]}" -r "$REPO" check --read-data) ;;
    restic)
      CMD_INIT=(restic "${rf[@]}" -r "$REPO" init --repository-version 2)
      CMD_BACKUP=(restic "${rf[@]}" -r "$REPO" backup --compression auto --json "$DATA")
      CMD_RESTORE=(restic "${rf[@]}" -r "$REPO" restore latest --target "$RESTORE")
      CMD_CHECK=(restic "${rf[@]}" -r "$REPO" check --read-data) ;;
  esac
}
export WARD_PASSWORD=bench-password RESTIC_PASSWORD=bench-password

do_backup() {  # TOOL STEP
  use_tool "$1"
  timed "$1" "$2" -- "${CMD_BACKUP[@]}"
  local size objs
  read -r size objs < <(bucket_stats "$BUCKET")
  record "$1" "repo-$2" "$size"
  record "$1" "objects-$2" "$objs"
  record "$1" "cache-$2" "$(du -sb "$STATE/$1" | cut -f1)"
}

do_restore() {  # TOOL
  local tool=$1
  use_tool "$tool"
  rm -rf "$RESTORE"
  mkdir -p "$RESTORE"
  timed "$tool" restore -- "${CMD_RESTORE[@]}"
  log "$tool: verifying the restored tree against $DATA"
  local got=$RESTORE$DATA
  [[ -d $got ]] || die "$tool restored nothing at $got"
  if ! "$PY" "$HERE/corpus.py" compare "$DATA" "$got" > "$OUT/logs/$tool-r$ROUND-verify.json"; then
    cat "$OUT/logs/$tool-r$ROUND-verify.json" >&2
    die "$tool: the restored files differ from the backed-up files"
  fi
  rm -rf "$RESTORE"
}

# One round, interleaved step by step as in bench/run.sh; fresh buckets.
run_round() {
  local -a order=($TOOLS)
  local k=$(( (ROUND - 1) % ${#order[@]} ))
  order=("${order[@]:k}" "${order[@]:0:k}")
  log "=== round $ROUND of $REPEAT (order: ${order[*]}): fresh copy of the corpus at $DATA"
  check_osd_space
  reset_state
  cp -a "$CORPUS" "$DATA"
  local t
  for t in "${order[@]}"; do
    use_tool "$t"
    BUCKETS+=("$BUCKET")
    timed "$t" init -- "${CMD_INIT[@]}"
  done
  for t in "${order[@]}"; do do_backup "$t" backup-initial; done
  for t in "${order[@]}"; do do_backup "$t" backup-unchanged; done
  log "applying the deterministic ~5% change to $DATA"
  "$PY" "$HERE/corpus.py" modify --dir "$DATA" > "$OUT/logs/r$ROUND-modify.json" || die "corpus.py modify failed"
  for t in "${order[@]}"; do do_backup "$t" backup-changed; done
  for t in "${order[@]}"; do do_restore "$t"; done
  for t in "${order[@]}"; do use_tool "$t"; timed "$t" check -- "${CMD_CHECK[@]}"; done
  if [[ $KEEP == 0 || $ROUND -lt $REPEAT ]]; then
    log "deleting the round's buckets: ${BUCKETS[*]}"
    cleanup_buckets
    reset_state
  else
    log "kept: buckets ${BUCKETS[*]} (delete: radosgw-admin -c $CEPH_CONF bucket rm --bucket=NAME --purge-objects --bypass-gc), data in $DATA"
    BUCKETS=()
  fi
}

for ((ROUND = 1; ROUND <= REPEAT; ROUND++)); do
  run_round
done

meta load_end "$(cut -d' ' -f1-3 /proc/loadavg)"
REPORT=$HERE/out/s3-$STAMP.md
"$PY" -c "$REPORT_PY" "$OUT" > "$REPORT" || die "the report failed (raw data in $OUT)"
cat "$REPORT"
log "report: $REPORT (raw data in $OUT/; regenerate with bench/run-s3.sh --report $OUT)"
