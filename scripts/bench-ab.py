#!/usr/bin/env python3
"""A/B of two builds of Accord on one machine, in alternation (issue 15: "the commit before and
the commit after, benchmarked in alternation, three runs each").

    scripts/bench-ab BEFORE_DIR AFTER_DIR [--rounds 3] [--seconds 5]

Each DIR is a checkout with `target/release/accord` built (the floor is this checkout's). The
databases are seeded once, by AFTER, and shared: the two builds must have the same migrations.
Each round runs both sides, the order swapped every round (A B, B A, A B): the floor, every page
of the large profile's heavy relationship on SQLite and on PostgreSQL, then the 1,000,000-value
import, `audit verify` of a 1,000,000-event export and one sweep, each on a fresh copy of its
fixture. Prints, per page and backend, the median share of the floor on each side and the
difference in points, and each batch job's median and its change; writes
target/bench-ab/results.json.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402

OUT = bench.ROOT / "target/bench-ab"
bench.WORK = OUT / "work"
bench.OUT = OUT


def use(side):
    bench.ACCORD = side / "target/release/accord"


def copy_db(name, copy):
    for suffix in ("", "-wal", "-shm"):
        source = bench.WORK / f"{name}{suffix}"
        target = bench.WORK / f"{copy}{suffix}"
        target.unlink(missing_ok=True)
        if source.exists():
            shutil.copyfile(source, target)
    return f"sqlite://{bench.WORK / copy}"


def prepare(pg, quick):
    """Seeds the page databases and the batch fixtures once (with the current build)."""
    shutil.rmtree(bench.WORK, ignore_errors=True)
    bench.WORK.mkdir(parents=True)
    profile, small = ("small", "-small") if quick else ("large", "")
    bench.bench_backend("sqlite", f"sqlite://{bench.WORK / 'accord.db'}", profile, 1)
    bench.bench_backend("postgres", pg, profile, 1)
    csv = str(bench.WORK / "measurements.csv")
    out, _ = bench.accord(bench.fresh("import.db"), "seed", "--profile", f"import{small}", "--out", csv)
    fixtures = {"import": json.loads(out), "profile": profile}
    events = str(50_000 if quick else 1_000_000)
    subprocess.run([str(bench.ACCORD), "seed", "--audit-events", events, "--out", str(bench.WORK / "audit.jsonl")], check=True)
    bench.accord(bench.fresh("sweep.db"), "seed", "--profile", f"sweep{small}")
    return fixtures


def run(pg, fixtures, seconds):
    result = {"floor": bench.floor(seconds)}
    for backend, database in (("sqlite", f"sqlite://{bench.WORK / 'accord.db'}"), ("postgres", pg)):
        pages = bench.bench_backend(backend, database, fixtures["profile"], seconds, reuse=True)
        result[backend] = {r["key"]: r["rps"] / result["floor"]["rps"] for r in pages["endpoints"]}
        result[backend + "_p99"] = {r["key"]: r["p99_ms"] for r in pages["endpoints"]}
    database = copy_db("import.db", "import-run.db")
    _, result["import_s"] = bench.accord(
        database, "import", "measurements", "--relationship", fixtures["import"]["relationship"], str(bench.WORK / "measurements.csv")
    )
    started = time.monotonic()
    subprocess.run([str(bench.ACCORD), "audit", "verify", "--file", str(bench.WORK / "audit.jsonl")], check=True, stdout=subprocess.DEVNULL)
    result["verify_s"] = time.monotonic() - started
    out, _ = bench.accord(copy_db("sweep.db", "sweep-run.db"), "seed", "--time-sweep")
    result["sweep_s"] = json.loads(out)["seconds"]
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="the small profile and fixtures (to try the script)")
    args = parser.parse_args()
    sides = {"before": args.before.resolve(), "after": args.after.resolve()}
    for name, side in sides.items():
        if not (side / "target/release/accord").exists():
            raise SystemExit(f"{side}/target/release/accord is missing: build the {name} side with cargo build --release -p accord")
    pg_url = os.environ.get("PG_URL")
    if not pg_url:
        raise SystemExit("PG_URL is not set: run scripts/bench-ab, which starts PostgreSQL")
    subprocess.run(
        [bench.psql(), pg_url, "-qc", "DROP DATABASE IF EXISTS accord_bench", "-c", "CREATE DATABASE accord_bench"],
        check=True,
        env={**os.environ, "PGOPTIONS": "-c client_min_messages=warning"},
    )
    pg = os.environ.get("PG_SOCKET_URL", pg_url).rsplit("/", 1)[0] + "/accord_bench"
    use(sides["after"])
    fixtures = prepare(pg, args.quick)
    runs = {"before": [], "after": []}
    for round_ in range(args.rounds):
        order = ["before", "after"] if round_ % 2 == 0 else ["after", "before"]
        for name in order:
            bench.say(f"==> round {round_ + 1}: {name} ({sides[name]})")
            use(sides[name])
            runs[name].append(run(pg, fixtures, args.seconds))
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "results.json").write_text(json.dumps({"sides": {k: str(v) for k, v in sides.items()}, "runs": runs}, indent=2) + "\n")
    print(table(runs))


def table(runs):
    lines = ["| backend | page | before (median share) | after | change (points) | after p99 (max) |", "|---|---|---|---|---|---|"]
    for backend in ("sqlite", "postgres"):
        for key in runs["after"][0][backend]:
            b = statistics.median(r[backend][key] for r in runs["before"])
            a = statistics.median(r[backend][key] for r in runs["after"])
            p99 = max(r[backend + "_p99"][key] for r in runs["after"])
            lines.append(f"| {backend} | {key} | {b:.1%} | {a:.1%} | {(a - b) * 100:+.1f} | {p99:.2f} ms |")
    lines += ["", "| job | before (median) | after | change |", "|---|---|---|---|"]
    for key, label in (("import_s", "import of 1,000,000 values"), ("verify_s", "audit verify, 1,000,000 events"), ("sweep_s", "sweep")):
        b = statistics.median(r[key] for r in runs["before"])
        a = statistics.median(r[key] for r in runs["after"])
        lines.append(f"| {label} | {b:.2f} s | {a:.2f} s | {(a / b - 1):+.1%} |")
    floors = ", ".join(f"{r['floor']['rps']:,.0f}" for side in ("before", "after") for r in runs[side])
    lines.append(f"\nfloor req/s in the runs (before…, after…): {floors}")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
