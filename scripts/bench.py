#!/usr/bin/env python3
"""The driver of scripts/bench: run that script instead (it builds, installs wrk and starts a
throwaway PostgreSQL, whose URL arrives here as PG_URL).

Everything runs on this machine, one thing at a time: the floor first, then Accord on SQLite, then
on PostgreSQL, then the batch timings. Absolute figures drift on a shared machine; the share of
the floor's requests/s, measured minutes earlier in the same run, drifts much less.
"""

import argparse
import datetime
import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ACCORD = ROOT / "target/release/accord"
FLOOR = ROOT / "target/release/accord-bench-floor"
OUT = ROOT / "target/bench"
WORK = OUT / "work"

# Targets of issue 6, on this 2-core machine.
P99_SQLITE_MS = 10.0
P99_POSTGRES_MS = 20.0
RSS_MIB = 64.0
# The site administrator the harness adds for the administration pages.
ADMIN = "bench-admin@accord.example"
SHARE = {"issues": 0.40, "issue": 0.40, "home": 0.25, "scorecard": 0.25, "ladder": 0.25, "oversight": 0.25}
DEEP_WITHIN = 0.20
SEED_LARGE_S = 120.0
IMPORT_1M_S = 10.0
VERIFY_1M_S = 3.0
SWEEP_100K_S = 1.0
COLD_START_MS = 300.0


def say(text):
    print(text, file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def accord(database, *args, check=True, stdin=None):
    """Runs the accord command (with `stdin` as its input, if given); returns (stdout, seconds)."""
    started = time.monotonic()
    done = subprocess.run(
        [str(ACCORD), "--database", database, *args],
        input=stdin,
        stdout=subprocess.PIPE,
        stderr=None,  # progress bars go straight to the terminal
        text=True,
        env={**os.environ, "ACCORD_LOG": "warn"},
    )
    took = time.monotonic() - started
    if check and done.returncode != 0:
        raise SystemExit(f"accord {' '.join(args)} failed (exit {done.returncode})")
    return done.stdout, took


def request(port, method, path, headers=None, body=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request(method, path, body=body, headers=headers or {})
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response.status, response.getheaders(), data


def cookie_from(headers, name):
    for key, value in headers:
        if key.lower() == "set-cookie" and value.startswith(name + "="):
            return value.split(";", 1)[0].split("=", 1)[1]
    return None


def sign_in(port, email, password):
    """GET /login for the CSRF cookie, POST the form; returns the Cookie header of the session."""
    status, headers, _ = request(port, "GET", "/login")
    csrf = cookie_from(headers, "accord_csrf")
    if status != 200 or not csrf:
        raise SystemExit(f"GET /login answered {status} without a CSRF cookie")
    form = urllib.parse.urlencode({"csrf": csrf, "email": email, "password": password, "next": ""})
    status, headers, body = request(
        port,
        "POST",
        "/login",
        {"Content-Type": "application/x-www-form-urlencoded", "Cookie": f"accord_csrf={csrf}"},
        form,
    )
    session = cookie_from(headers, "accord_session")
    if not session:
        raise SystemExit(f"sign-in as {email} failed: {status} {body[:200]!r}")
    return f"accord_session={session}; accord_csrf={csrf}"


def wait_healthy(port, process, timeout=120.0):
    """Seconds until /healthz answers 200 (polled every millisecond)."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if process.poll() is not None:
            raise SystemExit(f"the server exited with {process.returncode} before it was ready")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                if s.recv(64).startswith(b"HTTP/1.1 200"):
                    return time.monotonic() - started
        except OSError:
            pass
        time.sleep(0.001)
    raise SystemExit("the server did not become ready")


class Server:
    """`accord serve` (release, loopback, no sweeps); `cold_start` is spawn to /healthz 200."""

    def __init__(self, database, log):
        self.port = free_port()
        self.log = open(log, "w")
        started = time.monotonic()
        self.process = subprocess.Popen(
            [str(ACCORD), "--database", database, "serve", "--addr", f"127.0.0.1:{self.port}", "--sweep-interval", "0"],
            stdout=subprocess.DEVNULL,
            stderr=self.log,
            env={**os.environ, "ACCORD_LOG": "warn"},
        )
        wait_healthy(self.port, self.process)
        self.cold_start = time.monotonic() - started

    def watch_memory(self):
        """Samples the server's memory every 50 ms from now on (VmHWM alone cannot tell the
        server's own memory from database pages it maps: SQLite maps the file, once per connection)."""
        self.peak = {"rss": 0, "anon": 0, "file": 0}
        self.watching = True

        def sample():
            while self.watching and self.process.poll() is None:
                try:
                    status = Path(f"/proc/{self.process.pid}/status").read_text()
                except OSError:
                    break
                for key, field in (("rss", "VmRSS"), ("anon", "RssAnon"), ("file", "RssFile")):
                    found = re.search(rf"{field}:\s+(\d+) kB", status)
                    if found:
                        self.peak[key] = max(self.peak[key], int(found.group(1)))
                time.sleep(0.05)

        self.watcher = threading.Thread(target=sample, daemon=True)
        self.watcher.start()

    def memory_mib(self):
        """Peak RSS (VmHWM), and the peaks of its anonymous and file-backed parts, in MiB."""
        self.watching = False
        self.watcher.join()
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        hwm = int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1))
        return {"peak_rss_mib": hwm / 1024, "peak_anon_mib": self.peak["anon"] / 1024, "peak_file_mib": self.peak["file"] / 1024}

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


def wrk(url, seconds, header=None):
    command = ["wrk", "-t2", "-c16", f"-d{seconds}s", "--latency"]
    if header:
        command += ["-H", header]
    out = subprocess.run(command + [url], capture_output=True, text=True, check=True).stdout

    def latency(percent):
        m = re.search(rf"^\s+{percent}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        if not m:
            return None
        return float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]

    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "requests": int(re.search(r"(\d+) requests in", out).group(1)),
        "p50_ms": latency(50),
        "p99_ms": latency(99),
        "non_2xx_3xx": int(non2xx.group(1)) if non2xx else 0,
        "socket_errors": sum(int(x) for x in sockets.groups()) if sockets else 0,
    }


def floor(seconds):
    say("==> the floor: 25 rows of a 10,000-row SQLite table, rusqlite on a pool, spawn_blocking")
    port = free_port()
    process = subprocess.Popen([str(FLOOR), str(WORK / "floor.db"), f"127.0.0.1:{port}"], stdout=subprocess.PIPE, text=True)
    try:
        process.stdout.readline()  # "listening on ..."
        wrk(f"http://127.0.0.1:{port}/", 1)  # warm up
        return wrk(f"http://127.0.0.1:{port}/", seconds)
    finally:
        process.terminate()
        process.wait()


def deep_cursor(port, relationship, token, depth):
    """Pages the API's issue list (all states, 500 at a time) to `depth` issues in: the keyset
    cursor there, and how many issues lie before it."""
    after, seen = None, 0
    while seen < depth:
        path = f"/api/v1/relationships/{relationship}/issues?status=all&limit={min(500, depth - seen)}"
        if after:
            path += f"&after={after}"
        status, _, body = request(port, "GET", path, {"Authorization": f"Bearer {token}"})
        if status != 200:
            raise SystemExit(f"GET {path} answered {status}")
        page = json.loads(body)
        seen += len(page["items"])
        if not page.get("next_cursor"):
            break
        after = page["next_cursor"]
    return after, seen


def psql():
    """psql from the PostgreSQL that scripts/pg-start found (PG_BIN), else the one on the PATH."""
    pg_bin = os.environ.get("PG_BIN")
    return str(Path(pg_bin) / "psql") if pg_bin else "psql"


def bench_backend(backend, database, profile, seconds, reuse=False):
    summary_file = WORK / f"seed-{backend}.json"
    if reuse:
        say(f"==> {backend}: reusing the database seeded by the previous run")
        seed_wall = None
    else:
        say(f"==> {backend}: seeding the {profile} profile")
        _, seed_wall = accord(database, "seed", "--profile", profile, "--summary", str(summary_file))
        if backend == "postgres":
            # The pages are measured on a settled cluster: the seed's dirty buffers written out
            # now rather than by a checkpoint in the middle of the measurements.
            subprocess.run([psql(), os.environ.get("PG_URL", database), "-qc", "CHECKPOINT"], check=True)
    seeded = json.loads(summary_file.read_text())
    if seeded["profile"] != profile:
        raise SystemExit(f"{summary_file} holds the {seeded['profile']} profile, not {profile}")
    heavy = seeded["heavy"]
    rid = heavy["id"]
    out, _ = accord(database, "token", "create", "--email", heavy["login"], "--name", "bench")
    token = out.strip().splitlines()[-1]
    # A site administrator of no party, for the administration pages (already there on --reuse).
    accord(database, "user", "create", "--admin", "--email", ADMIN, "--name", "Bench Administrator", check=False, stdin=seeded["password"] + "\n")

    say(f"==> {backend}: serving")
    server = Server(database, WORK / f"serve-{backend}.log")
    result = {
        "seed": {
            "seconds": seeded["seconds"],
            "wall_seconds": seed_wall,
            "reused": reuse,
            "relationships": seeded["relationships"],
            "users": seeded["users"],
            "audit_events": seeded["audit_events"],
            "heavy": heavy,
            "store_calls": seeded.get("store_calls"),
        },
        "cold_start_ms": server.cold_start * 1000,
    }
    try:
        cookie = sign_in(server.port, heavy["login"], seeded["password"])
        admin_cookie = sign_in(server.port, ADMIN, seeded["password"])
        server.watch_memory()
        depth = 9_000 if heavy["issues"] >= 10_000 else int(heavy["issues"] * 0.9)
        cursor, seen = deep_cursor(server.port, rid, token, depth)
        r = f"/relationships/{rid}"
        status, _, body = request(server.port, "GET", f"/api/v1{r}/parties", {"Authorization": f"Bearer {token}"})
        if status != 200:
            raise SystemExit(f"GET the heavy relationship's parties answered {status}")
        party = json.loads(body)["items"][0]["id"]
        endpoints = [
            ("home", "relationship home", r, "cookie"),
            ("scorecard", "scorecard", f"{r}/scorecard", "cookie"),
            ("kpi", "KPI page with its chart", f"{r}/kpis/{heavy['kpi']}", "cookie"),
            ("issues", "issue log, page 1", f"{r}/issues", "cookie"),
            ("issues_all", "issue log (all), page 1", f"{r}/issues?status=all", "cookie"),
            ("issues_deep", f"issue log (all), {seen:,} in", f"{r}/issues?status=all&after={cursor}", "cookie"),
            ("issue", "issue page", f"{r}/issues/{heavy['issue']}", "cookie"),
            ("actions", "action log", f"{r}/actions", "cookie"),
            ("audit", "audit trail page", f"{r}/audit", "cookie"),
            ("ladder", "escalation ladder and holidays", f"{r}/ladder", "cookie"),
            ("oversight", "a party's oversight", f"{r}/parties/{party}/oversight", "cookie"),
            ("new_relationship", "new relationship form (administrator)", "/relationships/new", "admin"),
            ("api_issues", "API issue list", f"/api/v1{r}/issues", "bearer"),
        ]
        rows = []
        for key, label, path, auth in endpoints:
            header = {"cookie": f"Cookie: {cookie}", "admin": f"Cookie: {admin_cookie}"}.get(auth, f"Authorization: Bearer {token}")
            name, value = header.split(": ", 1)
            status, _, body = request(server.port, "GET", path, {name: value})
            if status != 200:
                say(f"warning: {path} answered {status}: {body[:200]!r}")
            say(f"    {label}: {path}")
            figures = wrk(f"http://127.0.0.1:{server.port}{path}", seconds, header)
            # The load average after each run shows when something else was busy on the machine.
            figures["load"] = round(os.getloadavg()[0], 2)
            rows.append({"key": key, "endpoint": label, "path": path, "status": status, "bytes": len(body), **figures})
        result["endpoints"] = rows
        result.update(server.memory_mib())
    finally:
        server.stop()

    say(f"==> {backend}: audit verify of the heavy relationship")
    _, took = accord(database, "audit", "verify", "--relationship", rid)
    result["verify_heavy"] = {"seconds": took, "events": heavy["audit_events"]}
    return result


def fresh(name):
    """An SQLite file that `accord seed` may fill: an earlier run's (kept by --reuse) is removed."""
    for suffix in ("", "-wal", "-shm", "-journal"):
        (WORK / f"{name}{suffix}").unlink(missing_ok=True)
    return f"sqlite://{WORK / name}"


def batch(quick):
    """The batch timings, on SQLite: each on a fixture of its own."""
    scale = 20 if quick else 1
    result = {"scale": scale}

    say("==> import: daily KPIs and a CSV of their values")
    database = fresh("import.db")
    csv = WORK / "measurements.csv"
    out, _ = accord(database, "seed", "--profile", "import-small" if quick else "import", "--out", str(csv))
    fixture = json.loads(out)
    _, took = accord(database, "import", "measurements", "--relationship", fixture["relationship"], str(csv))
    result["import"] = {"rows": fixture["rows"], "seconds": took, "bytes": csv.stat().st_size}

    say("==> audit verify of an exported chain")
    events = 1_000_000 // scale
    export = WORK / "audit.jsonl"
    subprocess.run([str(ACCORD), "seed", "--audit-events", str(events), "--out", str(export)], check=True)
    started = time.monotonic()
    subprocess.run([str(ACCORD), "audit", "verify", "--file", str(export)], check=True, stdout=subprocess.DEVNULL)
    result["verify_file"] = {"events": events, "seconds": time.monotonic() - started, "bytes": export.stat().st_size}
    export.unlink()

    say("==> one escalation sweep over open issues, some of them due")
    database = fresh("sweep.db")
    out, _ = accord(database, "seed", "--profile", "sweep-small" if quick else "sweep")
    fixture = json.loads(out)
    out, _ = accord(database, "seed", "--time-sweep")
    timed = json.loads(out)
    result["sweep"] = {"open": fixture["open"], "due": fixture["due"], **timed}
    return result


def machine():
    memory = int(re.search(r"MemTotal:\s+(\d+) kB", Path("/proc/meminfo").read_text()).group(1))
    model = re.search(r"model name\s*:\s*(.*)", Path("/proc/cpuinfo").read_text())
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain"], capture_output=True, text=True, cwd=ROOT).stdout.strip()
    return {
        "nproc": os.cpu_count(),
        "memory_gib": round(memory / 1024 / 1024, 1),
        "cpu": model.group(1).strip() if model else platform_name(),
        "commit": commit + ("+changes" if dirty else ""),
        "load_before": os.getloadavg()[0],
    }


def platform_name():
    import platform

    return platform.processor() or platform.machine()


def checks(results):
    """Each target next to its figure."""
    quick = results["quick"]
    scale = 20 if quick else 1
    floor_rps = results["floor"]["rps"]
    out = []

    def check(what, value, shown, target, passed):
        out.append({"what": what, "value": value, "shown": shown, "target": target, "pass": bool(passed)})

    for backend, limit in (("sqlite", P99_SQLITE_MS), ("postgres", P99_POSTGRES_MS)):
        b = results["backends"].get(backend)
        if not b:
            continue
        rows = {r["key"]: r for r in b["endpoints"]}
        for r in b["endpoints"]:
            errors = r["non_2xx_3xx"] + r["socket_errors"]
            check(f"{backend}: {r['endpoint']} p99", r["p99_ms"], f"{r['p99_ms']:.2f} ms", f"< {limit:g} ms", r["p99_ms"] < limit and errors == 0)
            if backend == "sqlite" and r["key"] in SHARE:
                share = r["rps"] / floor_rps
                check(f"sqlite: {r['endpoint']} share of the floor", share, f"{share:.0%}", f">= {SHARE[r['key']]:.0%}", share >= SHARE[r["key"]])
        if "issues_deep" in rows and "issues_all" in rows:
            ratio = rows["issues_deep"]["rps"] / rows["issues_all"]["rps"]
            check(f"{backend}: deep issue-log page vs page 1", ratio, f"{ratio:.0%} of page 1", f">= {1 - DEEP_WITHIN:.0%}", ratio >= 1 - DEEP_WITHIN)
        check(f"{backend}: server peak RSS under load (VmHWM)", b["peak_rss_mib"], f"{b['peak_rss_mib']:.1f} MiB", f"< {RSS_MIB:g} MiB", b["peak_rss_mib"] < RSS_MIB)
        anon = b["peak_anon_mib"]
        check(f"{backend}: the same, less mapped database pages", anon, f"{anon:.1f} MiB", f"< {RSS_MIB:g} MiB", anon < RSS_MIB)
        if backend == "sqlite":
            seed = b["seed"]["seconds"]
            check(f"sqlite: seed the {results['profile']} profile", seed, f"{seed:.1f} s", f"< {SEED_LARGE_S / scale:g} s", seed < SEED_LARGE_S / scale)
            cold = b["cold_start_ms"]
            check(f"sqlite: cold start of serve ({results['profile']} database)", cold, f"{cold:.0f} ms", f"< {COLD_START_MS:g} ms", cold < COLD_START_MS)
    batch = results.get("batch")
    if batch:
        i = batch["import"]
        check(f"import {i['rows']:,} measurements (CSV)", i["seconds"], f"{i['seconds']:.2f} s", f"< {IMPORT_1M_S / scale:g} s", i["seconds"] < IMPORT_1M_S / scale)
        v = batch["verify_file"]
        check(f"audit verify {v['events']:,} events (file)", v["seconds"], f"{v['seconds']:.2f} s", f"< {VERIFY_1M_S / scale:g} s", v["seconds"] < VERIFY_1M_S / scale)
        s = batch["sweep"]
        check(
            f"sweep {s['open']:,} open issues, {s['due']:,} due",
            s["seconds"],
            f"{s['seconds'] * 1000:.0f} ms, {s['escalated']:,} escalated",
            f"< {SWEEP_100K_S * 1000 / scale:g} ms",
            s["seconds"] < SWEEP_100K_S / scale,
        )
    return out


def table(results):
    lines = []
    f = results["floor"]
    m = results["machine"]
    lines.append(
        f"Accord benchmark, {results['date']}, commit {m['commit']}, {m['nproc']} cores, {m['memory_gib']} GiB, "
        f"profile {results['profile']}, {results['seconds_per_endpoint']} s per endpoint at c=16"
    )
    lines.append("")
    lines.append(f"Floor (25 rows, rusqlite pool, spawn_blocking): {f['rps']:,.0f} req/s, p50 {f['p50_ms']:.2f} ms, p99 {f['p99_ms']:.2f} ms")
    for backend, b in results["backends"].items():
        s = b["seed"]
        lines.append("")
        reused = " (seeded by an earlier run)" if s.get("reused") else ""
        lines.append(
            f"{backend}{reused}: seeded {s['relationships']:,} relationships, {s['users']:,} accounts, {s['audit_events']:,} audit events "
            f"in {s['seconds']:.1f} s; heavy: {s['heavy']['members']} members, {s['heavy']['kpis']} KPIs, "
            f"{s['heavy']['issues']:,} issues, {s['heavy']['actions']:,} actions, {s['heavy']['audit_events']:,} events"
        )
        lines.append(f"  {'endpoint':<34} {'req/s':>8} {'floor':>6} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} {'KiB':>6} {'load':>5}")
        for r in b["endpoints"]:
            errors = r["non_2xx_3xx"] + r["socket_errors"]
            lines.append(
                f"  {r['endpoint']:<34} {r['rps']:>8,.0f} {r['rps'] / f['rps']:>6.0%} {r['p50_ms']:>8.2f} {r['p99_ms']:>8.2f} {errors:>7} {r['bytes'] / 1024:>6.0f} {r.get('load', 0):>5.1f}"
            )
        lines.append(
            f"  peak RSS {b['peak_rss_mib']:.1f} MiB (anonymous {b['peak_anon_mib']:.1f}, mapped files {b['peak_file_mib']:.1f}); "
            f"cold start {b['cold_start_ms']:.0f} ms; "
            f"audit verify of the heavy chain ({b['verify_heavy']['events']:,} events) {b['verify_heavy']['seconds']:.2f} s"
        )
    batch = results.get("batch")
    if batch:
        lines.append("")
        i, v, s = batch["import"], batch["verify_file"], batch["sweep"]
        lines.append("Batch (SQLite)" + (" at 1/20 of the full sizes" if results["quick"] else ""))
        lines.append(f"  import {i['rows']:,} measurements from CSV ({i['bytes'] / 2**20:.1f} MiB): {i['seconds']:.2f} s")
        lines.append(f"  audit verify --file, {v['events']:,} events ({v['bytes'] / 2**20:.0f} MiB): {v['seconds']:.2f} s")
        lines.append(f"  one sweep, {s['open']:,} open issues, {s['due']:,} due: {s['seconds'] * 1000:.0f} ms ({s['escalated']:,} escalated)")
    lines.append("")
    lines.append("Targets" + (" (batch and seed targets scaled to 1/20 for --quick)" if results["quick"] else ""))
    for c in results["checks"]:
        lines.append(f"  {'PASS' if c['pass'] else 'MISS'}  {c['what']:<58} {c['shown']:>22}  target {c['target']}")
    return "\n".join(lines)


def save(results):
    """Writes what is known so far, so that a run cut short still leaves its figures."""
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "results.json").write_text(json.dumps(results, indent=2) + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="the small profile and 3 s per endpoint")
    parser.add_argument("--sqlite-only", action="store_true", help="skip PostgreSQL")
    parser.add_argument("--skip-batch", action="store_true", help="skip the batch timings")
    parser.add_argument(
        "--reuse", action="store_true", help="measure the SQLite database seeded by the previous run again (with --sqlite-only)"
    )
    args = parser.parse_args()
    profile = "small" if args.quick else "large"
    seconds = 3 if args.quick else 10
    started = time.monotonic()
    if args.reuse and not args.sqlite_only:
        raise SystemExit("--reuse needs --sqlite-only: the PostgreSQL cluster is new on every run")
    if not args.reuse:
        shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True, exist_ok=True)
    results = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "quick": args.quick,
        "profile": profile,
        "seconds_per_endpoint": seconds,
        "floor": floor(seconds),
        "backends": {},
    }
    results["backends"]["sqlite"] = bench_backend("sqlite", f"sqlite://{WORK / 'accord.db'}", profile, seconds, args.reuse)
    save(results)
    if not args.sqlite_only:
        pg_url = os.environ.get("PG_URL")
        if not pg_url:
            raise SystemExit("PG_URL is not set: run scripts/bench, which starts PostgreSQL")
        subprocess.run(
            [psql(), pg_url, "-qc", "DROP DATABASE IF EXISTS accord_bench", "-c", "CREATE DATABASE accord_bench"],
            check=True,
            env={**os.environ, "PGOPTIONS": "-c client_min_messages=warning"},
        )
        # Accord reaches the database through its Unix socket, as a server beside its database
        # would (TCP on loopback costs both sides about a tenth more CPU per page).
        served = os.environ.get("PG_SOCKET_URL", pg_url).rsplit("/", 1)[0] + "/accord_bench"
        results["backends"]["postgres"] = bench_backend("postgres", served, profile, seconds)
        save(results)
    if not args.skip_batch:
        results["batch"] = batch(args.quick)
    results["checks"] = checks(results)
    results["total_seconds"] = time.monotonic() - started
    save(results)
    print(table(results))
    print(f"\n(results in {OUT / 'results.json'}; the run took {results['total_seconds']:.0f} s)")


if __name__ == "__main__":
    main()
