"""Whatever a client sends, the answer is a success or a 4xx in the one error shape, never a 500."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tastebud.api import create_app
from tastebud.settings import Settings

EVENT_FIELDS = [
    "prompt", "checkpoint", "selected", "action", "loras", "keywords", "negative_prompt",
    "model_family", "stage", "session_id", "generation_id", "batch_id", "implicit", "timestamp",
    "feedback", "image_path", "vision_description", "vision_themes", "propensity", "user_id",
]  # fmt: skip
BATCH_FIELDS = ["images", "outcome", "selected", "feedback", "session_id", "stage", "user_id"]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
    st.sampled_from(["selected", "rejected", "advance", "reject_all", "epicrealismXL",
                     "<lora:x:0.5> beach", "2026-01-01T00:00:00Z", "g1", "\x00", "\u202e"]),
)  # fmt: skip
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def objects(fields: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    return st.dictionaries(st.sampled_from(fields) | st.text(max_size=6), json_values, max_size=8)


batches = st.fixed_dictionaries(
    {"images": st.lists(objects(EVENT_FIELDS), max_size=3)}, optional={}
).flatmap(lambda base: objects(BATCH_FIELDS).map(lambda extra: {**extra, **base}))
queries = st.dictionaries(
    st.sampled_from(["prompt", "available", "count", "checkpoint", "user_id", "limit", "cursor",
                     "keyword", "action", "session_id"]),
    st.text(max_size=12),
    max_size=5,
)  # fmt: skip


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(Settings(database=tmp_path / "fuzz.db"))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app), base_url="http://127.0.0.1:8001"
    ) as client:
        yield client
    await app.state.styles.stop()
    await app.state.preferences.aclose()


def _answered(response: httpx.Response) -> None:
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        body = response.json()
        assert set(body) == {"status", "error", "details"}
        assert body["status"] == response.status_code
        assert all(set(item) == {"field", "reason"} for item in body["details"])


FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@FUZZ
@given(body=st.one_of(objects(EVENT_FIELDS), json_values))
async def test_any_event_body(api: httpx.AsyncClient, body: Any) -> None:
    _answered(await api.post("/api/preferences", content=json.dumps(body)))


@FUZZ
@given(body=st.one_of(batches, json_values))
async def test_any_batch_body(api: httpx.AsyncClient, body: Any) -> None:
    _answered(await api.post("/api/preferences/batch", content=json.dumps(body)))


@FUZZ
@given(raw=st.binary(max_size=64) | json_values.map(lambda value: json.dumps(value).encode()))
async def test_any_bytes_to_every_body_endpoint(api: httpx.AsyncClient, raw: bytes) -> None:
    for path in ("/api/preferences", "/api/preferences/batch", "/api/preferences/import"):
        _answered(await api.post(path, content=raw))


@FUZZ
@given(params=queries)
async def test_any_query(api: httpx.AsyncClient, params: dict[str, str]) -> None:
    for path in ("/api/preferences/recommend/checkpoint", "/api/preferences/recommend/loras",
                 "/api/preferences", "/api/preferences/stats", "/api/preferences/export"):  # fmt: skip
        _answered(await api.get(path, params=params))
    if params.get("session_id"):
        path = f"/api/preferences/{quote(params['session_id'], safe='')}"
        _answered(await api.delete(path, params=params))
