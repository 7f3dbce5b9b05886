"""Server benchmark: the real ``tastebud serve`` on loopback, 100,000 events stored, loaded by wrk.

    .venv/bin/python bench/server.py            # N = 100,000 events, about 3 minutes on 2 cores
    .venv/bin/python bench/server.py --quick    # 5,000 events, short runs: a smoke test

Beside tastebud's default it serves today's default (BayesStrategy) and a *floor*: the same app
and route answering recommendations it worked out before and remembered, so that what it
measures is HTTP, the query's parsing and the answer's JSON alone.

Needs wrk (Debian: ``apt-get install wrk``), a load generator written in C, so that the client
takes as little of the machine's two cores as possible. The server is started exactly as a user
starts it (``python -m tastebud serve --db FILE --port P``: one process, durable SQLite). Figures
go to stdout and to bench/results/server.json (gitignored).

Recommend requests use real DiffusionDB prompts (about 12 keywords each) against the profile's 50
checkpoints; record requests post new events with 2 LoRAs each.
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
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

import httpx

from performance import RESULTS, load_prompts, make_events, pct
from tastebud import PreferenceLearning

HERE = Path(__file__).resolve().parent
SCRIPT = HERE / "wrk" / "requests.lua"
GOAL_RPS, GOAL_P99_MS = 500, 50.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def fill(database: Path, events: list[dict]) -> None:
    async with PreferenceLearning(database=database) as learning:
        for start in range(0, len(events), 5000):
            await learning.record_batch(events[start : start + 5000])
        # The new default's fitted state, as a server has it after its background refit: else
        # the first recommendation starts that refit (minutes at 100,000 events) under the load.
        await learning.refit()


async def in_process(database: Path, prompts: list[str], calls: int) -> list[float]:
    """The same recommendations as direct calls, for the HTTP layer's share of the time."""
    async with PreferenceLearning(database=database) as learning:
        await learning.rank_checkpoints(prompts[0])
        times = []
        for index in range(calls):
            began = time.perf_counter()
            await learning.rank_checkpoints(prompts[index % len(prompts)])
            times.append(time.perf_counter() - began)
    return times


def wrk(base: str, requests: Path, connections: int, seconds: int) -> dict:
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s",
               "-s", str(SCRIPT), base, "--", str(requests)]  # fmt: skip
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    figures = json.loads(output.strip().splitlines()[-1])
    figures["rps"] = figures["requests"] / (figures["duration_us"] / 1e6)
    return figures


# Today's default, for reference: the same app over a PreferenceLearning with BayesStrategy.
# A benchmark's own way to start it (the product has no strategy setting).
BAYES_SERVER = """
import sys, uvicorn
from tastebud import PreferenceLearning
from tastebud.api import create_app
from tastebud.learning.bayes import BayesStrategy
from tastebud.settings import Settings
database, port = sys.argv[1], int(sys.argv[2])
learning = PreferenceLearning(database, strategy=BayesStrategy())
uvicorn.run(create_app(Settings(database=database, port=port), learning=learning),
            host="127.0.0.1", port=port, log_level="warning", access_log=False)
"""


# The floor under any recommend request: the same app and route, whose recommendations are
# worked out once per prompt and then remembered (the warm-up asks every prompt), so what is
# measured is HTTP, the query's parsing and the answer's JSON, and no learning at all.
REMEMBERED_SERVER = """
import sys, uvicorn
from tastebud import PreferenceLearning
from tastebud.api import create_app
from tastebud.settings import Settings
class Remembered(PreferenceLearning):
    answers = {}
    async def recommend(self, prompt, available_checkpoints=None, *, user_id="default"):
        place = (prompt, tuple(available_checkpoints or ()), user_id)
        if place not in self.answers:
            self.answers[place] = await super().recommend(
                prompt, available_checkpoints, user_id=user_id)
        return self.answers[place]
database, port = sys.argv[1], int(sys.argv[2])
learning = Remembered(database)
uvicorn.run(create_app(Settings(database=database, port=port), learning=learning),
            host="127.0.0.1", port=port, log_level="warning", access_log=False)
"""


def measure(
    database: Path, workers: int, requests: dict[str, Path], seconds: int, strategy: str
) -> list:
    """Start a server with this many workers, load it with wrk, stop it."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    if strategy == "bayes":
        command = [sys.executable, "-c", BAYES_SERVER, str(database), str(port)]
        plan = [("health", (4,)), ("recommend checkpoint", (1, 4))]
    elif strategy == "floor":
        command = [sys.executable, "-c", REMEMBERED_SERVER, str(database), str(port)]
        plan = [("health", (4,)), ("recommend checkpoint", (4,))]
    else:  # exactly as a user starts it
        command = [sys.executable, "-m", "tastebud", "serve", "--db", str(database),
                   "--port", str(port), "--workers", str(workers)]  # fmt: skip
        plan = [("health", (1, 4)), ("recommend checkpoint", (1, 4, 16)),
                ("record one event (durable)", (1, 4))]  # fmt: skip
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    rows = []
    try:
        for _ in range(300):
            try:
                httpx.get(base + "/api/health", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        # Warm up: the first requests open connections and fill SQLite's page cache.
        wrk(base, requests["recommend checkpoint"], 4 * workers, 3)
        for name, connections in plan:
            for count in connections:
                result = wrk(base, requests[name], count, seconds)
                rows.append((name, strategy, workers, count, result))
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=60)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5,000 events and 3-second runs")
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument(
        "--workers",
        type=int,
        nargs="+",
        default=[1],
        help="server processes to measure with, one server each (default: 1)",
    )
    parser.add_argument(
        "--no-bayes", action="store_true", help="skip today's default (BayesStrategy) for reference"
    )
    parser.add_argument(
        "--no-floor",
        action="store_true",
        help="skip the floor (the same route answering remembered recommendations)",
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("bench/server.py needs wrk: apt-get install wrk")
    n = 5000 if args.quick else args.events
    seconds = 3 if args.quick else 15
    rng = random.Random(20261125)
    work = Path(tempfile.mkdtemp(prefix="tastebud-server-bench-"))
    database = work / "preferences.db"
    print(f"machine: {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"{platform.platform()}; N={n:,} events in {work}")  # fmt: skip
    began = time.perf_counter()
    prompts = load_prompts(rng)
    asyncio.run(fill(database, make_events(n, prompts, rng)))
    print(f"  [{time.perf_counter() - began:6.1f} s] filled the database")

    recommend = work / "recommend.tsv"
    recommend.write_text("".join(
        "GET\t/api/preferences/recommend/checkpoint?" + urlencode({"prompt": prompt}) + "\n"
        for prompt in rng.sample(prompts, min(500, len(prompts)))
    ))  # fmt: skip
    record = work / "record.tsv"
    bodies = []
    for index, event in enumerate(make_events(60_000 if not args.quick else 5000, prompts, rng)):
        event["generation_id"] = f"bench-{index}"
        event["timestamp"] = event["timestamp"].isoformat()
        bodies.append("POST\t/api/preferences\t" + json.dumps(event) + "\n")
    record.write_text("".join(bodies))

    health = work / "health.tsv"
    health.write_text("GET\t/api/health\n")
    requests = {"health": health, "recommend checkpoint": recommend,
                "record one event (durable)": record}  # fmt: skip
    rows = []
    servers = [("default", workers) for workers in args.workers]
    servers += [] if args.no_bayes else [("bayes", 1)]
    servers += [] if args.no_floor else [("floor", 1)]
    for strategy, workers in servers:
        # Each server starts from the same 100,000 events: a copy of the filled database.
        copy = work / f"served-{strategy}-{workers}.db"
        shutil.copy(database, copy)
        rows += measure(copy, workers, requests, seconds, strategy)
    direct = asyncio.run(in_process(database, prompts, 300 if args.quick else 2000))
    shutil.rmtree(work, ignore_errors=True)

    print(f"\n{'request':<28} {'strategy':>8} {'workers':>7} {'conns':>5} {'req/s':>8} "
          f"{'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'errors':>6}")  # fmt: skip
    results = []
    for name, strategy, workers, connections, result in rows:
        errors = result["socket_errors"] + result["non_2xx"]
        print(f"{name:<28} {strategy:>8} {workers:>7} {connections:>5} {result['rps']:>8.0f} "
              f"{result['p50_us'] / 1000:>8.2f} {result['p90_us'] / 1000:>8.2f} "
              f"{result['p99_us'] / 1000:>8.2f} {errors:>6}")  # fmt: skip
        results.append({"request": name, "strategy": strategy, "workers": workers,
                        "connections": connections, **result})  # fmt: skip
    print(f"\nin-process rank_checkpoints (no HTTP), same database: "
          f"p50 {pct(direct, 0.5) * 1000:.2f} ms, p99 {pct(direct, 0.99) * 1000:.2f} ms")  # fmt: skip

    def rps(name: str, strategy: str, workers: int, connections: int) -> float:
        return next(r["rps"] for n_, s_, w, c, r in rows
                    if (n_, s_, w, c) == (name, strategy, workers, connections))  # fmt: skip

    for strategy, workers in servers:
        share = rps("recommend checkpoint", strategy, workers, 4) / rps(
            "health", strategy, workers, 4
        )
        goal = (
            f": {'PASS' if share >= 0.5 else 'MISS'}"
            if (strategy, workers) == ("default", 1)
            else ""
        )
        print(
            f"{strategy}, {workers} worker(s), 4 connections: recommend / health = "
            f"{share:.0%} (goal >= 50% with 1 worker){goal}"
        )
    print("(floor: the same route answering recommendations worked out before, remembered)")
    for workers in args.workers:
        mine = [r for n_, s_, w, c, r in rows
                if n_.startswith("recommend") and s_ == "default" and w == workers]  # fmt: skip
        best = max(mine, key=lambda r: r["rps"])
        met = [r for r in mine if r["rps"] >= GOAL_RPS and r["p99_us"] / 1000 < GOAL_P99_MS]
        print(
            f"goal with {workers} worker(s): recommend >= {GOAL_RPS} req/s with p99 < "
            f"{GOAL_P99_MS:.0f} ms: {'PASS' if met else 'MISS'} (most: {best['rps']:.0f} req/s)"
        )
    RESULTS.parent.mkdir(exist_ok=True)
    (RESULTS.parent / "server.json").write_text(
        json.dumps({"events": n, "rows": results}, indent=2)
    )


if __name__ == "__main__":
    main()
