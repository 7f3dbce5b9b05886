"""One set of limits at the door, against the real server on both databases.

What the API accepts, the export carries and the import takes back; text that reads the same is
one name, keyword or profile whatever its Unicode form; and one request can make only so many
statistics, refused with a 422 that says so, having written nothing.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path

import httpx
import pytest

from conftest import PostgresCluster
from test_server import serving

NFC, NFD = unicodedata.normalize("NFC", "café"), unicodedata.normalize("NFD", "café")
ZOE_NFC, ZOE_NFD = unicodedata.normalize("NFC", "zoé"), unicodedata.normalize("NFD", "zoé")


def _second(database: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """Another empty database of the same kind."""
    if database.startswith("postgresql"):
        cluster: PostgresCluster = request.getfixturevalue("postgres")
        return cluster.create_database()
    return str(tmp_path / "again" / "preferences.db")


def _serve(database: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    return serving("--db", database, env={"TASTEBUD_THUMBNAIL_FOLDER": str(tmp_path)})


def test_text_that_reads_the_same_is_one_name_keyword_and_profile(
    database: str, tmp_path: Path
) -> None:
    with _serve(database, tmp_path) as base, httpx.Client(base_url=base, timeout=60) as http:
        for index, (text, user) in enumerate(((NFC, ZOE_NFC), (NFD, ZOE_NFD))):
            answer = http.post(
                "/api/preferences",
                json={"prompt": f"{text} terrace", "checkpoint": f"{text}XL_v2",
                      "loras": [f"{text}-detail"], "selected": index == 0,
                      "user_id": user, "generation_id": f"image-{index}"},
            )  # fmt: skip
            assert answer.status_code == 201, answer.text
            assert answer.json()["user_id"] == ZOE_NFC
        judged = http.post(
            "/api/preferences/batch",
            json={"images": [{"prompt": "x", "checkpoint": "y", "generation_id": "z"}],
                  "outcome": "reject_all", "user_id": ZOE_NFD},
        )  # fmt: skip
        assert judged.json()["user_id"] == ZOE_NFC
        assert http.get("/api/profiles").json()["profiles"] == [{"user_id": ZOE_NFC, "total": 3}]
        stats = http.get("/api/preferences/stats", params={"user_id": ZOE_NFD}).json()
        assert stats["total_preferences"] == 3
        assert sorted(row["total"] for row in stats["top_checkpoints"]) == [1, 2]
        assert [row["total"] for row in stats["top_loras"]] == [2]
        found = http.get("/api/preferences", params={"user_id": ZOE_NFD, "keyword": NFD}).json()
        assert found["total"] == 2
        assert {tuple(event["keywords"]) for event in found["preferences"]} == {(NFC, "terrace")}
        # A short name in the other form finds the checkpoint's history.
        answer = http.get(
            "/api/preferences/recommend",
            params={"prompt": f"{NFD} terrace", "user_id": ZOE_NFD,
                    "available_checkpoints": f"{NFD}XL,other"},
        ).json()  # fmt: skip
        assert "Untried" not in str(answer)
        assert http.get("/api/check").json()["ok"]


def _at_every_limit() -> list[dict[str, object]]:
    """Events an API caller may send, each at some limit."""
    words = [f"w{chr(97 + a)}{chr(97 + b)}" for a in range(26) for b in range(26)][:400]
    long_name = "ü" * 500 + "-lora"  # 505 letters: a key lower-cased and in NFC stays in 512
    return [
        # A 300-letter "word" and 400 words in the prompt: keywords over 100 letters are not
        # words, and the prompt's first 256 keywords count.
        {"prompt": "x" * 300 + " " + " ".join(words), "checkpoint": "long_prompt",
         "selected": True, "generation_id": "g" * 200, "session_id": "s" * 200,
         "batch_id": "b" * 200, "stage": 1000},
        # 64 LoRAs with the prompt's 400 words: 4,096 keyword-LoRA pairs at most, so the
        # prompt's first 64 keywords count.
        {"prompt": " ".join(words), "checkpoint": "c" * 512, "selected": False,
         "loras": [{"name": f"{index:02d}" + "l" * 510, "strength": -100.0}
                   for index in range(64)],
         "generation_id": "many-loras"},
        # Keywords given: 256 of 100 letters with 16 LoRAs, exactly 4,096 pairs.
        {"prompt": "given", "checkpoint": unicodedata.normalize("NFD", "ü" * 250 + "-ckpt"),
         "selected": True,
         "keywords": [f"{index:03d}" + "k" * 97 for index in range(256)],
         "loras": [{"name": long_name + str(index), "strength": 100.0} for index in range(16)],
         "generation_id": "given", "user_id": ZOE_NFD + "z" * 196},
        # LoRA tags in the prompt at the limits of a LoRA.
        {"prompt": f"tagged <lora:{'t' * 512}:-100> <lora:{NFD}:100>", "checkpoint": "tags",
         "selected": True, "generation_id": "tags", "feedback": "f" * 10_000,
         "negative_prompt": "n" * 10_000, "vision_themes": ["v" * 200]},
    ]  # fmt: skip


def test_what_the_api_accepts_the_export_carries_and_the_import_takes_back(
    database: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    events = _at_every_limit()
    with _serve(database, tmp_path) as base, httpx.Client(base_url=base, timeout=120) as http:
        for event in events:
            answer = http.post("/api/preferences", json=event)
            assert answer.status_code == 201, answer.text[:300]
        export = http.get("/api/preferences/export", params={"user_id": "default"})
        other = http.get("/api/preferences/export", params={"user_id": ZOE_NFC + "z" * 196})
        assert export.status_code == other.status_code == 200
        stored = {
            event["generation_id"]: event
            for document in (export.json(), other.json())
            for event in document["preferences"]
        }
        assert http.get("/api/check").json()["ok"]
    first, many = stored["g" * 200], stored["many-loras"]
    assert len(first["keywords"]) == 256 and all(len(word) <= 100 for word in first["keywords"])
    assert len(many["loras"]) == 64 and len(many["keywords"]) == 64
    assert len(stored["given"]["keywords"]) == 256
    assert len(stored["tags"]["loras"]) == 2

    second = _second(database, tmp_path, request)
    with (
        _serve(second, tmp_path / "again") as base,
        httpx.Client(base_url=base, timeout=120) as http,
    ):
        for document, user in ((export, "default"), (other, ZOE_NFD + "z" * 196)):
            answer = http.post(
                "/api/preferences/import",
                params={"user_id": user},
                content=document.content,
                headers={"content-type": "application/json"},
            )
            assert answer.status_code == 200, answer.text[:300]
            assert answer.json()["added"] == len(document.json()["preferences"])
        back = http.get("/api/preferences/export", params={"user_id": "default"}).json()
        assert back["preferences"] == export.json()["preferences"]
        assert http.get("/api/check").json()["ok"]


def test_one_image_counts_towards_a_bounded_number_of_statistics(
    database: str, tmp_path: Path
) -> None:
    too_many = {
        "prompt": "given", "checkpoint": "c", "selected": True,
        "keywords": [f"word{index}" for index in range(256)],
        "loras": [f"lora{index}" for index in range(17)],
    }  # fmt: skip
    with _serve(database, tmp_path) as base, httpx.Client(base_url=base, timeout=60) as http:
        answer = http.post("/api/preferences", json=too_many)
        assert answer.status_code == 422
        assert "4,352 keyword-LoRA statistics; at most 4,096" in answer.text
        answer = http.post("/api/preferences", json={**too_many, "keywords": ["w"] * 257})
        assert answer.status_code == 422 and "keywords" in answer.text
        answer = http.post("/api/preferences", json={**too_many, "loras": ["l"] * 65})
        assert answer.status_code == 422 and "loras" in answer.text
        assert http.get("/api/preferences/stats").json()["total_preferences"] == 0


def test_one_batch_counts_towards_a_bounded_number_of_statistics(
    database: str, tmp_path: Path
) -> None:
    """The batch that wrote 1.1 million statistics (102 images, 2,000 words each, 64 LoRAs):
    a 422 naming the limit, and nothing written; the same batch in three parts is stored."""
    words = [f"{a}{b}{c}" for a in "bcdfg" for b in "aeiou" for c in "klmnprstvz"]
    images = [
        {"generation_id": f"image-{index}",
         "prompt": " ".join(words[(index + step) % len(words)] for step in range(0, 2000 * 7, 7))
         + "".join(f"<lora:l{number}>" for number in range(64)),
         "checkpoint": "c"}
        for index in range(102)
    ]  # fmt: skip
    batch = {"images": images, "outcome": "reject_all"}
    with _serve(database, tmp_path) as base, httpx.Client(base_url=base, timeout=300) as http:
        answer = http.post("/api/preferences/batch", json=batch)
        assert answer.status_code == 422, answer.text[:300]
        detail = answer.json()["details"][0]
        assert detail["field"] == "images"
        assert "at most 200,000 in one batch" in detail["reason"]
        assert http.get("/api/preferences/stats").json()["total_preferences"] == 0
        for part in (images[:40], images[40:80], images[80:]):
            answer = http.post("/api/preferences/batch", json={**batch, "images": part})
            assert answer.status_code == 200, answer.text[:300]
        assert http.get("/api/preferences/stats").json()["total_preferences"] == 102
        assert http.get("/api/check").json()["ok"]
