"""How the quality benchmark turns picks into figures: shares of the oracle's gain, paired intervals.

* **Share of the oracle's gain over random**: ``(pick - random) / (oracle - random)``, where
  ``random`` is the mean keep chance over the candidates (what a uniform pick gets on average) and
  ``oracle`` the best candidate's; so random scores 0 and the oracle 1, whatever the base rate.
  Sums over the scored prompts are taken before dividing (a ratio of sums), so a prompt where every
  candidate is alike weighs nothing instead of dividing by zero.
* **Paired differences**: two recommenders scored on the same people (or prompts) differ by much
  less than their spreads suggest, because a hard person is hard for both; the difference per seed
  (or per prompt) and a 95% t-interval of its mean say whether one is ahead.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence

T95 = {
    1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262,
    10: 2.228, 11: 2.201, 12: 2.179, 13: 2.160, 14: 2.145, 15: 2.131, 16: 2.120, 17: 2.110,
    18: 2.101, 19: 2.093, 20: 2.086, 21: 2.080, 22: 2.074, 23: 2.069, 24: 2.064, 25: 2.060,
    26: 2.056, 27: 2.052, 28: 2.048, 29: 2.045, 30: 2.042, 40: 2.021, 60: 2.000, 120: 1.980,
}  # fmt: skip
"""Two-sided 95% critical values of Student's t by degrees of freedom (1.960 beyond 120)."""


def t95(df: int) -> float:
    """The 95% two-sided t critical value; between tabulated rows, the smaller df's (wider)."""
    if df < 1:
        return math.nan
    usable = [row for row in T95 if row <= df]
    return T95[max(usable)] if df <= 120 else 1.960


def share(picked: float, random: float, oracle: float) -> float:
    """The pick's share of the oracle's gain over random (nan when there is no gain to share)."""
    gain = oracle - random
    return (picked - random) / gain if gain > 0 else math.nan


def keep_share(keep: Sequence[Mapping[str, float]], picks: Sequence[str]) -> float:
    """Share of the oracle's gain of ``picks``, one per scored prompt, given each prompt's keep
    chance per candidate (sums over prompts before dividing)."""
    picked = math.fsum(chances[pick] for chances, pick in zip(keep, picks, strict=True))
    random = math.fsum(math.fsum(c.values()) / len(c) for c in keep)
    oracle = math.fsum(max(c.values()) for c in keep)
    return share(picked, random, oracle)


def summary(values: Sequence[float]) -> dict[str, object]:
    """Mean and sample standard deviation over seeds, with every seed's value."""
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return {"mean": statistics.fmean(values), "sd": sd, "per_seed": list(values)}


def mean_interval(values: Sequence[float], scale: float = 1.0) -> dict[str, object]:
    """The mean of ``values`` with its 95% t-interval, all divided by ``scale``."""
    n = len(values)
    mean = statistics.fmean(values)
    half = t95(n - 1) * statistics.stdev(values) / math.sqrt(n) if n > 1 else math.nan
    return {"mean": mean / scale, "lo": (mean - half) / scale, "hi": (mean + half) / scale, "n": n}


def paired(mine: Sequence[float], theirs: Sequence[float]) -> dict[str, object]:
    """Mean paired difference ``mine - theirs`` with its 95% t-interval, and each difference."""
    differences = [a - b for a, b in zip(mine, theirs, strict=True)]
    return {**mean_interval(differences), "per_seed": differences}


def subjects(names: Sequence[str]) -> list[str]:
    """The recommenders whose paired differences are reported: the default (against every other,
    its ablations included, so each row "default − default, no X" is what that part is worth)."""
    return [name for name in names if name == "default"]


def pm(found: Mapping[str, object], digits: int = 3) -> str:
    return f"{found['mean']:.{digits}f} ± {found['sd']:.{digits}f}"


def interval(found: Mapping[str, object], digits: int = 3) -> str:
    """``mean [lo, hi]``, signed, so a reader sees at once which side of 0 it is on."""
    return f"{found['mean']:+.{digits}f} [{found['lo']:+.{digits}f}, {found['hi']:+.{digits}f}]"


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
