"""The fast bulk counter agrees with counting each image's cells one by one."""

from __future__ import annotations

from collections import Counter

from hypothesis import given
from hypothesis import strategies as st

from tastebud.learning.keys import cells, tally

words = st.lists(st.sampled_from(["beach", "forest", "cat", "night", "old"]), unique=True)
image = st.tuples(
    st.sampled_from([1, 1, -1]),  # mostly arriving, some leaving
    st.sampled_from(["alice", "bob"]),
    words,
    st.sampled_from(["epic", "anima", "dream"]),
    st.lists(st.sampled_from(["detail", "film", "anime"]), unique=True, max_size=2),
    st.booleans(),
)


@given(st.lists(image, max_size=30))
def test_tally_equals_counting_cells_one_image_at_a_time(judged: list) -> None:
    totals: Counter = Counter()
    chosen: Counter = Counter()
    for sign, profile, keywords, checkpoint, loras, selected in judged:
        for cell in cells(keywords, checkpoint, loras, ""):
            totals[(*cell, profile)] += sign
            if selected:
                chosen[(*cell, profile)] += sign
    expected = {
        place: (chosen[place], total) for place, total in totals.items() if total or chosen[place]
    }
    assert tally(judged) == expected
