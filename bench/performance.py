"""tastebud performance benchmark: one command, a table of figures with goals, and a JSON copy.

    .venv/bin/python bench/performance.py            # N = 100,000 events, ~2.5-3 min on 2 cores
    .venv/bin/python bench/performance.py --quick    # ~5,000 events, a smoke run

Everything runs on SQLite in a temp folder with the library's defaults
(``PreferenceLearning(database=path)``: WAL, synchronous=FULL), so every figure is the durable one
a user gets. Figures go to stdout and to bench/results/performance.json (gitignored).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import io
import json
import os
import platform
import random
import shutil
import sqlite3
import subprocess
import sys
import tarfile
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

import tastebud
from tastebud import PreferenceLearning, parse_prompt
from tastebud.learning.bayes import BayesStrategy
from tastebud.names import model_key

HERE = Path(__file__).resolve().parent
PROMPTS = (
    HERE.parent.parent / "shared/data/prompts/diffusiondb_prompts_via_imagereward_refl_5000.jsonl"
)
RESULTS = HERE / "results" / "performance.json"
AGAINST = "6525da4"
"""The code of the day the learning issue set its speed goals ("today's default"): the last
commit before that work began."""

# Realistic names: 50 checkpoints (SDXL and SD 1.5 files as Civitai names them) and 40 LoRAs.
CHECKPOINTS = [
    f"{stem}.safetensors"
    for stem in [
        "epicrealismXL_v5",
        "juggernautXL_v9Rdphoto2",
        "realvisxlV40_v40Bakedvae",
        "dreamshaperXL_v21Turbo",
        "ponyDiffusionV6XL_v6",
        "animagineXLV31_v31",
        "copaxTimelessxl_v12",
        "zavychromaxl_v80",
        "protovisionXL_v6",
        "albedobaseXL_v21",
        "nightvisionXL_v0791",
        "leosamsHelloworldXL_v70",
        "crystalClearXL_ccxl",
        "samaritan3dCartoon_v40",
        "dynavisionXL_v0611",
        "starlightXL_v3",
        "halcyonSDXL_v18",
        "sdxlUnstableDiffusers_v11",
        "realisticVisionV60B1_v51VAE",
        "dreamshaper_8",
        "deliberate_v3",
        "revAnimated_v122",
        "majicmixRealistic_v7",
        "absolutereality_v181",
        "cyberrealistic_v42",
        "epicphotogasm_z",
        "meinamix_v11",
        "counterfeitV30_v30",
        "anythingV5_v5PrtRE",
        "aZovyaRPGArtist_v5",
        "ghostmix_v20Bakedvae",
        "chilloutmix_Ni",
        "perfectWorld_v6",
        "lyriel_v16",
        "henmixReal_v40",
        "photon_v1",
        "icbinpICantBelieveIts_seco",
        "edgeOfRealism_eorV20",
        "neverendingDreamNED_v122",
        "toonyou_beta6",
        "darkSushiMix_225D",
        "aamXLAnimeMix_v10",
        "mistoonAnime_v20",
        "juggernaut_reborn",
        "rundiffusionFX_v10",
        "artUniverse_v80",
        "xxmix9realistic_v40",
        "fantasticmix_v65",
        "cetusMix_v4",
        "sdxlNijiSpecial_v1",
    ]
]
LORAS = [
    "add_detail",
    "more_details",
    "epiNoiseoffset_v2",
    "LowRA",
    "detail_tweaker_xl",
    "xl_more_art-full_v1",
    "ClearHandsXL",
    "film_grain_v1",
    "ghibli_style_offset",
    "arcane_style_v1",
    "pixel-art-xl-v1.1",
    "watercolor_v1",
    "ink_sketch_v2",
    "cyberpunk_2077_style",
    "neon_noir_v1",
    "vintage_photo",
    "analog_film_v2",
    "3d_render_style_xl",
    "isometric_rooms_v1",
    "Moebius_v1",
    "studio_ghibli_v4",
    "lineart_style",
    "paper_cut_v2",
    "claymation_style",
    "steampunk_xl",
    "fantasy_landscape_v3",
    "portrait_lighting_v2",
    "cinematic_xl_v1",
    "hdr_photo_v1",
    "low_key_lighting",
    "bokeh_xl",
    "sharp_focus_v1",
    "oil_painting_v3",
    "sketch_to_color",
    "chibi_style_v2",
    "origami_xl",
    "stained_glass_v1",
    "synthwave_xl",
    "gothic_architecture_v1",
    "glowing_runes_v1",
]
# The query the public app first ran, once per keyword per checkpoint, on its own async engine
# (SQLAlchemy + aiosqlite) and its own text-keyed table, filled from the export document's "stats"
# (the public format), so the baseline does not depend on how tastebud's store is built today.
NAIVE_SQL = sa.text(
    "SELECT selected_count, total_count FROM preference_stats "
    "WHERE stat_type='keyword_checkpoint' AND key1=:kw AND key2=:ckpt AND user_id=:user"
)


def load_prompts(rng: random.Random, target: int = 12) -> list[str]:
    """Real DiffusionDB prompts cut, phrase by phrase, to about ``target`` keywords."""
    if not PROMPTS.exists():
        print(f"NOTE: {PROMPTS} is absent; using prompts generated from a small vocabulary")
        words = [
            "portrait",
            "woman",
            "castle",
            "forest",
            "neon",
            "city",
            "dragon",
            "ocean",
            "sunset",
            "robot",
            "cat",
            "knight",
            "cinematic",
            "lighting",
            "detailed",
            "painting",
            "anime",
            "fantasy",
            "golden",
            "hour",
            "misty",
            "mountain",
        ]
        return [", ".join(" ".join(rng.sample(words, 2)) for _ in range(6)) for _ in range(2000)]
    prompts = []
    for line in PROMPTS.open(encoding="utf-8"):
        kept: list[str] = []
        for phrase in (p.strip() for p in json.loads(line)["prompt"].split(",")):
            if phrase and len(parse_prompt(", ".join(kept + [phrase])).keywords) > target + 1:
                break
            kept += [phrase] if phrase else []
        text = ", ".join(kept)
        if target - 2 <= len(parse_prompt(text).keywords) <= target + 1:  # mean ~12
            prompts.append(text)
    return prompts


def make_events(n: int, prompts: list[str], rng: random.Random) -> list[dict]:
    """One user's history: Zipf-like model popularity, 2 LoRAs each, ~60% rejected, sessions."""
    ckpt_w = [1 / (rank + 1) ** 0.8 for rank in range(len(CHECKPOINTS))]
    lora_w = [1 / (rank + 1) ** 0.8 for rank in range(len(LORAS))]
    bias = {c: rng.uniform(-0.15, 0.15) for c in CHECKPOINTS}  # some checkpoints are liked more
    start = datetime.now(UTC) - timedelta(seconds=20 * n)
    events = []
    for i in range(n):
        checkpoint = rng.choices(CHECKPOINTS, ckpt_w)[0]
        first = rng.choices(LORAS, lora_w)[0]
        second = rng.choice([lora for lora in LORAS if lora != first])
        events.append({
            "prompt": rng.choice(prompts), "checkpoint": checkpoint, "stage": 0,
            "selected": rng.random() < 0.4 + bias[checkpoint],
            "loras": [{"name": name, "strength": round(rng.uniform(0.3, 1.0), 2)}
                      for name in (first, second)],
            "session_id": f"session-{i // 24:05d}", "timestamp": start + timedelta(seconds=20 * i),
        })  # fmt: skip
    return events


def durable_floor(folder: Path, commits: int = 1000) -> float:
    """Commits/s of bare sqlite3, one ~300-byte row per durable commit: what the disk allows."""
    db = sqlite3.connect(folder / "floor.db", isolation_level=None)
    db.executescript("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; CREATE TABLE t (body TEXT)")
    t0 = time.perf_counter()
    for _ in range(commits):
        db.executescript(f"BEGIN IMMEDIATE; INSERT INTO t VALUES ('{'x' * 300}'); COMMIT")
    db.close()
    return commits / (time.perf_counter() - t0)


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def sizes(path: Path) -> dict:
    """Bytes after a WAL checkpoint (as-is), after VACUUM (into a copy), and per table/index."""
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        wal = Path(f"{path}-wal")  # empty after TRUNCATE, counted in case a reader held it
        as_is = path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)
        try:  # dbstat is an optional SQLite build feature
            tables = dict(
                db.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC")
            )
        except sqlite3.OperationalError:
            tables = {}
        copy = path.with_suffix(".vacuumed.db")
        db.execute("VACUUM INTO ?", (str(copy),))
    vacuumed = copy.stat().st_size
    copy.unlink()
    return {"as_is": as_is, "vacuumed": vacuumed, "tables": tables}


def public_app_db(path: Path, stats: list[dict]) -> None:
    """The seed's text-keyed statistics table, given the primary key the naive query needs."""
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("CREATE TABLE preference_stats (stat_type TEXT, key1 TEXT, key2 TEXT, user_id TEXT, "
                   "selected_count INT, total_count INT, selection_rate REAL, confidence REAL, "
                   "PRIMARY KEY (stat_type, key1, key2, user_id)) WITHOUT ROWID")  # fmt: skip
        db.executemany("INSERT INTO preference_stats VALUES (?, ?, ?, ?, ?, ?, ?, ?)", [
            (r["stat_type"], r["key1"], r["key2"], r["user_id"], r["selected_count"],
             r["total_count"], r["selection_rate"], r["confidence"]) for r in stats])  # fmt: skip


class Peer:
    """tastebud as of another commit (``--against``), in a child process (bench/peer.py).

    Its source is taken from git (``git archive REV src``) into the work folder and put first
    on the child's ``PYTHONPATH``; the child times its own calls.
    """

    def __init__(self, revision: str, work: Path) -> None:
        tree = work / f"tastebud-{revision}"
        archive = subprocess.run(
            ["git", "-C", str(HERE.parent), "archive", revision, "src"],
            check=True,
            capture_output=True,
        ).stdout
        with tarfile.open(fileobj=io.BytesIO(archive)) as files:
            files.extractall(tree, filter="data")
        self.revision = revision
        self.process = subprocess.Popen(
            [sys.executable, str(HERE / "peer.py")],
            env={**os.environ, "PYTHONPATH": str(tree / "src")},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=work,
        )
        where = self._reply()["tastebud"]
        if not Path(where).is_relative_to(tree):
            raise RuntimeError(f"the peer imported tastebud from {where}, not from {tree}")

    def _reply(self) -> dict:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the peer ({self.revision}) stopped")
        return json.loads(line)

    def ask(self, **command: object) -> dict:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(command, default=str) + "\n")
        self.process.stdin.flush()
        return self._reply()

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait(timeout=60)


def start_peer(revision: str, work: Path) -> Peer | None:
    """The peer, or None (with a note) where this checkout has no such commit."""
    if revision == "none":
        return None
    try:
        return Peer(revision, work)
    except (OSError, subprocess.CalledProcessError, RuntimeError) as error:
        print(f"NOTE: no side-by-side run with {revision}: {error}")
        return None


async def timed_calls(calls: list, fn) -> list[float]:
    """Latency in ms of each awaited call, one after another."""
    out = []
    for args in calls:
        t0 = time.perf_counter()
        await fn(*args)
        out.append((time.perf_counter() - t0) * 1000)
    return out


async def naive_recommend(engine, prompt: str, checkpoints: list[str]) -> tuple[str, float]:
    """The public app's first way: one SELECT per keyword per checkpoint, then the seed's blend."""
    keywords = parse_prompt(prompt).keywords
    sums = {c: [0.0, 0] for c in checkpoints}
    async with engine.connect() as connection:  # SELECTs only: pysqlite opens no write transaction
        for keyword in keywords:
            for checkpoint in checkpoints:
                row = (await connection.execute(
                    NAIVE_SQL, {"kw": keyword, "ckpt": model_key(checkpoint), "user": "default"}
                )).first()  # fmt: skip
                if row and row[1]:
                    confidence = min(row[1] / 20, 1.0)
                    sums[checkpoint][0] += confidence * row[0] / row[1] + (1 - confidence) * 0.5
                    sums[checkpoint][1] += 1
    scores = {c: (s / n if n else 0.5) for c, (s, n) in sums.items()}
    best = max(scores, key=scores.get)
    return best, scores[best]


async def main(args: argparse.Namespace) -> None:
    n = 5000 if args.quick else args.events
    single_calls, rec_calls = (500, 300) if args.quick else (3000, 2000)
    naive_calls = 50 if args.quick else 200  # 600 queries per call: a few hundred calls suffice
    rng = random.Random(20240611)
    phases: dict[str, float] = {}
    figures: list[dict] = []
    began = time.perf_counter()

    def phase(name: str, since: float) -> None:
        phases[name] = round(time.perf_counter() - since, 2)
        print(f"  [{phases[name]:7.1f} s] {name}", flush=True)

    def figure(name: str, value: float, unit: str, goal: str = "", ok: bool | None = None) -> None:
        figures.append({"name": name, "value": round(value, 3), "unit": unit, "goal": goal,
                        "result": "" if ok is None else ("PASS" if ok else "MISS")})  # fmt: skip

    import aiosqlite  # its version only

    machine = {"cores": os.cpu_count(), "python": platform.python_version(),
               "sqlite": sqlite3.sqlite_version, "sqlalchemy": sa.__version__,
               "aiosqlite": aiosqlite.__version__, "platform": platform.platform()}  # fmt: skip

    # Which tastebud was measured: src/ changes under our feet while others work, so say so.
    def git(*arguments: str) -> str:
        command = ["git", "-C", str(HERE.parent), *arguments]
        return subprocess.run(command, check=False, capture_output=True, text=True).stdout.strip()

    ours = Path(tastebud.__file__).is_relative_to(HERE.parent)
    dirty = " + uncommitted src" if ours and git("status", "--porcelain", "src") else ""
    machine["code"] = f"{git('rev-parse', '--short', 'HEAD')}{dirty} ({tastebud.__file__})"
    print("machine: " + ", ".join(f"{k} {v}" for k, v in machine.items()))
    work = Path(tempfile.mkdtemp(prefix="tastebud-bench-"))
    print(f"events N={n:,}; databases in {work}")
    try:
        t = time.perf_counter()
        prompts = load_prompts(rng)
        events = make_events(n, prompts, rng)
        mean_kw = sum(len(parse_prompt(p).keywords) for p in prompts) / len(prompts)
        print(f"  {len(prompts):,} prompts, {mean_kw:.1f} keywords on average")
        phase("prepare prompts and events", t)

        # Database A, filled by the bulk writer (record_batch in chunks of 5,000).
        t = time.perf_counter()
        source = PreferenceLearning(database=work / "filled.db")
        for start in range(0, n, 5000):
            await source.record_batch(events[start : start + 5000])
        phase("fill via record_batch", t)
        figure(
            "record_batch fill (chunks of 5,000)", n / phases["fill via record_batch"], "events/s"
        )
        with sqlite3.connect(work / "filled.db") as db:  # journal mode persists in the file
            print(f"  journal_mode={db.execute('PRAGMA journal_mode').fetchone()[0]}, "
                  f"durable={getattr(source, '_durable', '?')} (library default: synchronous=FULL)")  # fmt: skip

        t = time.perf_counter()
        export_file = work / "export.json"
        with export_file.open("w", encoding="utf-8") as fh:
            json.dump(await source.export_preferences(), fh)
        await source.aclose()
        phase("export_preferences + json.dump", t)
        print(f"  export file {export_file.stat().st_size / 1e6:.1f} MB")

        # The 100,000 event dicts of the fill are the benchmark's own scaffolding: a process that
        # imports a file does not hold them, and they slow every allocation after them.
        del events
        gc.collect()

        # 2. Bulk import into a fresh database B, all timed: read the file, open the database,
        # import_preferences(the file's JSON text), close. The way `tastebud import` and the HTTP
        # import hand a file to the library.
        t = time.perf_counter()
        text = export_file.read_bytes()
        imported = PreferenceLearning(database=work / "imported.db")
        summary = await imported.import_preferences(text)
        await imported.aclose()
        phase("import (read file + import_preferences)", t)
        assert summary.added == n, summary
        # The same file again into B: every event is found stored and unchanged (a merge).
        t = time.perf_counter()
        again = PreferenceLearning(database=work / "imported.db")
        summary = await again.import_preferences(export_file.read_bytes())
        await again.aclose()
        phase("import the same file again (merge, nothing changes)", t)
        assert summary.unchanged == n, summary
        # A parsed document (json.load first), into a fresh database C: the Python API's other form.
        t = time.perf_counter()
        with export_file.open(encoding="utf-8") as fh:
            document = json.load(fh)
        parsed = PreferenceLearning(database=work / "parsed.db")
        summary = await parsed.import_preferences(document)
        await parsed.aclose()
        phase("import (json.load + import_preferences(document))", t)
        assert summary.added == n, summary
        public_app_db(work / "public_app.db", document["stats"])  # for the naive baseline (5)
        # Drop the benchmark's own 100k-event scaffolding before timing latencies: a service process
        # does not hold it, and its objects would change how often and how long the GC pauses.
        del document, text
        gc.collect()
        rate = n / phases["import (read file + import_preferences)"]
        figure("bulk import of an export file", rate, "events/s", ">= 20,000", rate >= 20_000)
        # Today's code beside the code of --against, in the order A B B A so that neither
        # always goes first: this code's import above, the peer's two, this code's again.
        peer = start_peer(args.against, work)
        if peer is not None:
            theirs = [peer.ask(do="import", file=str(export_file), database=str(work / name))
                      for name in ("today.db", "today-again.db")]  # fmt: skip
            assert all(result["added"] == n for result in theirs), theirs
            (work / "today-again.db").unlink()
            t = time.perf_counter()
            second = PreferenceLearning(database=work / "imported-again.db")
            summary = await second.import_preferences(export_file.read_bytes())
            await second.aclose()
            phase("import again, for the side-by-side (read file + import_preferences)", t)
            (work / "imported-again.db").unlink()
            ours = 2 * n / (phases["import (read file + import_preferences)"]
                            + phases["import again, for the side-by-side (read file + import_preferences)"])  # fmt: skip
            them = 2 * n / sum(result["seconds"] for result in theirs)
            print(
                f"  peer {args.against}: imports took "
                + ", ".join(f"{result['seconds']:.2f} s" for result in theirs)
            )
            figure(f"  import, mean of 2: this code / {args.against}", ours / them, "x", ">= 1",
                   ours >= them)  # fmt: skip
            figure(f"  import, mean of 2: {args.against}", them, "events/s", "(info)")
        figure("  the same file again (merge)", n / phases["import the same file again (merge, nothing changes)"], "events/s", "(info)")  # fmt: skip
        figure("  a parsed document (json.load + import)", n / phases["import (json.load + import_preferences(document))"], "events/s", "(info)")  # fmt: skip

        # 4. Bytes per event. The imported database is the honest figure: it is what a user who
        # imports has on disk, without a VACUUM nobody runs. VACUUM is reported alongside.
        t = time.perf_counter()
        size_b, size_a = sizes(work / "imported.db"), sizes(work / "filled.db")
        phase("sizes (checkpoint, VACUUM INTO copies)", t)
        figure(
            "bytes/event, after import, as-is",
            size_b["as_is"] / n,
            "B",
            "<= 500",
            size_b["as_is"] / n <= 500,
        )
        figure("bytes/event, after import, VACUUMed", size_b["vacuumed"] / n, "B", "(info)")
        figure("bytes/event, record_batch-filled, as-is", size_a["as_is"] / n, "B", "(info)")

        # 3 and 5. recommend_checkpoint over 50 candidates, on B: today's default (BayesStrategy)
        # and the new default side by side, the same prompts, interleaved (which one goes first
        # alternates), so both meet the same machine; then the naive query-per-cell way.
        bayes = PreferenceLearning(database=work / "imported.db", strategy=BayesStrategy())
        learner = PreferenceLearning(database=work / "imported.db")
        t = time.perf_counter()
        await learner.refit()  # the new default reads its fitted state; a server refits it
        phase("refit (the new default's fitted state)", t)
        calls = [(rng.choice(prompts), CHECKPOINTS) for _ in range(rec_calls)]
        for warm in (bayes, learner):  # warm up: open, caches
            await timed_calls(calls[:20], warm.recommend_checkpoint)
        fast: list[float] = []
        today: list[float] = []
        then: list[float] = []

        async def peer_recommend(prompt: str, candidates: list[str]) -> None:
            assert peer is not None
            then.append(peer.ask(do="recommend", prompt=prompt, candidates=candidates)["ms"])

        async def timed(learning: PreferenceLearning, samples: list[float], call: tuple) -> None:
            samples += await timed_calls([call], learning.recommend_checkpoint)

        turns = [lambda call: timed(learner, fast, call), lambda call: timed(bayes, today, call)]
        if peer is not None:
            peer.ask(do="open", database=str(work / "today.db"))
            for call in calls[:20]:
                await peer_recommend(*call)
            then.clear()
            turns.append(lambda call: peer_recommend(*call))
        t = time.perf_counter()
        for index, call in enumerate(calls):  # each goes first in turn
            for turn in turns[index % len(turns) :] + turns[: index % len(turns)]:
                await turn(call)
        phase(f"recommend_checkpoint x {rec_calls}, each strategy", t)
        same = 0
        for call in calls[:200]:
            best = (await learner.recommend_checkpoint(*call))[0]
            same += best == (await bayes.recommend_checkpoint(*call))[0]
        await learner.aclose()
        await bayes.aclose()
        engine = create_async_engine(f"sqlite+aiosqlite:///{work / 'public_app.db'}")
        await timed_calls(calls[:5], lambda p, c: naive_recommend(engine, p, c))  # warm up
        t = time.perf_counter()
        naive = await timed_calls(calls[:naive_calls], lambda p, c: naive_recommend(engine, p, c))
        phase(f"naive query-per-cell x {naive_calls}", t)
        await engine.dispose()
        figure("recommend_checkpoint p50 (50 candidates)", pct(fast, 0.5), "ms", "(info)")
        figure(
            "recommend_checkpoint p99 (50 candidates)",
            pct(fast, 0.99),
            "ms",
            "<= 5",
            pct(fast, 0.99) <= 5,
        )
        figure("  today's default (Bayes) p50", pct(today, 0.5), "ms", "(info)")
        figure("  today's default (Bayes) p99", pct(today, 0.99), "ms", "(info)")
        figure("  Bayes / new default, p50", pct(today, 0.5) / pct(fast, 0.5), "x", "(info)")
        ratio = pct(today, 0.99) / pct(fast, 0.99)
        figure("  Bayes / new default, p99", ratio, "x", "(info)")
        if then:
            figure(f"  {args.against} (its default) p50", pct(then, 0.5), "ms", "(info)")
            figure(f"  {args.against} (its default) p99", pct(then, 0.99), "ms", "(info)")
            figure(f"  {args.against} / new default, p50", pct(then, 0.5) / pct(fast, 0.5), "x",
                   "(info)")  # fmt: skip
            ratio = pct(then, 0.99) / pct(fast, 0.99)
            figure(f"  {args.against} / new default, p99", ratio, "x", ">= 3", ratio >= 3)
        figure("  same best checkpoint (of 200 prompts)", same, "", "(info)")
        for q in (0.5, 0.99):
            figure(f"naive query-per-cell p{q * 100:.0f}", pct(naive, q), "ms", "(info)")
            figure(f"naive / tastebud, p{q * 100:.0f}", pct(naive, q) / pct(fast, q), "x", "(info)")

        # 1. Single durable record_preference calls, one after another, on top of database A's
        # N events (a store in use, not an empty one).
        singles = make_events(single_calls + 1, prompts, rng)
        for event in singles:
            del event["timestamp"]  # recorded now, as an app would
        # On the imported database, as the peer records on its own import of the same file.
        writer = PreferenceLearning(database=work / "imported.db")
        first = singles.pop()
        await writer.record_preference(**first)  # open + migrate check outside the timing
        if peer is not None:
            peer.ask(do="close")
            peer.ask(do="open", database=str(work / "today.db"))
            peer.ask(do="record", event=first)
        latencies: list[float] = []
        recorded: list[float] = []
        t = time.perf_counter()
        for index, event in enumerate(singles):  # each goes first in turn
            if peer is not None and index % 2:
                recorded.append(peer.ask(do="record", event=event)["ms"])
            latencies += await timed_calls([(event,)], lambda e: writer.record_preference(**e))
            if peer is not None and not index % 2:
                recorded.append(peer.ask(do="record", event=event)["ms"])
        phase(f"record_preference x {single_calls}" + (", each code" if peer else ""), t)
        await writer.aclose()
        if peer is not None:
            peer.ask(do="close")
            peer.close()
        rate = single_calls / (sum(latencies) / 1000)
        figure("single record_preference (durable)", rate, "events/s", ">= 1,000", rate >= 1000)
        figure("single record_preference p50", pct(latencies, 0.5), "ms", "(info)")
        figure("single record_preference p99", pct(latencies, 0.99), "ms", "(info)")
        if recorded:
            theirs_rate = single_calls / (sum(recorded) / 1000)
            figure(f"  {args.against}: single record_preference", theirs_rate, "events/s",
                   "(info)")  # fmt: skip
            figure(f"  {args.against}: p50 / p99", pct(recorded, 0.5), "ms",
                   f"{pct(recorded, 0.99):.2f} ms")  # fmt: skip
            figure(f"  record: this code / {args.against}", rate / theirs_rate, "x", ">= 1",
                   rate >= theirs_rate)  # fmt: skip
        figure(
            "floor: bare sqlite3 durable 1-row commit", durable_floor(work), "commits/s", "(info)"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)

    total = time.perf_counter() - began
    print(
        f"\ntastebud performance, N = {n:,} events, SQLite durable defaults, {os.cpu_count()} cores"
    )
    print(f"{'figure':<46} {'value':>12} {'unit':<9} {'goal':<10} result")
    print("-" * 86)
    for f in figures:
        print(f"{f['name']:<46} {f['value']:>12,.2f} {f['unit']:<9} {f['goal']:<10} {f['result']}")
    print(f"\nwhere the bytes go (imported DB, as-is, {size_b['as_is'] / 1e6:.1f} MB):")
    for name, size in size_b["tables"].items():
        print(f"  {name:<44} {size / 1e6:8.1f} MB  {size / n:7.1f} B/event")
    print(f"\ntotal wall time {total:.1f} s")
    missed = [f["name"] for f in figures if f["result"] == "MISS"]
    print("goals missed: " + (", ".join(missed) if missed else "none"))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({
        "when": datetime.now(UTC).isoformat(timespec="seconds"), "events": n, "machine": machine,
        "calls": {"record_preference": single_calls, "recommend": rec_calls, "naive": naive_calls},
        "recommend_ms": {"new default": {"p50": pct(fast, 0.5), "p99": pct(fast, 0.99)},
                         "bayes": {"p50": pct(today, 0.5), "p99": pct(today, 0.99)},
                         args.against: {"p50": pct(then, 0.5), "p99": pct(then, 0.99)}
                         if then else None},
        "phases_s": phases, "figures": figures, "sizes": {"imported": size_b, "filled": size_a},
        "total_s": round(total, 1), "missed": missed,
    }, indent=2))  # fmt: skip
    print(f"written {RESULTS.relative_to(HERE.parent)}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--events", type=int, default=100_000, help="events stored (default 100,000)"
    )
    parser.add_argument("--quick", action="store_true", help="a ~5,000-event run to check it works")
    parser.add_argument(
        "--against",
        default=AGAINST,
        help=f"a git revision whose code runs beside this one (default {AGAINST}; 'none': skip)",
    )
    asyncio.run(main(parser.parse_args()))
