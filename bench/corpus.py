#!/usr/bin/python3
"""Deterministic corpus helpers for the ward benchmark (bench/run.sh).

Subcommands (all output is deterministic for the same inputs):
  select  --budget BYTES --out LIST ROOT...   pick system files to copy
  sql     --size BYTES --seed N --out FILE    generate a SQL dump
  modify  --dir DATA                          apply the ~5% change, print JSON
  manifest DIR                                print a content manifest of DIR
  compare  EXPECTED RESTORED                  compare two trees, print JSON

Uses only the Python standard library; run it with Debian's /usr/bin/python3.
"""

import argparse
import hashlib
import json
import os
import random
import stat
import sys

# ---------------------------------------------------------------------------
# select: a deterministic sample of real files from /usr/lib and /usr/share.
#
# Every regular file and symlink under the roots (same file system, no
# special files, no files with several hard links, no empty files) is ordered
# by SHA-256 of its path, which mixes small and large files of both trees.
# Regular files are taken in that order as long as they fit the budget;
# symlinks met before the budget is full come along. The result depends only
# on the set of installed files, not on directory order or locale.


def path_key(p):
    return hashlib.sha256(p.encode("utf-8", "surrogateescape")).digest()


def cmd_select(a):
    entries = []
    for root in a.roots:
        dev = os.lstat(root).st_dev
        for dirpath, dirnames, filenames in os.walk(root):
            keep = []
            for d in dirnames:
                p = os.path.join(dirpath, d)
                try:
                    st = os.lstat(p)
                except OSError:
                    continue
                if stat.S_ISDIR(st.st_mode) and st.st_dev == dev:
                    keep.append(d)
            dirnames[:] = keep
            for f in filenames:
                p = os.path.join(dirpath, f)
                try:
                    st = os.lstat(p)
                except OSError:
                    continue
                if stat.S_ISREG(st.st_mode):
                    if st.st_nlink != 1 or st.st_size == 0:
                        continue
                    if not os.access(p, os.R_OK):
                        continue
                    entries.append((path_key(p), p, st.st_size, False))
                elif stat.S_ISLNK(st.st_mode):
                    entries.append((path_key(p), p, 0, True))
                # sockets, fifos, devices: skipped
    entries.sort()
    total = 0
    chosen = []
    slack = min(1 << 20, a.budget // 1000)
    for _, p, size, is_link in entries:
        if total >= a.budget - slack:
            break
        if is_link:
            chosen.append(p)
            continue
        if size > a.max_file or total + size > a.budget:
            continue
        chosen.append(p)
        total += size
    chosen.sort()
    with open(a.out, "wb") as out:
        for p in chosen:
            # relative to / so that `cp --parents` recreates usr/lib/...
            out.write(p.lstrip("/").encode("utf-8", "surrogateescape") + b"\0")
    print(json.dumps({"files": len(chosen), "bytes": total}))


# ---------------------------------------------------------------------------
# sql: a mysqldump-like text dump with several tables and varied values.

FIRST = ("James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth "
         "William Barbara Richard Susan Joseph Jessica Thomas Sarah Charles Karen "
         "Christopher Lisa Daniel Nancy Matthew Betty Anthony Sandra Mark Margaret "
         "Amelie Lukas Sofia Mateo Yuki Hiroshi Chen Wei Aisha Omar Ingrid Lars "
         "Olga Dmitri Fatima Kwame Priya Arjun Lucia Diego").split()
LAST = ("Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez "
        "Hernandez Lopez Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin "
        "Lee Perez Thompson White Harris Sanchez Clark Ramirez Lewis Robinson Muller "
        "Schmidt Schneider Fischer Weber Meyer Wagner Becker Tanaka Suzuki Ivanov "
        "Kowalski Novak Rossi Russo Dubois Moreau Silva Santos Okafor").split()
CITY = ("Berlin Hamburg Munich Cologne Frankfurt Paris Lyon Madrid Barcelona Rome "
        "Milan Vienna Zurich Amsterdam Rotterdam Brussels Copenhagen Stockholm Oslo "
        "Helsinki Warsaw Prague Budapest Lisbon Dublin London Manchester Edinburgh "
        "Toronto Montreal Chicago Boston Seattle Austin Denver Tokyo Osaka Seoul "
        "Singapore Sydney Melbourne Auckland Nairobi Lagos Cairo").split()
DOMAIN = "example.com mail.example.org corp.example.net post.example.de inbox.example.fr".split()
STATUS = "pending paid shipped delivered cancelled refunded returned".split()
PRODUCT = ("widget gadget sprocket gizmo bracket flange gasket valve bearing spring "
           "cable adapter sensor module board panel filter pump motor switch").split()
ADJ = ("red blue green small large heavy light steel brass plastic premium basic "
       "compact industrial quiet fast waterproof portable modular spare").split()
EVENT = "login logout view_item add_to_cart checkout search review password_reset".split()
AGENT = ("Mozilla/5.0 (X11; Linux x86_64)", "Mozilla/5.0 (Windows NT 10.0; Win64; x64)",
         "Mozilla/5.0 (Macintosh; Intel Mac OS X 13_4)", "curl/7.88.1",
         "Mozilla/5.0 (iPhone; CPU iPhone OS 16_5 like Mac OS X)")
WORDS = ("the a quality good bad excellent arrived late on time broken works fine "
         "would buy again not as described great value poor packaging fast "
         "shipping support helpful slow refund exactly what I needed").split()


class SqlGen:
    """Rows are drawn from random.Random(seed) with random()/getrandbits() only,
    whose sequences are stable across Python versions."""

    def __init__(self, seed, first_id=1):
        self.r = random.Random(seed)
        self.next_id = {"customers": first_id, "orders": first_id, "events": first_id}

    def pick(self, seq):
        return seq[int(self.r.random() * len(seq))]

    def num(self, lo, hi):
        return lo + int(self.r.random() * (hi - lo + 1))

    def ts(self):
        return "2023-%02d-%02d %02d:%02d:%02d" % (
            self.num(1, 12), self.num(1, 28), self.num(0, 23), self.num(0, 59), self.num(0, 59))

    def customer(self, i):
        f, l = self.pick(FIRST), self.pick(LAST)
        return "(%d,'%s','%s','%s.%s%d@%s','%s','+49-%d-%07d','%s',%d)" % (
            i, f, l, f.lower(), l.lower(), self.num(1, 999), self.pick(DOMAIN),
            self.pick(CITY), self.num(30, 899), self.num(0, 9999999), self.ts(),
            self.num(0, 1))

    def order(self, i):
        qty = self.num(1, 20)
        price = self.num(99, 99999)
        return "(%d,%d,'%s %s %s-%d',%d,%d.%02d,%d.%02d,'%s','%s',%s)" % (
            i, self.num(1, 500000), self.pick(ADJ), self.pick(ADJ), self.pick(PRODUCT),
            self.num(100, 9999), qty, price // 100, price % 100,
            (qty * price) // 100, (qty * price) % 100, self.pick(STATUS), self.ts(),
            "NULL" if self.r.random() < 0.3 else "'" + self.ts() + "'")

    def event(self, i):
        kind = self.pick(EVENT)
        note = " ".join(self.pick(WORDS) for _ in range(self.num(0, 12)))
        return ("(%d,%d,'%s','%s','{\"session\":\"%016x\",\"ip\":\"10.%d.%d.%d\","
                "\"agent\":\"%s\",\"item\":%d,\"note\":\"%s\"}')") % (
            i, self.num(1, 500000), kind, self.ts(), self.r.getrandbits(64),
            self.num(0, 255), self.num(0, 255), self.num(1, 254), self.pick(AGENT),
            self.num(1, 99999), note)

    def chunk(self, table, rows):
        make = {"customers": self.customer, "orders": self.order, "events": self.event}[table]
        i = self.next_id[table]
        self.next_id[table] = i + rows
        vals = ",\n".join(make(i + k) for k in range(rows))
        return "INSERT INTO `%s` VALUES\n%s;\n" % (table, vals)

    def body(self, size):
        """About `size` bytes of INSERT statements (exactly `size` after trimming
        by the caller is not needed: the last statement is complete)."""
        out = []
        n = 0
        tables = ("customers", "orders", "orders", "events", "events", "events")
        while n < size:
            s = self.chunk(self.pick(tables), self.num(200, 600))
            out.append(s)
            n += len(s)
        return "".join(out)


HEADER = """-- MySQL dump 10.13  Distrib 8.0.33, for Linux (x86_64)
-- Host: db.internal    Database: shop
-- ------------------------------------------------------
SET NAMES utf8mb4;
SET FOREIGN_KEY_CHECKS=0;

CREATE TABLE `customers` (
  `id` bigint NOT NULL, `first_name` varchar(64), `last_name` varchar(64),
  `email` varchar(255), `city` varchar(64), `phone` varchar(32),
  `created_at` datetime, `newsletter` tinyint, PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE `orders` (
  `id` bigint NOT NULL, `customer_id` bigint, `item` varchar(255), `quantity` int,
  `unit_price` decimal(10,2), `total` decimal(12,2), `status` varchar(16),
  `created_at` datetime, `shipped_at` datetime, PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE `events` (
  `id` bigint NOT NULL, `customer_id` bigint, `kind` varchar(32),
  `at` datetime, `payload` json, PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

"""


def cmd_sql(a):
    g = SqlGen(a.seed)
    with open(a.out, "w", encoding="ascii", newline="\n") as f:
        f.write(HEADER)
        written = len(HEADER)
        step = 8 << 20
        while written < a.size:
            s = g.body(min(step, a.size - written))
            f.write(s)
            written += len(s)
        f.write("-- Dump completed\n")


# ---------------------------------------------------------------------------
# modify: the "~5% changed" step. Deterministic given the corpus:
#  * files/: files picked by SHA-256 of their relative path (each at most 1% of
#    the corpus) until they total FILES_FRACTION of the corpus are rewritten in
#    place with every byte XORed with 0x5A (new content, same size and the
#    same compressibility);
#  * incompressible.bin: 4 regions of 1/300 of its size are overwritten with
#    other pseudo-random bytes;
#  * dump.sql: the rows between 40% and 44% of the file are replaced by other
#    rows (an UPDATE-heavy day) and 3% of new rows are appended before the
#    trailer.
FILES_FRACTION = 0.036
XOR = bytes(b ^ 0x5A for b in range(256))


def tree_bytes(d):
    total = 0
    for dirpath, _, filenames in os.walk(d):
        for f in filenames:
            st = os.lstat(os.path.join(dirpath, f))
            if stat.S_ISREG(st.st_mode):
                total += st.st_size
    return total


def cmd_modify(a):
    d = a.dir
    total = tree_bytes(d)
    changed = 0       # bytes whose content changed (or were added)
    touched = 0       # bytes in files that changed (what a files cache must re-read)
    nfiles = 0

    cands = []
    fdir = os.path.join(d, "files")
    for dirpath, _, filenames in os.walk(fdir):
        for f in filenames:
            p = os.path.join(dirpath, f)
            st = os.lstat(p)
            if stat.S_ISREG(st.st_mode) and 0 < st.st_size <= total // 100:
                rel = os.path.relpath(p, d)
                cands.append((path_key(rel), p, st.st_size))
    cands.sort()
    want = int(total * FILES_FRACTION)
    done = 0
    for _, p, size in cands:
        if done >= want:
            break
        with open(p, "r+b") as f:
            data = f.read()
            f.seek(0)
            f.write(data.translate(XOR))
        done += size
        nfiles += 1
    changed += done
    touched += done

    inc = os.path.join(d, "incompressible.bin")
    size = os.path.getsize(inc)
    region = max(4096, size // 300)
    r = random.Random(4242)
    with open(inc, "r+b") as f:
        for k in range(4):
            off = (size * (2 * k + 1)) // 8
            f.seek(off)
            f.write(r.getrandbits(region * 8).to_bytes(region, "little"))
    changed += 4 * region
    touched += size
    nfiles += 1

    sql = os.path.join(d, "dump.sql")
    with open(sql, "r", encoding="ascii", newline="") as f:
        text = f.read()
    trailer = "-- Dump completed\n"
    assert text.endswith(trailer)
    body = text[: -len(trailer)]
    n = len(body)
    lo = body.index("INSERT INTO", int(n * 0.40))
    hi = body.index("INSERT INTO", int(n * 0.44))
    g = SqlGen(99, first_id=10_000_000)
    mid = g.body(hi - lo)
    extra = g.body(int(n * 0.03))
    new = body[:lo] + mid + body[hi:] + extra + trailer
    with open(sql, "w", encoding="ascii", newline="\n") as f:
        f.write(new)
    changed += len(mid) + len(extra)
    touched += len(new)
    nfiles += 1

    print(json.dumps({"corpus_bytes_before": total, "changed_bytes": changed,
                      "changed_fraction": round(changed / total, 4),
                      "touched_bytes": touched, "touched_files": nfiles,
                      "corpus_bytes_after": tree_bytes(d)}))


# ---------------------------------------------------------------------------
# manifest / compare


def file_sha(p):
    h = hashlib.sha256()
    with open(p, "rb") as f:
        while True:
            b = f.read(1 << 20)
            if not b:
                break
            h.update(b)
    return h.hexdigest()


def walk_tree(root):
    """Yield (relpath, lstat) for everything under root, sorted, root excluded."""
    stack = [""]
    while stack:
        rel = stack.pop()
        base = os.path.join(root, rel) if rel else root
        names = sorted(os.listdir(base), reverse=True)
        for n in names:
            r = os.path.join(rel, n) if rel else n
            st = os.lstat(os.path.join(root, r))
            yield r, st
            if stat.S_ISDIR(st.st_mode):
                stack.append(r)


def cmd_manifest(a):
    lines = []
    for rel, st in walk_tree(a.dir):
        p = os.path.join(a.dir, rel)
        mode = "%o" % stat.S_IMODE(st.st_mode)
        if stat.S_ISREG(st.st_mode):
            lines.append("f %s %d %s %s" % (mode, st.st_size, file_sha(p), rel))
        elif stat.S_ISLNK(st.st_mode):
            lines.append("l - - %s %s" % (os.readlink(p), rel))
        elif stat.S_ISDIR(st.st_mode):
            lines.append("d %s - - %s" % (mode, rel))
        else:
            lines.append("x - - - %s" % rel)
    lines.sort(key=lambda s: s.split(" ", 4)[4])
    sys.stdout.write("\n".join(lines) + "\n")


def cmd_compare(a):
    """Content, type, symlink target and file size must match (errors); mode,
    owner and mtime (whole seconds) of files are counted as metadata
    differences."""
    exp, got = a.expected, a.restored
    errors = []
    meta = {"mode": 0, "owner": 0, "mtime": 0}
    seen = 0
    nbytes = 0
    for rel, st in walk_tree(exp):
        seen += 1
        q = os.path.join(got, rel)
        try:
            gt = os.lstat(q)
        except OSError:
            errors.append("missing: " + rel)
            continue
        if stat.S_IFMT(st.st_mode) != stat.S_IFMT(gt.st_mode):
            errors.append("type differs: " + rel)
            continue
        if stat.S_ISLNK(st.st_mode):
            if os.readlink(os.path.join(exp, rel)) != os.readlink(q):
                errors.append("symlink target differs: " + rel)
            continue
        if stat.S_IMODE(st.st_mode) != stat.S_IMODE(gt.st_mode):
            meta["mode"] += 1
        if (st.st_uid, st.st_gid) != (gt.st_uid, gt.st_gid):
            meta["owner"] += 1
        if stat.S_ISREG(st.st_mode):
            if int(st.st_mtime) != int(gt.st_mtime):
                meta["mtime"] += 1
            if st.st_size != gt.st_size:
                errors.append("size differs: " + rel)
            elif file_sha(os.path.join(exp, rel)) != file_sha(q):
                errors.append("content differs: " + rel)
            nbytes += st.st_size
    extra = 0
    for rel, _ in walk_tree(got):
        if not os.path.lexists(os.path.join(exp, rel)):
            extra += 1
            if extra <= 5:
                errors.append("unexpected: " + rel)
    print(json.dumps({"entries": seen, "bytes": nbytes, "errors": len(errors),
                      "first_errors": errors[:10], "extra": extra, "metadata_diffs": meta}))
    return 1 if errors else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("select")
    s.add_argument("--budget", type=int, required=True)
    s.add_argument("--max-file", type=int, default=1 << 62)
    s.add_argument("--out", required=True)
    s.add_argument("roots", nargs="+")
    s = sub.add_parser("sql")
    s.add_argument("--size", type=int, required=True)
    s.add_argument("--seed", type=int, default=1)
    s.add_argument("--out", required=True)
    s = sub.add_parser("modify")
    s.add_argument("--dir", required=True)
    s = sub.add_parser("manifest")
    s.add_argument("dir")
    s = sub.add_parser("compare")
    s.add_argument("expected")
    s.add_argument("restored")
    a = ap.parse_args()
    return {"select": cmd_select, "sql": cmd_sql, "modify": cmd_modify,
            "manifest": cmd_manifest, "compare": cmd_compare}[a.cmd](a) or 0


if __name__ == "__main__":
    sys.exit(main())
