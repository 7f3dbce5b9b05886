"""A simulated ComfyUI session through tastebud's node pack: what the nodes are worth to a person.

    .venv/bin/python bench/integrations.py             # 5 seeds x 4 arms x 150 batches of 4
    .venv/bin/python bench/integrations.py --quick     # 1 seed, 40 batches: a smoke test

A simulated person (bench/quality/simulator.py: a taste in keyword x checkpoint affinities that
drifts, real DiffusionDB prompts from a pool of 200, at most 2 kept per batch) has already
imported 400 judged images into a real ``tastebud serve`` (started as a user starts it, on
loopback). Then they work in ComfyUI for a session: each queued run a prompt, a batch of 4 from
one checkpoint, judged in the picker. The real pack runs it (``TastebudCheckpoint`` in
a stand-in ComfyUI, ``TastebudPicker`` posting the judged batch to tastebud), with each arm's
checkpoint choice:

* **explore**: ``TastebudCheckpoint`` in Explore mode (one checkpoint drawn per run);
* **best**: ``TastebudCheckpoint`` in best mode;
* **usual**: the checkpoint this person has kept most so far (the peer a recommender must beat);
* **random**: a checkpoint at random.

Scored on the truth the simulator knows: the chance that an image of the chosen checkpoint is
kept, as a share of the oracle's gain over random (0 = random, 1 = always the best checkpoint for
the prompt), over the session's second half, and the images actually kept. Paired by seed: every
arm sees the same person, history and prompts. Figures go to stdout and bench/results/
integrations.json (gitignored).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import random
import statistics
import sys
import tempfile
import time
import types
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PACK = ROOT / "integrations" / "comfyui"
sys.path[:0] = [str(HERE / "quality"), str(PACK / "tests"), str(ROOT / "tests")]

import comfyui_stand_ins  # the stand-in ComfyUI of the pack's tests
import numpy
from simulator import CHECKPOINTS, User, history, split_prompts

from test_server import serving

RESULTS = HERE / "results" / "integrations.json"
ARMS = ("explore", "best", "usual", "random")
BATCH = 4
IMPORTED = 400


def load_pack() -> types.ModuleType:
    comfyui_stand_ins.INSTALLED["checkpoints"] = list(CHECKPOINTS)
    comfyui_stand_ins.INSTALLED["loras"] = []
    return comfyui_stand_ins.load_pack(PACK)


def prompt_text(keywords: tuple[str, ...]) -> str:
    return ", ".join(keywords)


def import_history(server: str, user_id: str, user: User, prompts: list[Any], seed: int) -> None:
    """The person's folder, imported: ``IMPORTED`` judged images, in batches as they were made."""
    judged = history(user, prompts, IMPORTED, BATCH, random.Random(seed))
    for start in range(0, len(judged), BATCH):
        part = judged[start : start + BATCH]
        ids = [f"imported-{seed}-{start + i}" for i in range(len(part))]
        kept = [ids[i] for i, item in enumerate(part) if item.selected]
        httpx.post(f"{server}/api/preferences/batch", json={
            "outcome": "advance" if kept else "reject_all", "selected": kept, "user_id": user_id,
            "images": [
                {"generation_id": ids[i], "prompt": prompt_text(item.keywords),
                 "checkpoint": item.checkpoint,
                 "loras": [{"name": n, "strength": s} for n, s in item.loras]}
                for i, item in enumerate(part)
            ],
        }, timeout=30).raise_for_status()  # fmt: skip


def session(
    pack: types.ModuleType, server: str, arm: str, seed: int, batches: int
) -> dict[str, float]:
    """One person's session in one arm; returns its scores."""
    user = User(seed)
    pool, _ = split_prompts(seed)
    user_id = f"{arm}-{seed}"
    import_history(server, user_id, user, pool, seed)
    kept_counts = Counter(
        item["checkpoint"]
        for item in httpx.get(f"{server}/api/preferences", params={
            "user_id": user_id, "action": "selected", "limit": 500}).json()["preferences"]
    )  # fmt: skip
    rng = random.Random(seed * 7 + 1)  # the same prompts and images for every arm
    choose = random.Random(seed * 13 + ARMS.index(arm))
    checkpoint_node = pack.NODE_CLASS_MAPPINGS["TastebudCheckpoint"]()
    picker = pack.NODE_CLASS_MAPPINGS["TastebudPicker"]()
    shares, kept_images = [], 0
    for number in range(batches):
        keywords = rng.choice(pool)
        prompt = prompt_text(keywords)
        extra: dict[str, Any] = {}
        if arm in ("explore", "best"):
            name = checkpoint_node.choose(
                prompt, server=server, user_id=user_id, mode=arm, extra_pnginfo=extra
            )[3]
        elif arm == "usual":
            name = max(CHECKPOINTS, key=lambda c: (kept_counts[c], c))
        else:
            name = choose.choice(CHECKPOINTS)
        chances = [user.keep_chance(keywords, c) for c in CHECKPOINTS]
        floor, best = statistics.fmean(chances), max(chances)
        if number >= batches // 2:
            shares.append((user.keep_chance(keywords, name) - floor) / (best - floor))
        judged = user.judge(keywords, [(name, ())] * BATCH)
        answer = {"outcome": "advance", "kept": [i for i, j in enumerate(judged) if j.selected]}
        if not answer["kept"]:
            answer = {"outcome": "reject_all", "kept": []}
        comfyui_stand_ins.COMFYUI.on_message = lambda event, data, answer=answer: (
            pack.picker.PICKS.answer(data["pick_id"], answer) if event == "tastebud.pick" else None
        )
        images = numpy.random.default_rng([seed, number]).random((BATCH, 8, 8, 3))
        try:
            with contextlib.redirect_stdout(io.StringIO()):  # the picker's console line
                _, status = picker.pick(images, prompt, ckpt_name=name, server=server,
                                        user_id=user_id, extra_pnginfo=extra)  # fmt: skip
            assert "recorded in tastebud" in status, status
        except comfyui_stand_ins.InterruptProcessingException:
            pass  # Reject all: recorded, and the run stops
        kept = len(answer["kept"])
        kept_images += kept if number >= batches // 2 else 0
        for item in judged:
            if item.selected:
                kept_counts[item.checkpoint] += 1
    second_half = batches - batches // 2
    return {
        "share": statistics.fmean(shares),
        "kept_per_image": kept_images / (second_half * BATCH),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="1 seed, 40 batches: a smoke test")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--batches", type=int, default=150)
    args = parser.parse_args()
    seeds, batches = (1, 40) if args.quick else (args.seeds, args.batches)
    pack = load_pack()
    with tempfile.TemporaryDirectory() as folder:
        comfyui_stand_ins.COMFYUI.temp = Path(folder)
        # Started exactly as a user starts it, by tastebud's own test helper.
        with serving("--db", str(Path(folder) / "preferences.db")) as server:
            results: dict[str, list[dict[str, float]]] = {arm: [] for arm in ARMS}
            started = time.monotonic()
            for seed in range(seeds):
                for arm in ARMS:
                    results[arm].append(session(pack, server, arm, seed, batches))
                    print(f"seed {seed} {arm:8} {results[arm][-1]}", flush=True)
            elapsed = time.monotonic() - started
    report(results, seeds, batches, elapsed)


def report(
    results: dict[str, list[dict[str, float]]], seeds: int, batches: int, elapsed: float
) -> None:
    def spread(values: list[float]) -> str:
        sd = statistics.stdev(values) if len(values) > 1 else 0.0
        return f"{statistics.fmean(values):.3f} ± {sd:.3f}"

    print(f"\n{seeds} seeds x {batches} batches of {BATCH}, {elapsed:.0f} s; "
          "second half of each session (mean ± sd over seeds)\n")  # fmt: skip
    print("| arm | share of the oracle's gain over random | images kept per image |")
    print("| --- | --- | --- |")
    for arm in ARMS:
        shares = [r["share"] for r in results[arm]]
        kept = [r["kept_per_image"] for r in results[arm]]
        print(f"| {arm} | {spread(shares)} | {spread(kept)} |")
    for measure, title in (("share", "share"), ("kept_per_image", "images kept per image")):
        print(f"\nPaired differences in {title} (each arm minus the peer, per seed):\n")
        for arm, peer in (("explore", "usual"), ("best", "usual"), ("explore", "random"),
                          ("best", "random"), ("explore", "best")):  # fmt: skip
            diffs = [a[measure] - b[measure] for a, b in zip(results[arm], results[peer])]
            print(f"- {arm} - {peer}: {spread(diffs)}  (per seed: "
                  f"{', '.join(f'{d:+.3f}' for d in diffs)})")  # fmt: skip
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps({"seeds": seeds, "batches": batches, "results": results},
                                  indent=1))  # fmt: skip


if __name__ == "__main__":
    main()
