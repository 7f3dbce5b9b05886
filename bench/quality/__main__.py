"""tastebud quality benchmark: does it learn what a person likes? One command, four parts.

    .venv/bin/python bench/quality                  # 8 seeds, every part
    .venv/bin/python bench/quality --quick          # 2 seeds, fewer horizons: a smoke run
    .venv/bin/python bench/quality --only themes    # one part: sim, themes, explore or ratings

1. Independent-affinity simulator (``simulator.py``): every keyword its own affinity with every
   checkpoint, so there is little to learn; the guard that a learner does not invent taste.
2. Themes simulator (``themes.py``): a taste over themes of related words, learnable but not
   trivially; with a ceiling, a learner told each prompt's themes.
   In both, each recommender is fit on a person's first 100 / 300 / 800 / 2,000 judged images and
   scored on their next 300 prompts by the keep chance of its pick, as a share of the oracle's
   gain over random (``scoring.py``), per seed; the default (and each of its ablations, a part
   switched off) is compared with every other recommender by paired differences per seed.
3. Explore mode, cumulative regret: each explorer splits 250 batches of 8 images online and learns
   from how they were judged; regret is the keep chance lost against the oracle, image by image.
4. Real human ratings: GenAI-Bench, TIFA and AGIQA-3K, 5-fold by prompt, and TIFA per rater
   (``ratings.py``), as shares of the best model's gain over the mean, with paired intervals.

The default is tastebud's default strategy fitted the way the service fits it (``learner.py``);
the previous default (``BayesStrategy``) runs beside it.

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
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
# The benchmark's modules import each other as siblings (``from common import ...``).
sys.path.insert(0, str(HERE))

import learner
import themes
from common import SHARED_DATA, Explorer, Judgement, Recommender, StrategyRecommender
from explorers import GreedyExplorer, TastebudExplorer
from looks import StyledUser
from peers import (
    BestOverallPeer,
    PublicAppPeer,
    RandomPeer,
    ShrinkagePeer,
    ThompsonPeer,
    VowpalWabbitPeer,
)
from ratings import (
    AGIQA,
    GENAI_BENCH,
    TIFA,
    Score,
    evaluate,
    evaluate_per_rater,
    load_agiqa,
    load_genai_bench,
    load_tifa,
    raters,
)
from reference import LogisticReference
from scoring import interval, keep_share, mean_interval, paired, pm, subjects, summary, table
from simulator import PROMPTS, User, history, split_prompts
from themes import Person, ThemesCeiling, scored_prompts

import tastebud
from tastebud.learning.bayes import BayesStrategy
from tastebud.learning.seed import SeedStrategy

RESULTS = HERE.parent / "results" / "quality.json"

SIM_EVENTS = (100, 300, 800, 2_000)
QUICK_SIM_EVENTS = (100, 800)
NEW_PROMPTS_EVENTS = 800
HISTORY_BATCH = 4
SCORED = 300
"""The person's next prompts each recommender is scored on."""

EXPLORE_EVENTS = 2_000
QUICK_EXPLORE_EVENTS = 500
EXPLORE_BATCH = 8
EXPLORE_SEEDS = 5

FOLDS = 5

# -- the recommenders --------------------------------------------------------------------------

Maker = Callable[[], Recommender]
FIRST_SEED = [0]
"""The first simulated person (``--first-seed``): the reported figures are seeds 0 to 7; settings
are compared on seeds from 100, never on those."""
WANT_ABLATIONS = [True]
"""Whether the default's ablations run (``--no-ablations`` leaves them out: a faster run). They run
on the themes simulator and the real ratings; on the independent-affinity simulator, where there
is nothing for the parts to find, they would double the run time for nothing."""


def ablations() -> list[tuple[str, Maker]]:
    return list(learner.ablations()) if WANT_ABLATIONS[0] else []


def recommenders(seed: int) -> list[tuple[str, Maker]]:
    """Every recommender of the simulators, fresh per fit, randomness seeded by ``seed``."""
    return [
        ("random", lambda: RandomPeer(seed)),
        ("best-overall", lambda: BestOverallPeer(seed)),
        ("seed", lambda: StrategyRecommender(SeedStrategy())),
        ("thompson (no context)", lambda: ThompsonPeer(seed)),
        ("vowpal-wabbit", lambda: VowpalWabbitPeer(seed)),
        ("public app", lambda: PublicAppPeer(seed)),
        ("plain shrinkage", lambda: ShrinkagePeer(seed)),
        ("previous default", lambda: StrategyRecommender(BayesStrategy())),
        ("logistic regression (per image)", LogisticReference),
        ("default", learner.TastebudRecommender),
    ]


def themes_recommenders(seed: int) -> list[tuple[str, Maker]]:
    """The simulators' recommenders and, for the themes simulator only, its ceiling."""
    return [*recommenders(seed), *ablations(), ("ceiling (told the themes)", ThemesCeiling)]


def explorers(seed: int) -> list[tuple[str, Explorer]]:
    return [
        ("random", RandomPeer(seed)),
        ("best-overall (greedy)", BestOverallPeer(seed)),
        ("thompson (no context)", ThompsonPeer(seed)),
        ("vowpal-wabbit", VowpalWabbitPeer(seed)),
        ("seed (greedy)", GreedyExplorer(SeedStrategy())),
        ("previous default (Explore)", TastebudExplorer(BayesStrategy())),
        ("default (Explore)", learner.TastebudExplorer()),
    ]


def rating_recommenders() -> list[tuple[str, Maker]]:
    """Each fold fits a fresh one (every peer seeded 0, so every run gives the same figures)."""
    return [*recommenders(0), *ablations()]


# -- 1 and 2. simulators, recommendation quality ----------------------------------------------


@dataclass
class Column:
    """One horizon of one seed: the history every recommender is fit on, and what is scored."""

    label: str
    judged: list[Judgement]
    now: float
    scored: list[tuple[str, ...]]
    keep: list[dict[str, float]]
    """Per scored prompt, each candidate's keep chance at the taste of that moment."""


def independent_columns(seed: int, events: Sequence[int], unseen: int) -> Iterator[Column]:
    """The independent-affinity simulator's horizons for one seed, and its new-prompts column."""
    return person_columns(User(seed), seed, events, unseen)


def looks_columns(seed: int, events: Sequence[int], unseen: int) -> Iterator[Column]:
    """The style simulator's horizons for one seed (``looks.py``), and its new-prompts column."""
    return person_columns(StyledUser(seed), seed, events, unseen)


def person_columns(
    pristine: User, seed: int, events: Sequence[int], unseen: int
) -> Iterator[Column]:
    """A simulated person's horizons (the history of each, and what is scored after it)."""
    candidates = list(pristine.checkpoints)
    splits = {False: split_prompts(seed), True: split_prompts(seed, pool=0)}
    plan = [(f"{n:,}", n, False) for n in events] + [(f"{unseen:,}, new prompts", unseen, True)]
    for name, n, new in plan:
        pool, scored = splits[new]
        user = copy.deepcopy(pristine)  # the same as a fresh person, without rebuilding
        judged = history(user, pool, n, HISTORY_BATCH, random.Random(seed))
        keep = [{c: user.keep_chance(k, c) for c in candidates} for k in scored]
        yield Column(name, judged, user.day, scored, keep)


def looks_recommenders(seed: int) -> list[tuple[str, Maker]]:
    """The style simulator's contestants: the default against itself without the style part."""
    return [
        ("random", lambda: RandomPeer(seed)),
        ("best-overall", lambda: BestOverallPeer(seed)),
        ("plain shrinkage", lambda: ShrinkagePeer(seed)),
        (
            "default, no style",
            lambda: learner.TastebudRecommender("default, no style", style=False),
        ),
        ("default", learner.TastebudRecommender),
    ]


def themes_columns(seed: int, events: Sequence[int], unseen: int) -> Iterator[Column]:
    """The themes simulator's horizons for one seed, and its new-prompts column."""
    pristine = Person(seed)
    candidates = list(pristine.checkpoints)
    plan = [(f"{n:,}", n, False) for n in events] + [(f"{unseen:,}, new prompts", unseen, True)]
    for name, n, new in plan:
        person = copy.deepcopy(pristine)
        judged = themes.history(person, n, HISTORY_BATCH, random.Random(seed))
        # The same draw of next prompts at every horizon: only the history (and the taste's
        # moment) differs from column to column.
        scored = scored_prompts(person, SCORED, random.Random(seed + 500), new_words=new)
        keep = [{c: person.keep_chance(k, c) for c in candidates} for k in scored]
        yield Column(name, judged, person.day, scored, keep)


def simulate(
    seeds: int,
    columns_of: Callable[[int], Iterator[Column]],
    makers_of: Callable[[int], list[tuple[str, Maker]]],
) -> dict[str, object]:
    """Share of the oracle's gain over random per recommender, per column, per seed; paired
    differences of the default against every other recommender."""
    shares: dict[str, dict[str, list[float]]] = {}
    best_single: dict[str, list[float]] = {}
    oracle_keep: dict[str, list[float]] = {}
    random_keep: dict[str, list[float]] = {}
    took: dict[str, float] = {}
    columns: list[str] = []
    for seed in range(FIRST_SEED[0], FIRST_SEED[0] + seeds):
        for column in columns_of(seed):
            if column.label not in columns:
                columns.append(column.label)
            candidates = list(column.keep[0])
            prompts = len(column.scored)
            oracle_keep.setdefault(column.label, []).append(
                math.fsum(max(c.values()) for c in column.keep) / prompts
            )
            random_keep.setdefault(column.label, []).append(
                math.fsum(math.fsum(c.values()) / len(c) for c in column.keep) / prompts
            )
            # The one checkpoint best over all the scored prompts: the ceiling without context.
            best = max(candidates, key=lambda name: math.fsum(c[name] for c in column.keep))
            best_single.setdefault(column.label, []).append(
                keep_share(column.keep, [best] * prompts)
            )
            for name, make in makers_of(seed):
                started = time.perf_counter()
                recommender = make()
                recommender.fit(column.judged, now=column.now)
                picks = [recommender.recommend(k, candidates) for k in column.scored]
                took[name] = took.get(name, 0.0) + time.perf_counter() - started
                found = keep_share(column.keep, picks)
                shares.setdefault(name, {}).setdefault(column.label, []).append(found)
        print(f"  seed {seed} done", flush=True)
    return {
        "columns": columns,
        "share_of_gain": {
            name: {column: summary(values) for column, values in found.items()}
            for name, found in shares.items()
        },
        "paired": paired_table(shares, columns),
        "best_single_checkpoint_share": {c: summary(v) for c, v in best_single.items()},
        "oracle_mean_keep_chance": {c: summary(v) for c, v in oracle_keep.items()},
        "random_mean_keep_chance": {c: summary(v) for c, v in random_keep.items()},
        "seconds_per_recommender": {name: round(value, 2) for name, value in took.items()},
    }


def paired_table(
    shares: dict[str, dict[str, list[float]]], columns: Sequence[str]
) -> dict[str, dict[str, dict[str, object]]]:
    """``subject − other`` -> column -> the mean paired difference over seeds and its interval."""
    found: dict[str, dict[str, dict[str, object]]] = {}
    for subject in subjects(list(shares)):
        for other in shares:
            if other != subject:
                found[f"{subject} − {other}"] = {
                    column: paired(shares[subject][column], shares[other][column])
                    for column in columns
                }
    return found


def print_simulation(title: str, found: dict[str, object], seeds: int) -> None:
    columns: list[str] = found["columns"]  # type: ignore[assignment]
    shares: dict[str, dict[str, dict[str, object]]] = found["share_of_gain"]  # type: ignore[assignment]
    header = ["recommender", *(f"after {c}" for c in columns)]
    print(f"\n### {title}: share of the oracle's gain over random (mean ± sd, {seeds} seeds)\n")
    rows = [[name, *(pm(by_column[c]) for c in columns)] for name, by_column in shares.items()]
    print(table(header, rows))
    differences: dict[str, dict[str, dict[str, object]]] = found["paired"]  # type: ignore[assignment]
    print(f"\n{title}: paired difference of shares per seed, mean [95% t-interval]\n")
    rows = [
        [pair, *(interval(by_column[c]) for c in columns)]
        for pair, by_column in differences.items()
    ]
    print(table(["pair", *columns], rows))
    for key, what in (
        ("best_single_checkpoint_share", "one checkpoint best over all scored prompts, share"),
        ("oracle_mean_keep_chance", "oracle's mean keep chance"),
        ("random_mean_keep_chance", "random's mean keep chance"),
    ):
        by_column: dict[str, dict[str, object]] = found[key]  # type: ignore[assignment]
        print(f"\n{what}: " + "; ".join(f"{pm(by_column[c])} ({c})" for c in columns), end="")
    times: dict[str, float] = found["seconds_per_recommender"]  # type: ignore[assignment]
    print(
        "\nseconds per recommender (all fits and picks): "
        + ", ".join(f"{name} {value:.1f}" for name, value in times.items())
    )


# -- 3. explore mode, cumulative regret -------------------------------------------------------


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
        f"\n### 3. Explore mode: cumulative regret over {events:,} images in batches of"
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


# -- 4. real human ratings --------------------------------------------------------------------


def rate_real(folds: int) -> dict[str, object]:
    """Per dataset (and TIFA per rater): share of the gain, top-1, and paired intervals."""
    found: dict[str, object] = {}
    for path, load in ((GENAI_BENCH, load_genai_bench), (TIFA, load_tifa), (AGIQA, load_agiqa)):
        dataset = load()
        if dataset is None:
            print(f"  skipped: {path} absent", flush=True)
            found[path.name] = {"skipped": f"{path} absent"}
            continue
        runs = [(dataset.name, evaluate, len(dataset.prompts))]
        if raters(dataset) > 1:
            runs.append((f"{dataset.name} per rater", evaluate_per_rater, len(dataset.prompts)))
        for name, run, prompts in runs:
            scores = {label: run(dataset, make, folds, 0) for label, make in rating_recommenders()}
            found[name] = {
                "rule": dataset.rule,
                "prompts": prompts,
                "units": len(next(iter(scores.values())).gains),
                "models": len(dataset.models()),
                "judgements": len(dataset.judgements()),
                "recommenders": {
                    label: {
                        "share": score.share,
                        "top1": score.top1,
                        "mean_rating": score.mean_rating,
                    }
                    for label, score in scores.items()
                },
                "paired": rating_pairs(scores),
            }
            print(f"  {name} done", flush=True)
    return found


def rating_pairs(scores: dict[str, Score]) -> dict[str, dict[str, object]]:
    """``subject − other`` -> the difference of shares with a 95% t-interval over prompts.

    The difference of two ratios of sums over the same prompts is the mean per-prompt difference
    of gains over the mean spread; the spread (the data's, not a recommender's) is held fixed.
    """
    found: dict[str, dict[str, object]] = {}
    for subject in subjects(list(scores)):
        spread = statistics.fmean(scores[subject].spreads)
        for other, score in scores.items():
            if other != subject:
                gaps = [a - b for a, b in zip(scores[subject].gains, score.gains, strict=True)]
                found[f"{subject} − {other}"] = mean_interval(gaps, scale=spread)
    return found


def print_ratings(found: dict[str, object], folds: int) -> None:
    datasets = {name: d for name, d in found.items() if "recommenders" in d}  # type: ignore[operator]
    print(
        f"\n### 4. Real human ratings, {folds}-fold by prompt: share of the best model's gain over"
        " the mean (top-1 in brackets)\n"
    )
    for name, entry in found.items():
        if name not in datasets:
            print(f"skipped: {entry['skipped']}")  # type: ignore[index]
    if not datasets:
        return
    names: list[str] = list(next(iter(datasets.values()))["recommenders"])  # type: ignore[index]
    rows = []
    for recommender in names:
        row = [recommender]
        for entry in datasets.values():
            score = entry["recommenders"][recommender]  # type: ignore[index]
            row.append(f"{score['share']:.3f} ({score['top1']:.3f})")
        rows.append(row)
    print(table(["recommender", *datasets], rows))
    pairs: list[str] = list(next(iter(datasets.values()))["paired"])  # type: ignore[index]
    print("\nReal ratings: paired difference of shares, mean [95% t-interval over prompts]\n")
    rows = [
        [pair, *(interval(entry["paired"][pair]) for entry in datasets.values())]  # type: ignore[index]
        for pair in pairs
    ]
    print(table(["pair", *datasets], rows))
    print()
    for name, entry in datasets.items():
        print(
            f"- {name} ({entry['prompts']} prompts, {entry['units']} scored,"  # type: ignore[index]
            f" {entry['models']} models, {entry['judgements']:,} judgements):"  # type: ignore[index]
            f" {entry['rule']}"  # type: ignore[index]
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
    unseen = NEW_PROMPTS_EVENTS
    explore_events = QUICK_EXPLORE_EVENTS if args.quick else EXPLORE_EVENTS
    parts = [args.only] if args.only else ["sim", "themes", "explore", "ratings", "looks"]
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

    WANT_ABLATIONS[0] = not args.no_ablations
    FIRST_SEED[0] = args.first_seed
    if "sim" in parts:
        results["simulator"] = timed(
            "sim",
            lambda: simulate(
                seeds, lambda seed: independent_columns(seed, sim_events, unseen), recommenders
            ),
        )
    if "themes" in parts:
        results["themes"] = timed(
            "themes",
            lambda: simulate(
                seeds, lambda seed: themes_columns(seed, sim_events, unseen), themes_recommenders
            ),
        )
    if "explore" in parts:
        # Regret online is a side figure: 5 seeds keep the run short.
        explore_seeds = min(seeds, EXPLORE_SEEDS)
        results["explore"] = timed(
            "explore", lambda: simulate_exploration(explore_seeds, explore_events)
        )
    if "ratings" in parts:
        results["ratings"] = timed("ratings", lambda: rate_real(FOLDS))
    if "looks" in parts:
        results["looks"] = timed(
            "looks",
            lambda: simulate(
                seeds, lambda seed: looks_columns(seed, sim_events, unseen), looks_recommenders
            ),
        )

    if "simulator" in results:
        title = "1. Independent-affinity simulator"
        print_simulation(title, results["simulator"], seeds)  # type: ignore[arg-type]
    if "themes" in results:
        print_simulation("2. Themes simulator", results["themes"], seeds)  # type: ignore[arg-type]
    if "explore" in results:
        print_exploration(results["explore"], min(seeds, EXPLORE_SEEDS))  # type: ignore[arg-type]
    if "ratings" in results:
        print_ratings(results["ratings"], FOLDS)  # type: ignore[arg-type]
    if "looks" in results:
        print_simulation("5. Style simulator", results["looks"], seeds)  # type: ignore[arg-type]

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
    parser.add_argument("--seeds", type=int, default=8, help="simulated people (default 8)")
    parser.add_argument("--quick", action="store_true", help="2 seeds, fewer events: a smoke run")
    parser.add_argument(
        "--only", choices=("sim", "themes", "explore", "ratings", "looks"), help="run one part"
    )
    parser.add_argument(
        "--no-ablations", action="store_true", help="leave out the default's ablations"
    )
    parser.add_argument(
        "--first-seed", type=int, default=0,
        help="the first simulated person (default 0; compare settings from 100, never on 0-7)",
    )  # fmt: skip
    main(parser.parse_args())
