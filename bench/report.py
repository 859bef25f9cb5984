#!/usr/bin/python3
"""Turn the raw output of bench/run.sh (a results directory) into Markdown.

    bench/report.py bench/out/results-<date>   > report.md
"""

import json
import os
import sys

MB = 1e6          # throughput in MB/s = 10^6 bytes per second
MiB = float(1 << 20)

STEPS = [
    ("backup-initial", "1. Initial backup"),
    ("backup-unchanged", "2. Unchanged re-backup"),
    ("backup-changed", "3. Backup after the ~5% change"),
    ("restore", "4. Full restore into an empty directory"),
    ("check", "5. Check, reading all data"),
]
CHECK_CMD = {"ward": "ward check --read-data", "restic": "restic check --read-data",
             "borg": "borg check --verify-data"}


def median(xs):
    xs = sorted(xs)
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


def load(d):
    """meta, steps[(tool, step)], values[(tool, key)]; with several rounds each
    number is the median over the rounds, and steps carry the wall-time range."""
    meta = {}
    with open(os.path.join(d, "meta.tsv")) as f:
        for line in f:
            k, _, v = line.rstrip("\n").partition("\t")
            meta[k] = v
    raw = {}
    with open(os.path.join(d, "steps.tsv")) as f:
        for line in f:
            f_ = line.rstrip("\n").split("\t")
            tool, step, wall, rss, user, sys_, load1, sync = f_[:8]
            s = {"wall": float(wall), "rss": int(rss) * 1024,
                 "cpu": float(user) + float(sys_), "load": float(load1), "sync": float(sync)}
            if len(f_) >= 10:
                # cores' worth of CPU that other processes used during the step
                s["others"] = max(0.0, float(f_[8]) - s["cpu"]) / max(s["wall"], 1e-3)
                s["steal"] = float(f_[9])
            raw.setdefault((tool, step), []).append(s)
    steps = {}
    for k, rounds in raw.items():
        s = {m: median([x[m] for x in rounds]) for m in rounds[0]}
        s["n"] = len(rounds)
        s["wall_min"] = min(x["wall"] for x in rounds)
        s["wall_max"] = max(x["wall"] for x in rounds)
        s["rss_max"] = max(x["rss"] for x in rounds)
        steps[k] = s
    vals = {}
    with open(os.path.join(d, "values.tsv")) as f:
        for line in f:
            tool, key, v = line.rstrip("\n").split("\t")[:3]
            vals.setdefault((tool, key), []).append(int(v))
    values = {k: int(median(v)) for k, v in vals.items()}
    return meta, steps, values


def read_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def summary(d, tool, step):
    """data added (bytes stored, after compression) and files seen, from the
    tool's own JSON output of a backup step."""
    path = os.path.join(d, "logs", "%s-r1-%s.out" % (tool, step))
    try:
        text = open(path).read()
    except OSError:
        return {}
    if tool == "borg":
        try:
            st = json.loads(text)["archive"]["stats"]
            return {"added": st["deduplicated_size"], "processed": st["original_size"],
                    "files": "%s files" % st["nfiles"]}
        except (ValueError, KeyError):
            return {}
    for line in reversed(text.splitlines()):
        try:
            j = json.loads(line)
        except ValueError:
            continue
        if j.get("message_type") == "summary":
            r = {"added": j.get("data_added"), "processed": j.get("total_bytes_processed")}
            if "files_new" in j:
                r["files"] = "%s new, %s changed, %s unmodified" % (
                    j.get("files_new"), j.get("files_changed"), j.get("files_unmodified"))
            return r
    return {}


def fmt(x, nd=1):
    if x is None:
        return "–"
    return "{:,.{}f}".format(x, nd)


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def fmt_ratio(r):
    return "–" if r is None else "%.2f×" % r


def main():
    d = sys.argv[1]
    meta, steps, values = load(d)
    tools = meta["tools"].split()
    corpus = int(meta["corpus_bytes"])
    modify = None
    verify = {}
    for t in tools:
        modify = modify or read_json(os.path.join(d, "logs", "r1-modify.json"))
        verify[t] = read_json(os.path.join(d, "logs", t + "-r1-verify.json"))
    after = modify["corpus_bytes_after"] if modify else corpus
    touched = modify["touched_bytes"] if modify else None

    # bytes each step's throughput is computed from
    base = {"backup-initial": corpus, "backup-unchanged": corpus,
            "backup-changed": touched, "restore": after, "check": after}

    o = []
    p = o.append
    p("# ward benchmark: ward vs restic vs borg (%s corpus)" % meta["mode"])
    p("")
    rounds = int(meta.get("rounds", "1"))
    p("Run %s, `bench/run.sh%s%s`." % (meta["date"], " --quick" if meta["mode"] == "quick" else "",
                                       " --repeat %d" % rounds if rounds > 1 else ""))
    if rounds > 1:
        p("")
        p("%d rounds, each on a fresh copy of the corpus with fresh repositories; the tools' "
          "order rotates from round to round. Every number is the median over the rounds; "
          "wall times show (min–max)." % rounds)
    p("")
    p("## Machine")
    p("")
    p("| | |")
    p("|---|---|")
    for k, label in (("cpu", "CPU"), ("cores", "Cores"), ("ram", "RAM"), ("kernel", "Kernel"),
                     ("os", "OS"), ("fs", "File system of the work dir"), ("disk", "Disk"),
                     ("version_ward", "ward"), ("version_restic", "restic"),
                     ("version_borg", "borg"), ("load_start", "Load average at start"),
                     ("busy_start", "Busiest processes at start (%CPU)"),
                     ("load_end", "Load average at end")):
        if k in meta:
            p("| %s | %s |" % (label, meta[k].replace("|", "/")))
    p("")
    if meta.get("cache_mode") == "dropped":
        p("Page cache: dropped (`sync; echo 3 > /proc/sys/vm/drop_caches`) before every timed "
          "step, so every step starts with a cold cache for every tool.")
    else:
        p("Page cache: could NOT be dropped here; before every timed step the data and the "
          "repository were read once, so every tool starts with a warm cache.")
    p("")
    p("## Corpus")
    p("")
    p("%s: %s files, %s bytes (%.2f GiB) of regular files: %s." % (
        meta["corpus"], meta["corpus_files"], format(corpus, ","), corpus / 2**30,
        meta.get("corpus_parts", "").strip()))
    if modify:
        p("")
        p("The ~5%% change (`corpus.py modify`, deterministic) changed or added %s bytes "
          "(%.1f%% of the corpus) in %d files holding %s bytes; the corpus then has %s bytes. "
          "Step 3's MB/s is those %s bytes in changed files per second." % (
              format(modify["changed_bytes"], ","), 100 * modify["changed_fraction"],
              modify["touched_files"], format(modify["touched_bytes"], ","),
              format(modify["corpus_bytes_after"], ","), format(modify["touched_bytes"], ",")))
    p("")
    p("MB/s = 10^6 bytes per second of wall time; sizes in MiB (2^20 bytes). Wall time is "
      "the command alone; *sync after* is the time the following `sync` took (dirty pages "
      "the tool left behind). CPU = user + system time. Peak RSS from `/usr/bin/time -f %%M`. "
      "*Others' CPU* = CPU time used by all other processes during the step (from "
      "/proc/stat, minus the tool's own), in cores, of %s: the contention the tool saw. "
      "Load = 1-minute load average just before the step. *Local cache* = what the tool "
      "keeps outside the repository (its private XDG cache and config dirs, `du -sb`)." % meta.get("cores", "?").split(" ")[0])
    p("")

    init_line = []
    for t in tools:
        s = steps.get((t, "init"))
        if s:
            init_line.append("%s %.2f s / %s MiB RSS" % (t, s["wall"], fmt(s["rss"] / MiB, 0)))
    p("`init` (not a compared step): " + "; ".join(init_line) + ".")
    p("")

    for step, title in STEPS:
        p("### " + title)
        p("")
        if step == "check":
            p("(" + ", ".join("`%s`" % CHECK_CMD[t] for t in tools) +
              "; MB/s counts corpus bytes, *repo MB/s* the repository's bytes.)")
            p("")
        backup = step.startswith("backup")
        cols = ["tool", "wall s", "MB/s", "CPU s", "peak RSS MiB"]
        if backup:
            cols += ["repo MiB", "repo growth MiB", "local cache MiB", "tool's own counts"]
        if step == "restore":
            cols += ["sync after s", "restored files verified"]
        if step == "check":
            cols += ["repo MB/s"]
        cols += ["others' CPU (cores)", "load"]
        p("| " + " | ".join(cols) + " |")
        p("|" + "---|" * len(cols))
        for t in tools:
            s = steps.get((t, step))
            if not s:
                continue
            b = base[step]
            wall = fmt(s["wall"], 2)
            if s["n"] > 1:
                wall += " (%s–%s)" % (fmt(s["wall_min"], 2), fmt(s["wall_max"], 2))
            row = [t, wall, fmt(b / MB / s["wall"] if b else None, 1),
                   fmt(s["cpu"], 1), fmt(s["rss"] / MiB, 0)]
            if backup:
                repo = values.get((t, "repo-" + step))
                prev = {"backup-initial": None, "backup-unchanged": "backup-initial",
                        "backup-changed": "backup-unchanged"}[step]
                before = values.get((t, "repo-" + prev), 0) if prev else 0
                cache = values.get((t, "cache-" + step))
                sm = summary(d, t, step)
                own = sm.get("files", "")
                if sm.get("processed") is not None:
                    own = ("%s MiB processed" % fmt(sm["processed"] / MiB, 0)) + (
                        "; " + own if own else "")
                row += [fmt(repo / MiB if repo else None, 1),
                        fmt((repo - before) / MiB if repo else None, 1),
                        fmt(cache / MiB if cache is not None else None, 1), own or "–"]
            if step == "restore":
                v = verify.get(t)
                vs = "–"
                if v:
                    md = v["metadata_diffs"]
                    vs = "%d entries OK" % v["entries"] if v["errors"] == 0 else \
                        "%d ERRORS" % v["errors"]
                    diffs = ", ".join("%d %s" % (n, k) for k, n in md.items() if n)
                    if diffs:
                        vs += " (metadata differs: %s)" % diffs
                row += [fmt(s["sync"], 2), vs]
            if step == "check":
                repo = values.get((t, "repo-backup-changed"))
                row += [fmt(repo / MB / s["wall"] if repo else None, 1)]
            row += [fmt(s.get("others"), 2), fmt(s["load"], 2)]
            p("| " + " | ".join(row) + " |")
        p("")

    # --- ratios ---------------------------------------------------------------
    others = [t for t in ("restic", "borg") if t in tools]
    if "ward" in tools and others:
        p("## Ratios")
        p("")
        p("Time and RSS and size: below 1 means ward is faster/smaller. Throughput: above 1 "
          "means ward is faster.")
        p("")
        cols = ["step", "metric"] + ["ward/" + t for t in others]
        p("| " + " | ".join(cols) + " |")
        p("|" + "---|" * len(cols))
        for step, title in STEPS:
            w = steps.get(("ward", step))
            if not w:
                continue
            metrics = [("time", lambda s: s["wall"]),
                       ("throughput", lambda s: 1 / s["wall"]),
                       ("CPU time", lambda s: s["cpu"]),
                       ("peak RSS", lambda s: s["rss"])]
            for name, fn in metrics:
                row = [title.split(" ", 1)[1], name]
                for t in others:
                    s = steps.get((t, step))
                    row.append(fmt_ratio(ratio(fn(w), fn(s)) if s else None))
                p("| " + " | ".join(row) + " |")
            if step.startswith("backup"):
                row = [title.split(" ", 1)[1], "repository size"]
                for t in others:
                    row.append(fmt_ratio(ratio(values.get(("ward", "repo-" + step)),
                                               values.get((t, "repo-" + step)))))
                p("| " + " | ".join(row) + " |")
        p("")

    # --- targets --------------------------------------------------------------
    if "ward" in tools and "restic" in tools:
        p("## Targets (from the issue, against restic)")
        p("")
        best = rounds > 1
        if best:
            p("| target | measured (medians) | required | result | margin | best of %d |" % rounds)
            p("|---|---|---|---|---|---|")
        else:
            p("| target | measured | required | result | margin |")
            p("|---|---|---|---|---|")

        def at_least(name, measured, need, best_ratio=None, unit="×"):
            extra = (" %.2f%s (%s) |" % (best_ratio, unit, "PASS" if best_ratio >= need else "MISS")
                     if best and best_ratio is not None else (" |" if best else ""))
            if measured is None:
                p("| %s | – | ≥ %.2f%s | not measured | |%s" % (name, need, unit, extra))
                return
            ok = measured >= need
            p("| %s | %.2f%s | ≥ %.2f%s | %s | %+.0f%% |%s" % (
                name, measured, unit, need, unit, "PASS" if ok else "MISS",
                100 * (measured / need - 1), extra))

        def at_most(name, measured, limit, detail=""):
            extra = " |" if best else ""
            if measured is None:
                p("| %s | – | ≤ %.2f× | not measured | |%s" % (name, limit, extra))
                return
            ok = measured <= limit
            p("| %s | %.2f×%s | ≤ %.2f× | %s | %+.0f%% |%s" % (
                name, measured, detail, limit, "PASS" if ok else "MISS",
                100 * (1 - measured / limit), extra))

        def fastest(w, r):
            return ratio(r["wall_min"], w["wall_min"]) if w and r else None

        def st(t, s):
            return steps.get((t, s))

        w, r = st("ward", "backup-initial"), st("restic", "backup-initial")
        at_least("initial backup throughput ≥ 2× restic's",
                 ratio(r["wall"], w["wall"]) if w and r else None, 2.0, fastest(w, r))
        w, r = st("ward", "backup-unchanged"), st("restic", "backup-unchanged")
        at_least("unchanged re-backup ≥ 2× faster than restic",
                 ratio(r["wall"], w["wall"]) if w and r else None, 2.0, fastest(w, r))
        w, r = st("ward", "restore"), st("restic", "restore")
        at_least("restore throughput ≥ 2× restic's",
                 ratio(r["wall"], w["wall"]) if w and r else None, 2.0, fastest(w, r))
        # RSS: the peak over the five compared steps, each tool's own peak.
        names = [s for s, _ in STEPS]
        wr = [(steps[("ward", s)]["rss"], s) for s in names if ("ward", s) in steps]
        rr = [(steps[("restic", s)]["rss"], s) for s in names if ("restic", s) in steps]
        if wr and rr:
            wmax, rmax = max(wr), max(rr)
            worse = ["%s (+%s MiB)" % (s, fmt((steps[("ward", s)]["rss"] -
                                               steps[("restic", s)]["rss"]) / MiB, 1))
                     for s in names if ("ward", s) in steps and ("restic", s) in steps
                     and steps[("ward", s)]["rss"] > steps[("restic", s)]["rss"]]
            at_most("ward peak RSS ≤ restic's (max over the 5 steps)", wmax[0] / rmax[0], 1.0,
                    " (%s vs %s MiB; ward above restic in: %s)" % (
                        fmt(wmax[0] / MiB, 0), fmt(rmax[0] / MiB, 0),
                        ", ".join(worse) if worse else "no step"))
        for s in ("backup-initial", "backup-unchanged", "backup-changed"):
            at_most("ward repository ≤ 1.02 × restic's (after %s)" % s,
                    ratio(values.get(("ward", "repo-" + s)), values.get(("restic", "repo-" + s))),
                    1.02)
        p("")
        p("Margin: how far above (+) or below (−) the required value the measurement is, "
          "relative to the requirement." + (
              " *Best of %d*: the same ratio from each tool's fastest round — the least "
              "disturbed by other processes." % rounds if best else ""))
        p("")

    p("## Caveats")
    p("")
    others_cpu = [s["others"] for s in steps.values() if "others" in s]
    busy = ""
    if others_cpu:
        busy = (" Other processes used %.2f–%.2f cores (median %.2f) of the %s during the "
                "timed steps (column *others' CPU*)." % (
                    min(others_cpu), max(others_cpu), median(others_cpu),
                    meta.get("cores", "?").split(" ")[0]))
    p("- All tools back up the same copy of the corpus, interleaved step by step (step 1 "
      "for %s, then step 2 for each, ...), so the same step of different tools runs "
      "minutes apart at most; every step starts after a sync (and a cache drop, if "
      "possible)." % ", ".join(tools))
    p("- " + ("%d rounds." % rounds if rounds > 1 else "One round (`--repeat N` gives medians "
                                                       "and ranges).") + busy +
      " Wall times are noisy when that is well above 0; CPU times are less affected by "
      "contention.")
    p("- ward and restic are multi-threaded, borg 1.2 is not: CPU contention costs the "
      "multi-threaded tools more.")
    p("- Chunk boundaries depend on a per-repository secret (ward's and restic's chunker "
      "parameters and borg's chunker seed are chosen at init), so how much of a partly "
      "changed file deduplicates — the repository growth in step 3 — varies from one "
      "repository to the next by a few chunks (~1 MiB each for ward and restic, ~2 MiB for borg).")
    p("- Restore is timed until the tool exits; write-back of restored data the kernel "
      "still held in its cache is in *sync after*, not in the wall time.")
    p("")
    sys.stdout.write("\n".join(o))


if __name__ == "__main__":
    main()
