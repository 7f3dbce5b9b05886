"""Many clients at once against the real server process, over TCP, on both databases.

Each request is valid on its own; together they race. What must hold: no 5xx, and statistics
that still equal a recount from the events (``GET /api/check``).
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from pathlib import Path

import httpx

from conftest import PostgresCluster
from tastebud.store.database import POSTGRES_CONNECTIONS
from test_server import serving

CLIENTS = 8
ROUNDS = 40
Body = Callable[[random.Random, int, int], dict[str, object]]
"""A request's body, from the client's random numbers, its number and its round."""


def _event(rng: random.Random, generation_id: str) -> dict[str, object]:
    """One image with a random prompt, checkpoint and action."""
    return {
        "generation_id": generation_id,
        "prompt": rng.choice(["beach, sunset", "forest, fog", "city, neon, night"]),
        "checkpoint": rng.choice(["a.safetensors", "b.safetensors"]),
        "selected": rng.random() < 0.5,
    }


def _race(
    base: str,
    body_of: Body,
    path: str = "/api/preferences",
    clients: int = CLIENTS,
    in_step: bool = False,
) -> list[int]:
    """``clients`` threads, each posting ``ROUNDS`` bodies as fast as answers come (``in_step``:
    each round starting together); statuses."""
    statuses: list[int] = []
    lock = threading.Lock()
    start = threading.Barrier(clients)

    def client(number: int) -> None:
        rng = random.Random(number)
        with httpx.Client(base_url=base, timeout=60) as http:
            start.wait()
            for round_ in range(ROUNDS):
                if in_step:
                    start.wait()
                status = http.post(path, json=body_of(rng, number, round_)).status_code
                with lock:
                    statuses.append(status)

    threads = [threading.Thread(target=client, args=(number,)) for number in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def _race_beside(
    base: str, body_of: Body, ask: Callable[[httpx.Client], httpx.Response]
) -> tuple[list[int], list[httpx.Response]]:
    """``_race``, while another client asks ``ask`` again and again; statuses and its answers."""
    done = threading.Event()
    answers: list[httpx.Response] = []

    def asking() -> None:
        with httpx.Client(base_url=base, timeout=60) as http:
            while not done.is_set():
                answers.append(ask(http))

    asker = threading.Thread(target=asking)
    asker.start()
    try:
        statuses = _race(base, body_of)
    finally:
        done.set()
        asker.join()
    return statuses, answers


def test_changed_minds_on_shared_generation_ids_keep_the_statistics_exact(
    database: str, tmp_path: Path
) -> None:
    """8 clients re-record 3 shared generation ids with random actions and checkpoints ("a
    changed mind replaces the earlier action"): the statistics stay a recount of the events."""

    def body(rng: random.Random, number: int, round_: int) -> dict[str, object]:
        return _event(rng, f"shared-{rng.randrange(3)}")

    with serving("--db", database, env={"TASTEBUD_THUMBNAIL_FOLDER": str(tmp_path)}) as base:
        statuses = _race(base, body)
        assert set(statuses) <= {200, 201}, sorted(set(statuses))
        report = httpx.get(base + "/api/check", timeout=60).json()
        assert report["ok"], report
        assert httpx.get(base + "/api/preferences/stats").json()["total_preferences"] == 3


def test_concurrent_batches_with_new_model_names_are_all_stored(
    database: str, tmp_path: Path
) -> None:
    """Batches racing to bring the same new LoRA and checkpoint names: no 5xx, every image
    stored once, the statistics exact."""

    def body(rng: random.Random, number: int, round_: int) -> dict[str, object]:
        names = [f"lora_{round_}_{index}" for index in range(3)]  # new to every client at once
        ids = [f"c{number}-r{round_}-{index}" for index in range(4)]
        return {
            "images": [
                {
                    "generation_id": generation_id,
                    "prompt": "portrait, window light",
                    "checkpoint": f"ckpt_{round_ % 5}.safetensors",
                    "loras": [{"name": name, "strength": 0.7} for name in names],
                }
                for generation_id in ids
            ],
            "outcome": "advance",
            "selected": ids[:1],
        }

    with serving("--db", database, env={"TASTEBUD_THUMBNAIL_FOLDER": str(tmp_path)}) as base:
        statuses = _race(base, body, "/api/preferences/batch")
        assert set(statuses) <= {200, 201}, sorted(set(statuses))
        stats = httpx.get(base + "/api/preferences/stats").json()
        assert stats["total_preferences"] == CLIENTS * ROUNDS * 4
        report = httpx.get(base + "/api/check", timeout=60).json()
        assert report["ok"], report


def test_the_same_new_batch_from_every_client_at_once_is_stored_once(
    database: str, tmp_path: Path
) -> None:
    """A retry racing the first try: 8 clients post the same judged batch of new images at
    once, round after round. Each image is stored once and counted once."""

    def body(rng: random.Random, number: int, round_: int) -> dict[str, object]:
        ids = [f"r{round_}-{index}" for index in range(4)]
        return {
            "images": [
                {"generation_id": generation_id, "prompt": "portrait, window light",
                 "checkpoint": "a.safetensors"}
                for generation_id in ids
            ],
            "outcome": "advance",
            "selected": ids[:1],
        }  # fmt: skip

    with serving("--db", database, env={"TASTEBUD_THUMBNAIL_FOLDER": str(tmp_path)}) as base:
        statuses = _race(base, body, "/api/preferences/batch", in_step=True)
        assert set(statuses) <= {200, 201}, sorted(set(statuses))
        stats = httpx.get(base + "/api/preferences/stats").json()
        assert stats["total_preferences"] == ROUNDS * 4
        report = httpx.get(base + "/api/check", timeout=60).json()
        assert report["ok"], report


def test_a_repair_while_clients_record_loses_nothing(database: str, tmp_path: Path) -> None:
    """A repair reads every event and every statistic; writes committed while it reads must be
    neither lost nor counted twice."""

    def body(rng: random.Random, number: int, round_: int) -> dict[str, object]:
        return _event(rng, f"c{number}-r{round_}")

    with serving("--db", database, env={"TASTEBUD_THUMBNAIL_FOLDER": str(tmp_path)}) as base:
        statuses, answers = _race_beside(base, body, lambda http: http.post("/api/repair"))
        repairs = {answer.status_code for answer in answers}
        assert set(statuses) <= {201} and repairs == {200}, (set(statuses), repairs)
        report = httpx.get(base + "/api/check", timeout=60).json()
        assert report["ok"], report
        stats = httpx.get(base + "/api/preferences/stats").json()
        assert stats["total_preferences"] == CLIENTS * ROUNDS


def test_a_check_while_clients_record_sees_one_moment(database: str, tmp_path: Path) -> None:
    """``check`` reads the events and then the statistics; while writes commit in between, it
    must still compare one moment's events with the same moment's statistics (PostgreSQL's
    default isolation gave each statement its own snapshot, and checks reported drift that was
    not there)."""

    def body(rng: random.Random, number: int, round_: int) -> dict[str, object]:
        return _event(rng, f"shared-{rng.randrange(5)}" if round_ % 2 else f"c{number}-{round_}")

    with serving("--db", database, env={"TASTEBUD_THUMBNAIL_FOLDER": str(tmp_path)}) as base:
        statuses, answers = _race_beside(base, body, lambda http: http.get("/api/check"))
        assert set(statuses) <= {200, 201}, sorted(set(statuses))
        reports = [answer.json() for answer in answers]
        assert len(reports) > 1
        assert [report for report in reports if not report["ok"]] == []


def test_a_busy_server_keeps_a_fixed_set_of_postgresql_connections(
    postgres: PostgresCluster, tmp_path: Path
) -> None:
    """32 clients at once: the server opens at most its pool's connections, once, and keeps them
    (a team's PostgreSQL has a connection limit; opening one per burst also cost a third of the
    server's time)."""
    database = postgres.create_database()

    def body(rng: random.Random, number: int, round_: int) -> dict[str, object]:
        return _event(rng, f"c{number}-r{round_}")

    with serving("--db", database, env={"TASTEBUD_THUMBNAIL_FOLDER": str(tmp_path)}) as base:
        statuses = _race(base, body, clients=32)
        assert set(statuses) <= {200, 201}, sorted(set(statuses))
        assert httpx.get(base + "/api/preferences/stats").json()["total_preferences"] == 32 * ROUNDS
    assert postgres.connections_made(database) <= POSTGRES_CONNECTIONS
