"""tastebud quality benchmark: does it learn what a person likes? One command, three tables.

    .venv/bin/python bench/quality                  # 5 seeds, all three parts
    .venv/bin/python bench/quality --quick          # 2 seeds, fewer events: a smoke run
    .venv/bin/python bench/quality --only explore   # one part: sim, explore or ratings

1. Simulator, recommendation quality: simulated people with a known taste (``simulator.py``); each
   recommender is fit on a person's first 100 / 500 / 2,000 judged images and scored on their next
   prompts by the keep chance of its pick, as a share of the oracle's.
2. Explore mode, cumulative regret: each explorer splits 250 batches of 8 images online and learns
   from how they were judged; regret is the keep chance lost against the oracle, image by image.
3. Real human ratings: GenAI-Bench, TIFA and AGIQA-3K, 5-fold by prompt (``ratings.py``).

Figures go to stdout as markdown tables and to bench/results/quality.json (gitignored).
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
# The benchmark's modules import each other as siblings (``from common import ...``).
sys.path.insert(0, str(HERE))

from common import SHARED_DATA, Explorer, Recommender, StrategyRecommender
from explorers import GreedyExplorer, TastebudExplorer
from peers import BestOverallPeer, RandomPeer, ThompsonPeer, VowpalWabbitPeer
from ratings import (
    AGIQA,
    GENAI_BENCH,
    TIFA,
    evaluate,
    load_agiqa,
    load_genai_bench,
    load_tifa,
)
from reference import LogisticReference
from simulator import PROMPTS, User, history, split_prompts

import tastebud
from tastebud.learning.bayes import BayesStrategy
from tastebud.learning.seed import SeedStrategy

RESULTS = HERE.parent / "results" / "quality.json"

SIM_EVENTS = (100, 500, 2_000)
QUICK_SIM_EVENTS = (100, 500)
NEW_PROMPTS_EVENTS = 500
HISTORY_BATCH = 4

EXPLORE_EVENTS = 2_000
QUICK_EXPLORE_EVENTS = 1_000
EXPLORE_BATCH = 8

FOLDS = 5

LABELS = {
    "thompson": "thompson (no context)",
}
"""Display names where a peer's own name leaves out what matters."""


# -- the contestants --------------------------------------------------------------------------


def recommenders(seed: int) -> list[Recommender]:
    return [
        RandomPeer(seed),
        BestOverallPeer(seed),
        StrategyRecommender(SeedStrategy()),
        ThompsonPeer(seed),
        VowpalWabbitPeer(seed),
        StrategyRecommender(BayesStrategy()),
        StrategyRecommender(BayesStrategy(), "default + decay (30 days)", half_life=30.0),
        LogisticReference(),
    ]


def explorers(seed: int) -> list[tuple[str, Explorer]]:
    return [
        ("random", RandomPeer(seed)),
        ("best-overall (greedy)", BestOverallPeer(seed)),
        ("thompson (no context)", ThompsonPeer(seed)),
        ("vowpal-wabbit", VowpalWabbitPeer(seed)),
        ("seed (greedy)", GreedyExplorer(SeedStrategy())),
        ("default (Explore)", TastebudExplorer(BayesStrategy())),
    ]


def rating_recommenders() -> list[tuple[str, Callable[[], Recommender]]]:
    """Each fold fits a fresh one (every peer seeded 0, so every run gives the same figures)."""
    return [
        ("random", lambda: RandomPeer(0)),
        ("best-overall", lambda: BestOverallPeer(0)),
        ("seed", lambda: StrategyRecommender(SeedStrategy())),
        ("thompson (no context)", lambda: ThompsonPeer(0)),
        ("vowpal-wabbit", lambda: VowpalWabbitPeer(0)),
        ("default", lambda: StrategyRecommender(BayesStrategy())),
        ("logistic regression (per image)", LogisticReference),
    ]


def label(name: str) -> str:
    return LABELS.get(name, name)


# -- figures ----------------------------------------------------------------------------------


def summary(values: Sequence[float]) -> dict[str, object]:
    """Mean and sample standard deviation over seeds, with every seed's value."""
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return {"mean": statistics.fmean(values), "sd": sd, "per_seed": list(values)}


def pm(found: dict[str, object], digits: int = 3) -> str:
    return f"{found['mean']:.{digits}f} ± {found['sd']:.{digits}f}"


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A markdown table, padded so it also reads as plain text."""
    widths = [max(len(row[index]) for row in [header, *rows]) for index in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        padded = [
            cell.ljust(width) if index == 0 else cell.rjust(width)
            for index, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ]
        return "| " + " | ".join(padded) + " |"

    rule = "|" + "|".join(
        "-" * (width + 1) + (":" if index else "-") for index, width in enumerate(widths)
    )
    return "\n".join([line(header), rule + "|", *(line(row) for row in rows)])


# -- 1. simulator, recommendation quality -----------------------------------------------------


def simulate_recommendations(seeds: int, events: Sequence[int]) -> dict[str, object]:
    """Share of the oracle's keep chance, per recommender, per history length, per seed."""
    columns = [(f"after {n:,} events", n, False) for n in events]
    columns.append((f"{NEW_PROMPTS_EVENTS:,}, new prompts", NEW_PROMPTS_EVENTS, True))
    shares: dict[str, dict[str, list[float]]] = {}
    oracle_keep: dict[str, list[float]] = {column: [] for column, _, _ in columns}
    ceiling: dict[str, list[float]] = {column: [] for column, _, _ in columns}
    ceiling_pick: dict[str, list[str]] = {column: [] for column, _, _ in columns}
    for seed in range(seeds):
        pristine = User(seed)
        candidates = list(pristine.checkpoints)
        splits = {False: split_prompts(seed), True: split_prompts(seed, pool=0)}
        for column, n, unseen in columns:
            pool, scored = splits[unseen]
            user = copy.deepcopy(pristine)  # the same as a fresh User(seed), without rebuilding
            judged = history(user, pool, n, HISTORY_BATCH, random.Random(seed))
            # The taste at time n, read once: each scored prompt's keep chance per checkpoint.
            keep = [{name: user.keep_chance(k, name) for name in candidates} for k in scored]
            oracle = math.fsum(max(chances.values()) for chances in keep)
            oracle_keep[column].append(oracle / len(scored))
            best = max(candidates, key=lambda name: math.fsum(c[name] for c in keep))
            ceiling[column].append(math.fsum(c[best] for c in keep) / oracle)
            ceiling_pick[column].append(best)
            for recommender in recommenders(seed):
                recommender.fit(judged, now=user.day)
                got = math.fsum(
                    chances[recommender.recommend(k, candidates)]
                    for k, chances in zip(scored, keep, strict=True)
                )
                by_column = shares.setdefault(label(recommender.name), {})
                by_column.setdefault(column, []).append(got / oracle)
        print(f"  seed {seed} done", flush=True)
    return {
        "columns": [column for column, _, _ in columns],
        "share_of_oracle": {
            name: {column: summary(values) for column, values in found.items()}
            for name, found in shares.items()
        },
        "oracle_mean_keep_chance": {c: summary(v) for c, v in oracle_keep.items()},
        "ceiling_without_context": {c: summary(v) for c, v in ceiling.items()},
        "ceiling_checkpoint": ceiling_pick,
    }


def print_recommendations(found: dict[str, object], seeds: int) -> None:
    columns: list[str] = found["columns"]  # type: ignore[assignment]
    shares: dict[str, dict[str, dict[str, object]]] = found["share_of_oracle"]  # type: ignore[assignment]
    print(f"\n### 1. Simulator: share of the oracle's keep chance (mean ± sd over {seeds} seeds)\n")
    rows = [[name, *(pm(by_column[c]) for c in columns)] for name, by_column in shares.items()]
    print(table(["recommender", *columns], rows))
    oracle: dict[str, dict[str, object]] = found["oracle_mean_keep_chance"]  # type: ignore[assignment]
    ceiling: dict[str, dict[str, object]] = found["ceiling_without_context"]  # type: ignore[assignment]
    print(
        "\noracle's mean keep chance on the scored prompts: "
        + "; ".join(f"{pm(oracle[c])} ({c})" for c in columns)
    )
    print(
        "ceiling without context (the one checkpoint best over all scored prompts), share: "
        + "; ".join(f"{pm(ceiling[c])} ({c})" for c in columns)
    )


# -- 2. explore mode, cumulative regret -------------------------------------------------------


def simulate_exploration(seeds: int, events: int) -> dict[str, object]:
    """Cumulative regret and late keep chance, per explorer, per seed: every explorer sees the
    same person, the same prompts and LoRAs, and an allocation rng of its own seeded alike."""
    batches = events // EXPLORE_BATCH
    early = events // 4
    late = events // 4
    regret_early: dict[str, list[float]] = {}
    regret_all: dict[str, list[float]] = {}
    keep_late: dict[str, list[float]] = {}
    oracle_late: list[float] = []
    took: dict[str, float] = {}
    for seed in range(seeds):
        pristine = User(seed)
        candidates = list(pristine.checkpoints)
        pool, _ = split_prompts(seed)
        environment = random.Random(seed)
        prompts = [environment.choice(pool) for _ in range(batches)]
        loras = [
            [pristine.random_loras(environment) for _ in range(EXPLORE_BATCH)]
            for _ in range(batches)
        ]
        for name, explorer in explorers(seed):
            started = time.perf_counter()
            user = copy.deepcopy(pristine)
            allocation = random.Random(1000 + seed)
            regrets: list[float] = []
            kept: list[float] = []
            best_kept: list[float] = []
            for keywords, batch_loras in zip(prompts, loras, strict=True):
                picks = explorer.allocate(keywords, candidates, EXPLORE_BATCH, allocation)
                # Regret before judging: judging moves time on, and the taste with it.
                chances = {
                    checkpoint: user.keep_chance(keywords, checkpoint) for checkpoint in candidates
                }
                best = max(chances.values())
                for checkpoint, _ in picks:
                    regrets.append(best - chances[checkpoint])
                    kept.append(chances[checkpoint])
                    best_kept.append(best)
                images = [
                    (checkpoint, extra)
                    for (checkpoint, _), extra in zip(picks, batch_loras, strict=True)
                ]
                judged = user.judge(keywords, images, [p for _, p in picks])
                explorer.learn(judged, now=user.day)
            regret_early.setdefault(name, []).append(math.fsum(regrets[:early]))
            regret_all.setdefault(name, []).append(math.fsum(regrets))
            keep_late.setdefault(name, []).append(statistics.fmean(kept[-late:]))
            took[name] = took.get(name, 0.0) + time.perf_counter() - started
        # The oracle's figure is the same for every explorer: the taste drifts alike for all.
        oracle_late.append(statistics.fmean(best_kept[-late:]))
        print(f"  seed {seed} done", flush=True)
    return {
        "events": batches * EXPLORE_BATCH,
        "batch": EXPLORE_BATCH,
        "early_events": early,
        "late_events": late,
        "regret_early": {name: summary(v) for name, v in regret_early.items()},
        "regret_all": {name: summary(v) for name, v in regret_all.items()},
        "keep_chance_late": {name: summary(v) for name, v in keep_late.items()},
        "oracle_keep_chance_late": summary(oracle_late),
        "seconds_per_explorer": {name: round(value, 2) for name, value in took.items()},
    }


def print_exploration(found: dict[str, object], seeds: int) -> None:
    events, early, late = found["events"], found["early_events"], found["late_events"]
    print(
        f"\n### 2. Explore mode: cumulative regret over {events:,} images in batches of"
        f" {found['batch']} (mean ± sd over {seeds} seeds; lower is better)\n"
    )
    regret_early: dict[str, dict[str, object]] = found["regret_early"]  # type: ignore[assignment]
    regret_all: dict[str, dict[str, object]] = found["regret_all"]  # type: ignore[assignment]
    keep_late: dict[str, dict[str, object]] = found["keep_chance_late"]  # type: ignore[assignment]
    header = [
        "explorer",
        f"regret after {early:,} events",
        f"regret after {events:,} events",
        f"mean keep chance, last {late:,} events",
    ]
    rows = [
        [name, pm(regret_early[name], 1), pm(regret_all[name], 1), pm(keep_late[name])]
        for name in regret_all
    ]
    print(table(header, rows))
    oracle: dict[str, object] = found["oracle_keep_chance_late"]  # type: ignore[assignment]
    print(f"\noracle's mean keep chance over the last {late:,} events: {pm(oracle)}")
    times: dict[str, float] = found["seconds_per_explorer"]  # type: ignore[assignment]
    print(
        "seconds per explorer (all seeds, judging included): "
        + ", ".join(f"{name} {value:.1f}" for name, value in times.items())
    )


# -- 3. real human ratings --------------------------------------------------------------------


def rate_real(folds: int) -> dict[str, object]:
    found: dict[str, object] = {}
    for path, load in ((GENAI_BENCH, load_genai_bench), (TIFA, load_tifa), (AGIQA, load_agiqa)):
        dataset = load()
        if dataset is None:
            print(f"  skipped: {path} absent", flush=True)
            found[path.name] = {"skipped": f"{path} absent"}
            continue
        scores: dict[str, object] = {}
        for name, make in rating_recommenders():
            score = evaluate(dataset, make, folds=folds, seed=0)
            scores[name] = {
                "top1": score.top1,
                "fold_top1": list(score.fold_top1),
                "mean_rating": score.mean_rating,
            }
        found[dataset.name] = {
            "rule": dataset.rule,
            "prompts": len(dataset.prompts),
            "models": len(dataset.models()),
            "judgements": len(dataset.judgements()),
            "recommenders": scores,
        }
        print(f"  {dataset.name} done", flush=True)
    return found


def print_ratings(found: dict[str, object], folds: int) -> None:
    datasets = {name: d for name, d in found.items() if "recommenders" in d}  # type: ignore[operator]
    print(
        f"\n### 3. Real human ratings: top-1 agreement (min–max over {folds} folds), mean rating\n"
    )
    for name, entry in found.items():
        if name not in datasets:
            print(f"skipped: {entry['skipped']}")  # type: ignore[index]
    if not datasets:
        return
    header = ["recommender"]
    for name in datasets:
        header += [f"{name} top-1", f"{name} rating"]
    names: list[str] = list(next(iter(datasets.values()))["recommenders"])  # type: ignore[index]
    rows = []
    for recommender in names:
        row = [recommender]
        for entry in datasets.values():
            score = entry["recommenders"][recommender]  # type: ignore[index]
            folds_top1 = score["fold_top1"]
            row.append(f"{score['top1']:.3f} ({min(folds_top1):.3f}–{max(folds_top1):.3f})")
            row.append(f"{score['mean_rating']:.3f}")
        rows.append(row)
    print(table(header, rows))
    print()
    for name, entry in datasets.items():
        print(
            f"- {name} ({entry['prompts']} prompts, {entry['models']} models,"  # type: ignore[index]
            f" {entry['judgements']:,} judgements): {entry['rule']}"  # type: ignore[index]
        )


# -- the command ------------------------------------------------------------------------------


def machine() -> dict[str, object]:
    def git(*arguments: str) -> str:
        command = ["git", "-C", str(HERE.parent.parent), *arguments]
        return subprocess.run(command, check=False, capture_output=True, text=True).stdout.strip()

    import vowpalwabbit

    dirty = " + uncommitted changes" if git("status", "--porcelain", "src", "bench") else ""
    return {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cores": os.cpu_count(),
        "vowpalwabbit": getattr(vowpalwabbit, "__version__", "?"),
        "tastebud": tastebud.__version__,
        "code": f"{git('rev-parse', '--short', 'HEAD')}{dirty}",
    }


def main(args: argparse.Namespace) -> None:
    seeds = 2 if args.quick else args.seeds
    sim_events = QUICK_SIM_EVENTS if args.quick else SIM_EVENTS
    explore_events = QUICK_EXPLORE_EVENTS if args.quick else EXPLORE_EVENTS
    parts = [args.only] if args.only else ["sim", "explore", "ratings"]
    began = time.perf_counter()
    about = machine()
    print("machine: " + ", ".join(f"{key} {value}" for key, value in about.items()))
    print(f"seeds: {seeds}{' (quick)' if args.quick else ''}; parts: {', '.join(parts)}")
    print(f"data folder: {SHARED_DATA}")
    if not PROMPTS.exists():
        print(f"NOTE: {PROMPTS} is absent; the simulator uses prompts from a generated vocabulary")
    results: dict[str, object] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": about,
        "seeds": seeds,
        "quick": args.quick,
        "data": str(SHARED_DATA),
    }
    timings: dict[str, float] = {}

    def timed(part: str, run: Callable[[], dict[str, object]]) -> dict[str, object]:
        print(f"\n[{part}] running", flush=True)
        started = time.perf_counter()
        found = run()
        timings[part] = round(time.perf_counter() - started, 1)
        print(f"[{part}] took {timings[part]:.1f} s", flush=True)
        return found

    if "sim" in parts:
        results["simulator"] = timed("sim", lambda: simulate_recommendations(seeds, sim_events))
    if "explore" in parts:
        results["explore"] = timed("explore", lambda: simulate_exploration(seeds, explore_events))
    if "ratings" in parts:
        results["ratings"] = timed("ratings", lambda: rate_real(FOLDS))

    if "simulator" in results:
        print_recommendations(results["simulator"], seeds)  # type: ignore[arg-type]
    if "explore" in results:
        print_exploration(results["explore"], seeds)  # type: ignore[arg-type]
    if "ratings" in results:
        print_ratings(results["ratings"], FOLDS)  # type: ignore[arg-type]

    total = time.perf_counter() - began
    results["timings_s"] = timings
    results["total_s"] = round(total, 1)
    print(
        "\ntime: " + ", ".join(f"{part} {value:.1f} s" for part, value in timings.items()), end=""
    )
    print(f"; total {total:.1f} s")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"written {RESULTS.relative_to(HERE.parent.parent)}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5, help="simulated people (default 5)")
    parser.add_argument("--quick", action="store_true", help="2 seeds, fewer events: a smoke run")
    parser.add_argument("--only", choices=("sim", "explore", "ratings"), help="run one part")
    main(parser.parse_args())
