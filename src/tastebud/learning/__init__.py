"""What tastebud learns: statistics keys, scoring strategies, explanations."""

from tastebud.learning.keys import Cell, Counts, StatType, cells_of
from tastebud.learning.seed import SeedStrategy
from tastebud.learning.strategy import Block, Evidence, Scored, Strategy

__all__ = [
    "Block",
    "Cell",
    "Counts",
    "Evidence",
    "Scored",
    "SeedStrategy",
    "StatType",
    "Strategy",
    "cells_of",
]
