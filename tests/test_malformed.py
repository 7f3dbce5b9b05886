"""Malformed requests to the real server, on both databases: each a 4xx naming what is wrong,
in the one error shape, and nothing changed. (Found by probing; each was a 500.)"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from test_server import serving

EVENT = {"prompt": "beach, sunset", "checkpoint": "a.safetensors", "selected": True}
BIG_ID = 2**63  # past PostgreSQL's bigint, and past its integer from 2**31
MALFORMED = [
    ("POST", "/api/preferences", b"[" * 1_000 + b"]" * 1_000, "body", "nested too deep"),
    ("POST", "/api/preferences",
     b'{"prompt": "cat", "checkpoint": "a", "selected": true, "stage": 1' + b"0" * 5_000 + b"}",
     "body", "too many digits"),
    ("POST", "/api/preferences", {**EVENT, "keywords": ["sun\x00set"]}, "keywords[0]", "one word"),
    ("POST", "/api/images/import", {"folder": "{images}/a\x00b"}, "folder", "NUL"),
    ("POST", "/api/images/import", {"folder": "{images}", "recursive": "yes"}, "recursive",
     "true or false"),
    ("POST", "/api/images/import", {"folder": "{images}", "dry_run": 1}, "dry_run",
     "true or false"),
    ("POST", "/api/generations/review", {"ids": [1.5], "action": "selected"}, "ids[0]",
     "whole number"),
    ("POST", "/api/generations/review", {"ids": ["1"], "action": "selected"}, "ids[0]",
     "whole number"),
    ("POST", "/api/generations/review", {"ids": [1], "action": "selected", "implicit": "no"},
     "implicit", "true or false"),
    ("POST", "/api/generations/review", {"ids": [BIG_ID], "action": "selected"}, "ids",
     "no generation"),
    ("POST", "/api/generations/advance", {"rest": [2**31]}, "rest", "no generation"),
    ("GET", "/api/preferences?keyword=sun%00set", None, "keyword", "NUL"),
    ("GET", "/api/preferences?checkpoint=a%00b", None, "checkpoint", "NUL"),
    ("GET", "/api/preferences/recommend/loras?prompt=beach&checkpoint=a%00b", None, "checkpoint",
     "NUL"),
    ("GET", "/api/preferences/explore?prompt=beach&available=a%00b", None, "available", "NUL"),
    ("DELETE", "/api/preferences/g%001", None, "path", "NUL"),
    ("GET", f"/api/generations/{BIG_ID}/thumbnail", None, "id", "no generation"),
    ("GET", f"/api/generations/{2**31}/image", None, "id", "no generation"),
    ("GET", "/api/preferences?cursor=1" + "0" * 23, None, "cursor", "next_cursor"),
    ("GET", "/api/generations?cursor=1" + "0" * 23, None, "cursor", "next_cursor"),
    ("POST", "/api/preferences/batch",
     {"images": [{"prompt": "cat", "checkpoint": "a", "generation_id": "g"}], "outcome": "keep"},
     "outcome", "must be 'advance' or 'reject_all'"),
    ("GET", "/api/preferences/stats?user_id=", None, "user_id", "must not be empty"),
    ("POST", "/api/preferences", {**EVENT, "stage": 5_000}, "stage", "at most 1000"),
]  # fmt: skip


@pytest.mark.parametrize(("method", "path", "body", "field", "says"), MALFORMED)
def test_a_malformed_request_is_a_4xx_that_names_the_problem_and_changes_nothing(
    database: str,
    tmp_path: Path,
    method: str,
    path: str,
    body: object,
    field: str,
    says: str,
) -> None:
    images = tmp_path / "images"
    images.mkdir()
    args = ["--db", database, "--image-folders", str(images)]
    with serving(*args, env={"TASTEBUD_THUMBNAIL_FOLDER": str(tmp_path)}) as base:
        httpx.post(base + "/api/preferences", json=EVENT).raise_for_status()
        if isinstance(body, dict):
            text = str(images)
            body = {key: value.replace("{images}", text) if isinstance(value, str) else value
                    for key, value in body.items()}  # fmt: skip
        content = body if isinstance(body, bytes) else None
        answer = httpx.request(
            method, base + path, content=content,
            json=None if content is not None or body is None else body,
            headers={"Content-Type": "application/json"} if content is not None else None,
        )  # fmt: skip
        assert 400 <= answer.status_code < 500, (answer.status_code, answer.text)
        details = answer.json()["details"]
        assert details[0]["field"] == field, details
        assert says in details[0]["reason"], details
        assert "should" not in details[0]["reason"], details  # our words, not pydantic's
        stats = httpx.get(base + "/api/preferences/stats").json()
        assert stats["total_preferences"] == 1
        assert httpx.get(base + "/api/check", timeout=60).json()["ok"]
