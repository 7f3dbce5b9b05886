"""The shipped word-vector table: offline, small, lazily read, and it knows what words mean."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from tastebud import parse_prompt
from tastebud.learning.vectors import TABLE, WordVectors, word_vectors

# The ceiling for a file inside the package.
MAX_BYTES = 20 * 1024 * 1024


def test_the_table_ships_inside_the_package_under_the_size_limit() -> None:
    assert TABLE.is_file()
    assert TABLE.stat().st_size < MAX_BYTES
    assert (TABLE.parent / "WORD_VECTORS_NOTICE.md").is_file()


def test_the_table_loads_with_the_network_disabled() -> None:
    # A fresh interpreter, so that nothing is cached yet and every socket refuses.
    code = (
        "import socket\n"
        "def refuse(*args, **kwargs):\n"
        "    raise OSError('network disabled in this test')\n"
        "socket.socket = refuse\n"
        "socket.create_connection = refuse\n"
        "from tastebud.learning.vectors import word_vectors\n"
        "table = word_vectors()\n"
        "print(len(table), round(table.similarity('beach', 'ocean'), 3))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    )
    size, similarity = result.stdout.split()
    assert int(size) > 10_000
    assert float(similarity) > 0.4


def test_importing_tastebud_does_not_read_the_table() -> None:
    code = (
        "import tastebud, tastebud.learning, tastebud.service\n"
        "from tastebud.learning import vectors\n"
        "print(vectors.word_vectors.cache_info().currsize)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    )
    assert result.stdout.strip() == "0"


def test_the_loader_is_cached() -> None:
    assert word_vectors() is word_vectors()


@pytest.mark.parametrize(
    ("word", "alike", "unlike"),
    [
        ("beach", "ocean", "forest"),
        ("sunset", "dusk", "robot"),
        ("anime", "manga", "photograph"),
        ("castle", "fortress", "spoon"),
        ("dress", "outfit", "mountain"),
    ],
)
def test_words_that_mean_alike_are_nearer(word: str, alike: str, unlike: str) -> None:
    table = word_vectors()
    near, far = table.similarity(word, alike), table.similarity(word, unlike)
    assert near is not None and far is not None
    assert near > far


def test_keys_are_tastebud_keywords() -> None:
    # Plurals and other surface forms were folded into the keyword parse_prompt makes.
    table = word_vectors()
    for keyword in parse_prompt("(ocean waves:1.2) at dusk, sandy beaches").keywords:
        assert keyword in table
    assert "beach" in table
    assert "beaches" not in table


def test_vectors_are_unit_length() -> None:
    table = word_vectors()
    vector = table.vector("sunset")
    assert vector is not None
    assert vector.shape == (table.dims,)
    assert abs(float(np.linalg.norm(vector)) - 1.0) < 1e-4
    assert table.similarity("sunset", "sunset") == pytest.approx(1.0, abs=1e-4)


def test_an_unknown_word_gives_none() -> None:
    table = word_vectors()
    assert "qxzvbnmw" not in table
    assert table.vector("qxzvbnmw") is None
    assert table.similarity("qxzvbnmw", "beach") is None
    assert table.neighbours("qxzvbnmw", ["beach", "ocean"], k=3) == []


def test_neighbours_are_the_most_alike_among_the_candidates() -> None:
    table = word_vectors()
    among = ["ocean", "seaside", "coast", "robot", "spoon", "forest", "beach", "qxzvbnmw"]
    found = table.neighbours("beach", among, k=3)
    assert [word for word, _ in found][:1] in (["seaside"], ["ocean"], ["coast"])
    assert {word for word, _ in found} <= {"ocean", "seaside", "coast"}
    scores = [score for _, score in found]
    assert scores == sorted(scores, reverse=True)
    # The word itself and unknown candidates are never returned.
    assert "beach" not in dict(found) and "qxzvbnmw" not in dict(found)


def test_neighbours_respect_the_floor_and_k() -> None:
    table = word_vectors()
    among = ["dusk", "sunrise", "robot", "spoon", "keyboard"]
    found = table.neighbours("sunset", among, k=10, floor=0.4)
    assert [word for word, _ in found] == ["sunrise", "dusk"] or [w for w, _ in found] == [
        "dusk",
        "sunrise",
    ]
    assert table.neighbours("sunset", among, k=0) == []


def test_neighbours_over_the_whole_vocabulary() -> None:
    table = word_vectors()
    found = [word for word, _ in table.neighbours("castle", table.words(), k=10)]
    assert "fortress" in found


def test_a_malformed_table_is_refused() -> None:
    with pytest.raises(ValueError, match="one row and one scale per word"):
        WordVectors(["a", "b"], np.zeros((3, 4), dtype=np.int8), np.ones(2, dtype=np.float32))
