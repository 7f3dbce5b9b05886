"""Concurrency benchmark: many clients writing at once to the real server, on both databases.

    .venv/bin/python bench/concurrency.py            # 16 runs of 15 s, about 8 minutes on 2 cores
    .venv/bin/python bench/concurrency.py --quick    # 5-second runs: a smoke test

For SQLite and PostgreSQL, 1 and 2 worker processes, 8 and 32 clients, one ``tastebud serve``
(started as a user starts it) on a database holding 5,000 events is loaded by wrk with writes:

- 60% record one new image (2 LoRAs);
- 25% record again one of 40 shared generation ids with a random action (a changed mind: the
  stored event is replaced and the statistics move by the difference);
- 15% a judged batch of 4 new images whose LoRA names are new to the database.

Every request is valid. What must hold: no 5xx, and afterwards statistics that equal a recount of
the events (``GET /api/check``: "drift" is how many differ). The goal of issue 14: PostgreSQL's
write throughput with 32 clients at least SQLite's, in the same run.

Both databases are durable: SQLite in WAL mode with ``synchronous=FULL`` (tastebud's default),
PostgreSQL as installed (``fsync`` on), in a throwaway cluster on this machine made with
Debian's server binaries, as the tests make theirs. Needs wrk (``apt-get install wrk``).
Figures go to stdout and to bench/results/concurrency.json (gitignored).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from performance import RESULTS, load_prompts, make_events
from server import free_port

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))  # the tests' throwaway PostgreSQL cluster
from conftest import PostgresCluster, _postgres_bin
from tastebud import PreferenceLearning

SCRIPT = HERE / "wrk" / "writes.lua"
HISTORY = 5_000
SHARED_IDS = 40


def requests_file(path: Path, prompts: list[str], lines: int, rng: random.Random) -> None:
    """``lines`` write requests in the mix the module's text gives, for requests.lua."""
    events = make_events(lines * 5, prompts, rng)
    out = []
    for index in range(lines):
        event = events[index]
        event["timestamp"] = event["timestamp"].isoformat()
        draw = rng.random()
        if draw < 0.60:
            event["generation_id"] = f"new-{index}"
            out.append("POST\t/api/preferences\t" + json.dumps(event))
        elif draw < 0.85:
            event["generation_id"] = f"shared-{rng.randrange(SHARED_IDS)}"
            event["selected"] = rng.random() < 0.5
            out.append("POST\t/api/preferences\t" + json.dumps(event))
        else:
            images = []
            for image in range(4):
                shown = events[lines + 4 * index + image]
                shown.pop("selected")
                shown["timestamp"] = shown["timestamp"].isoformat()
                shown["generation_id"] = f"batch-{index}-{image}"
                shown["loras"] = [{"name": f"lora-new-{index}-{image % 2}", "strength": 0.6}]
                images.append(shown)
            body = {"images": images, "outcome": "advance", "selected": [f"batch-{index}-0"]}
            out.append("POST\t/api/preferences/batch\t" + json.dumps(body))
    path.write_text("\n".join(out) + "\n")


async def fill(database: str, events: list[dict]) -> None:
    async with PreferenceLearning(database=database) as learning:
        await learning.record_batch(events)


def wrk(base: str, requests: Path, connections: int, seconds: int) -> dict:
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "30s",
               "-s", str(SCRIPT), base, "--", str(requests)]  # fmt: skip
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    lines = [json.loads(line) for line in output.strip().splitlines() if line.startswith("{")]
    figures = {key: value for line in lines for key, value in line.items()}
    figures["rps"] = figures["requests"] / (figures["duration_us"] / 1e6)
    return figures


def run(database: str, workers: int, clients: int, requests: Path, seconds: int) -> dict:
    """One server on ``database``, loaded by ``clients`` connections; its figures and check."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "tastebud", "serve", "--db", database, "--port", str(port),
               "--workers", str(workers)]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        for _ in range(300):
            try:
                if httpx.get(base + "/api/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        figures = wrk(base, requests, clients, seconds)
        check = httpx.get(base + "/api/check", timeout=600).json()
    finally:
        process.send_signal(signal.SIGINT)
        _, errors = process.communicate(timeout=120)
    figures["drift"] = check["wrong"]
    figures["events"] = check["events"]
    figures["tracebacks"] = errors.decode(errors="replace").count("Traceback")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5-second runs")
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument(
        "--rounds", type=int, default=2, help="runs of each setting, the databases alternating"
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("bench/concurrency.py needs wrk: apt-get install wrk")
    bindir = _postgres_bin()
    if bindir is None:
        sys.exit(
            "bench/concurrency.py needs PostgreSQL's server binaries: apt-get install postgresql"
        )
    seconds = 5 if args.quick else args.seconds
    rounds = 1 if args.quick else args.rounds
    rng = random.Random(20261201)
    work = Path(tempfile.mkdtemp(prefix="tastebud-concurrency-"))
    print(f"machine: {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"{platform.platform()}; {seconds} s per run, {HISTORY:,} events stored first")  # fmt: skip
    prompts = load_prompts(rng)
    history = make_events(HISTORY, prompts, rng)
    requests = work / "writes.tsv"
    requests_file(requests, prompts, 40_000, rng)
    cluster = PostgresCluster(bindir)
    cluster.start(durable=True)
    rows = []
    try:
        # Run by run, SQLite and PostgreSQL alternate: a machine's drift over the minutes (the
        # figures move by 15% from one 10-second run to the next) falls on both alike.
        for workers in (1, 2):
            for clients in (8, 32):
                for round_ in range(1, rounds + 1):
                    for kind in ("sqlite", "postgresql"):
                        if kind == "sqlite":
                            database = str(work / f"sqlite-{workers}-{clients}-{round_}.db")
                        else:
                            database = cluster.create_database()
                        asyncio.run(fill(database, history))
                        figures = run(database, workers, clients, requests, seconds)
                        rows.append({"database": kind, "workers": workers, "clients": clients,
                                     "round": round_, **figures})  # fmt: skip
                        print(f"  {kind:<10} {workers} worker(s) {clients:>2} clients, round "
                              f"{round_}: {figures['rps']:.0f} req/s", flush=True)  # fmt: skip
    finally:
        cluster.stop()
        shutil.rmtree(work, ignore_errors=True)

    print(f"\n{'database':<10} {'workers':>7} {'clients':>7} {'round':>5} {'req/s':>7} "
          f"{'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'5xx':>5} {'other':>5} "
          f"{'drift':>5}")  # fmt: skip
    for row in sorted(rows, key=lambda r: (r["database"], r["workers"], r["clients"], r["round"])):
        other = row["non_2xx"] - row["server_errors"] + row["socket_errors"]
        print(f"{row['database']:<10} {row['workers']:>7} {row['clients']:>7} {row['round']:>5} "
              f"{row['rps']:>7.0f} {row['p50_us'] / 1000:>8.1f} {row['p99_us'] / 1000:>8.1f} "
              f"{row['max_us'] / 1000:>8.1f} {row['server_errors']:>5} {other:>5} "
              f"{row['drift']:>5}")  # fmt: skip
    faults = sum(row["server_errors"] + row["drift"] + row["tracebacks"] for row in rows)
    print(f"\n5xx, drift and tracebacks in all runs: {faults} (goal: 0): "
          f"{'PASS' if faults == 0 else 'MISS'}")  # fmt: skip
    for workers in (1, 2):
        sqlite, postgres = (
            statistics.mean(r["rps"] for r in rows
                            if (r["database"], r["workers"], r["clients"]) == (kind, workers, 32))
            for kind in ("sqlite", "postgresql")
        )  # fmt: skip
        print(f"{workers} worker(s), 32 clients, mean of {rounds} round(s): PostgreSQL "
              f"{postgres:.0f} / SQLite {sqlite:.0f} req/s = {postgres / sqlite:.2f} (goal >= 1): "
              f"{'PASS' if postgres >= sqlite else 'MISS'}")  # fmt: skip
    RESULTS.parent.mkdir(exist_ok=True)
    (RESULTS.parent / "concurrency.json").write_text(json.dumps({"rows": rows}, indent=2))


if __name__ == "__main__":
    main()
