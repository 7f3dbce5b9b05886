"""``PreferenceLearning``: the one object every adapter (HTTP, CLI, importers) talks to.

It is assembled here from one mixin per concept, all on ``ServiceBase`` (base.py: the
constructor and the store): recording.py, recommending.py, fitting.py (the default strategy's fitted state), browsing.py, reviewing.py
(the review queue) and upkeep.py (export, import, check, repair, ping).
"""

from __future__ import annotations

from tastebud.paging import MAX_PAGE
from tastebud.service.browsing import OVERVIEW_WEEKS, TOP_CHECKPOINTS, Browsing
from tastebud.service.fitting import Fitting
from tastebud.service.recommending import MAX_BATCH, STRENGTH_HISTORY, Recommending
from tastebud.service.recording import Recording
from tastebud.service.reviewing import Reviewing
from tastebud.service.upkeep import Upkeep, collector_paused
from tastebud.settings import DEFAULT_DATABASE

__all__ = [
    "DEFAULT_DATABASE",
    "MAX_BATCH",
    "MAX_PAGE",
    "OVERVIEW_WEEKS",
    "STRENGTH_HISTORY",
    "TOP_CHECKPOINTS",
    "PreferenceLearning",
    "collector_paused",
]


class PreferenceLearning(Recording, Recommending, Fitting, Browsing, Reviewing, Upkeep):
    """Records selections and rejections and recommends checkpoints and LoRAs from them.

    ``database`` is a file path (SQLite, created on first use) or a SQLAlchemy URL
    (``sqlite:///...``, ``postgresql://user@host/db``). Nothing is opened until the first call;
    close with ``aclose()`` or use ``async with``.
    """
