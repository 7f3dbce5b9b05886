"""The HTTP API through its ASGI app, on SQLite and PostgreSQL: every endpoint, every error."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tastebud import InvalidInput, PreferenceLearning
from tastebud.api import create_app
from tastebud.settings import Settings
from test_seed_examples import EPIC, seed_history

ERROR_KEYS = {"status", "error", "details"}

BASE = "http://127.0.0.1:8001"
"""Where the tests' client says it talks to: a host name the server answers to."""


@pytest.fixture
async def api(database: str) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(Settings(database=database))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app), base_url="http://127.0.0.1:8001"
    ) as client:
        yield client
    await app.state.styles.stop()
    await app.state.preferences.aclose()


@pytest.fixture
async def seeded(api: httpx.AsyncClient) -> httpx.AsyncClient:
    learning: PreferenceLearning = api._transport.app.state.preferences  # type: ignore[attr-defined]
    await learning.record_batch(seed_history())
    return api


def _error(response: httpx.Response, status: int, field: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == ERROR_KEYS and body["status"] == status
    if field is not None:
        assert [item["field"] for item in body["details"]] == [field], body
    return body


def _event(generation_id: str, **fields: Any) -> dict[str, Any]:
    return {"prompt": "beach at sunset", "checkpoint": EPIC, "generation_id": generation_id,
            **fields}  # fmt: skip


async def _totals(api: httpx.AsyncClient, user_id: str = "default") -> tuple[int, int]:
    stats = (await api.get("/api/preferences/stats", params={"user_id": user_id})).json()
    return stats["total_preferences"], stats["action_counts"]["selected"]


# -- the seed's curl examples, with the seed's keys -------------------------------------------------


async def test_seed_stats_example(seeded: httpx.AsyncClient) -> None:
    response = await seeded.get("/api/preferences/stats")
    assert response.status_code == 200
    stats = response.json()
    assert stats["total_preferences"] == 150
    assert stats["action_counts"] == {"selected": 93, "rejected": 57}
    epic = next(row for row in stats["top_checkpoints"] if row["checkpoint"] == EPIC)
    assert {"checkpoint", "selection_rate", "total", "selected"} <= set(epic)
    assert (epic["selection_rate"], epic["total"], epic["selected"]) == (0.65, 120, 78)


async def test_seed_export_example(seeded: httpx.AsyncClient) -> None:
    response = await seeded.get("/api/preferences/export")
    assert response.status_code == 200
    document = response.json()
    assert {"version", "total_preferences", "preferences", "stats"} <= set(document)
    assert document["version"] == "1.1"
    assert document["total_preferences"] == len(document["preferences"]) == 150
    assert any(row["key"] == "beach:epicrealismxl_purefix" for row in document["stats"])


async def test_seed_recommend_checkpoint_example(seeded: httpx.AsyncClient) -> None:
    response = await seeded.get(
        "/api/preferences/recommend/checkpoint?prompt=beach+sunset"
        "&available=epicrealismXL&available=realvisxlV40"
    )
    assert response.status_code == 200
    answer = response.json()
    assert answer["checkpoint"] == "epicrealismXL"
    # The seed's 15 of 20 "beach", pulled toward the checkpoint's 78 of 120 by the default strategy.
    assert 0.65 < answer["confidence"] < 0.75
    assert answer["label"] == "High confidence"
    assert answer["why"].startswith("Based on your 15 'beach' selections from epicrealismXL")
    assert [item["checkpoint"] for item in answer["ranking"]] == ["epicrealismXL", "realvisxlV40"]
    # Comma-separated is the same question.
    same = await seeded.get(
        "/api/preferences/recommend/checkpoint",
        params={"prompt": "beach sunset", "available": "epicrealismXL,realvisxlV40"},
    )
    assert same.json() == answer
    # Without available: the checkpoints this profile has seen, by their recorded names.
    seen = (await seeded.get("/api/preferences/recommend/checkpoint?prompt=beach+sunset")).json()
    assert (seen["checkpoint"], seen["confidence"]) == (EPIC, answer["confidence"])
    assert {item["checkpoint"] for item in seen["ranking"]} == {EPIC, "animagineXL"}


async def test_seed_recommend_loras_example(seeded: httpx.AsyncClient) -> None:
    response = await seeded.get(
        "/api/preferences/recommend/loras?prompt=anime+girl&checkpoint=animagineXL&count=3"
    )
    assert response.status_code == 200
    loras = response.json()
    assert isinstance(loras, list) and 1 <= len(loras) <= 3
    # The seed's keys, and the strength to use and why beside them.
    assert all(set(item) == {"lora", "score", "strength", "why", "reasons"} for item in loras)
    assert (loras[0]["lora"], loras[0]["strength"]) == ("anime_style_v2", 0.8)
    assert loras[0]["why"].startswith("Based on your 12 'anime' selections from anime_style_v2")
    one = await seeded.get(
        "/api/preferences/recommend/loras", params={"prompt": "anime", "count": 1}
    )
    assert len(one.json()) == 1


async def test_empty_profile_answers_every_seed_endpoint(api: httpx.AsyncClient) -> None:
    stats = (await api.get("/api/preferences/stats")).json()
    assert (stats["total_preferences"], stats["top_checkpoints"]) == (0, [])
    answer = (await api.get("/api/preferences/recommend/checkpoint?prompt=beach")).json()
    assert (answer["checkpoint"], answer["confidence"]) == (None, 0.0)
    assert (await api.get("/api/preferences/recommend/loras?prompt=beach")).json() == []
    assert (await api.get("/api/preferences/export")).json()["preferences"] == []


# -- recording ------------------------------------------------------------------------------------


async def test_record_one_event_and_record_it_again(api: httpx.AsyncClient) -> None:
    response = await api.post(
        "/api/preferences",
        json=_event("g1", selected=True, loras=[{"name": "add_detail", "strength": 0.6}]),
    )
    assert response.status_code == 201
    event = response.json()
    assert (event["generation_id"], event["action"], event["user_id"]) == (
        "g1",
        "selected",
        "default",
    )
    assert event["keywords"] == ["beach", "sunset"]
    assert await _totals(api) == (1, 1)
    # The same image again (a retry) is one event; a changed mind replaces it.
    await api.post("/api/preferences", json=_event("g1", selected=True))
    assert await _totals(api) == (1, 1)
    await api.post("/api/preferences", json=_event("g1", action="rejected"))
    assert await _totals(api) == (1, 0)


async def test_record_takes_a_body_without_a_json_content_type(api: httpx.AsyncClient) -> None:
    # curl -d '{...}' sends application/x-www-form-urlencoded.
    response = await api.post(
        "/api/preferences",
        content=json.dumps(_event("g1", selected=False)).encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 201
    assert await _totals(api) == (1, 0)


async def test_record_generates_a_generation_id(api: httpx.AsyncClient) -> None:
    body = {"prompt": "forest", "checkpoint": EPIC, "selected": True}
    first = (await api.post("/api/preferences", json=body)).json()
    second = (await api.post("/api/preferences", json=body)).json()
    assert first["generation_id"] != second["generation_id"]
    assert await _totals(api) == (2, 2)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"checkpoint": EPIC, "selected": True}, "prompt"),
        ({"prompt": "beach", "selected": True}, "checkpoint"),
        ({"prompt": "beach", "checkpoint": EPIC}, "selected"),
        (_event("g", selected="yes"), "selected"),
        (_event("g", selected=True, loras=[{"name": "x", "strength": "0.7"}]), "loras[0].strength"),
        (_event("g", selected=True, stage=-1), "stage"),
        (_event("g", selected=True, colour="red"), "colour"),
        (_event("g", selected=True, checkpoint="models/.safetensors"), "checkpoint"),
        (_event("g", selected=True, user_id="bad\nname"), "user_id"),
        (["not", "an", "object"], "body"),
    ],
)
async def test_record_refuses_bad_events_and_names_the_field(
    api: httpx.AsyncClient, body: Any, field: str
) -> None:
    _error(await api.post("/api/preferences", json=body), 422, field)
    assert await _totals(api) == (0, 0)


async def test_record_refuses_what_is_not_json(api: httpx.AsyncClient) -> None:
    body = _error(await api.post("/api/preferences", content=b"{prompt: beach"), 400, "body")
    assert body["error"] == "Not valid JSON"
    _error(await api.post("/api/preferences", content=b"\xff\xfe\x00"), 400, "body")
    _error(await api.post("/api/preferences", content=b""), 400, "body")


async def test_user_id_from_the_query_or_the_body(api: httpx.AsyncClient) -> None:
    await api.post("/api/preferences?user_id=alice", json=_event("a1", selected=True))
    await api.post("/api/preferences", json=_event("b1", selected=False, user_id="bob"))
    assert await _totals(api, "alice") == (1, 1)
    assert await _totals(api, "bob") == (1, 0)
    assert await _totals(api) == (0, 0)
    conflict = await api.post(
        "/api/preferences?user_id=alice", json=_event("a2", selected=True, user_id="bob")
    )
    _error(conflict, 422, "user_id")
    _error(await api.get("/api/preferences/stats", params={"user_id": "a\tb"}), 422, "user_id")


# -- judged batches ---------------------------------------------------------------------------------


def _batch(**fields: Any) -> dict[str, Any]:
    images = [
        _event("b1", loras=[{"name": "add_detail", "strength": 0.6}]),
        _event("b2", checkpoint="realvisxlV40.safetensors"),
        _event("b3"),
    ]
    return {"images": images, "session_id": "s1", "batch_id": "batch-1", **fields}


async def test_advance_records_the_kept_and_rejects_the_rest(api: httpx.AsyncClient) -> None:
    response = await api.post(
        "/api/preferences/batch", json=_batch(outcome="advance", selected=["b1", "b3"])
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"user_id": "default", "images": 3, "selected": 2, "rejected": 1,
                               "added": 3, "replaced": 0, "unchanged": 0}  # fmt: skip
    events = (await api.get("/api/preferences", params={"session_id": "s1"})).json()
    by_id = {event["generation_id"]: event for event in events["preferences"]}
    assert by_id["b1"]["action"] == by_id["b3"]["action"] == "selected"
    assert (by_id["b2"]["action"], by_id["b2"]["implicit"]) == ("rejected", True)
    assert {event["batch_id"] for event in by_id.values()} == {"batch-1"}
    # The same batch posted again changes nothing.
    again = await api.post(
        "/api/preferences/batch", json=_batch(outcome="advance", selected=["b1", "b3"])
    )
    assert again.json()["unchanged"] == 3
    assert await _totals(api) == (3, 2)


async def test_reject_all_records_every_image_with_the_feedback(api: httpx.AsyncClient) -> None:
    response = await api.post(
        "/api/preferences/batch", json=_batch(outcome="reject_all", feedback="too dark")
    )
    assert response.json()["rejected"] == 3
    events = (await api.get("/api/preferences")).json()["preferences"]
    assert {(e["action"], e["implicit"], e["feedback"]) for e in events} == {
        ("rejected", False, "too dark")
    }


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"outcome": "advance", "selected": ["b9"]}, "selected[0]"),
        ({"outcome": "advance"}, "selected"),
        ({"outcome": "reject_all", "selected": ["b1"]}, "selected"),
        ({"outcome": "keep_some"}, "outcome"),
        ({"selected": ["b1"]}, "outcome"),
        ({"outcome": "advance", "selected": ["b1"], "images": []}, "images"),
        ({"outcome": "advance", "selected": ["b1"], "colour": 1}, "colour"),
    ],
)
async def test_bad_batches_change_nothing(
    api: httpx.AsyncClient, changes: dict[str, Any], field: str
) -> None:
    _error(await api.post("/api/preferences/batch", json=_batch(**changes)), 422, field)
    assert await _totals(api) == (0, 0)


async def test_one_bad_image_refuses_the_whole_batch(api: httpx.AsyncClient) -> None:
    batch = _batch(outcome="advance", selected=["b1"])
    batch["images"][2]["loras"] = [{"name": "x", "strength": "high"}]
    _error(await api.post("/api/preferences/batch", json=batch), 422, "images[2].loras[0].strength")
    batch = _batch(outcome="advance", selected=["b1"])
    batch["images"][1]["selected"] = True
    _error(await api.post("/api/preferences/batch", json=batch), 422, "images[1].selected")
    batch = _batch(outcome="advance", selected=["b1"])
    del batch["images"][1]["generation_id"]
    _error(await api.post("/api/preferences/batch", json=batch), 422, "images[1].generation_id")
    batch = _batch(outcome="advance", selected=["b1"])
    batch["images"][1]["generation_id"] = "b1"
    _error(await api.post("/api/preferences/batch", json=batch), 422, "images[1].generation_id")
    assert await _totals(api) == (0, 0)


# -- import -----------------------------------------------------------------------------------------


async def test_export_then_import_into_another_profile(seeded: httpx.AsyncClient) -> None:
    document = (await seeded.get("/api/preferences/export")).content
    imported = await seeded.post("/api/preferences/import?user_id=copy", content=document)
    assert imported.status_code == 200, imported.text
    assert imported.json() == {"user_id": "copy", "added": 150, "replaced": 0, "unchanged": 0,
                               "kept_newer": 0}  # fmt: skip
    again = await seeded.post("/api/preferences/import?user_id=copy", content=document)
    assert again.json()["unchanged"] == 150
    assert await _totals(seeded, "copy") == await _totals(seeded) == (150, 93)


async def test_a_bad_import_says_where_and_changes_nothing(seeded: httpx.AsyncClient) -> None:
    document = (await seeded.get("/api/preferences/export")).json()
    document["preferences"][7]["action"] = "kept"
    response = await seeded.post("/api/preferences/import?user_id=copy", json=document)
    _error(response, 422, "preferences[7].action")
    _error(await seeded.post("/api/preferences/import", content=b"[1, 2"), 400, "document")
    _error(await seeded.post("/api/preferences/import", content=b""), 400, "body")
    _error(
        await seeded.post("/api/preferences/import", json={"version": "9.0", "preferences": []}),
        422,
        "version",
    )
    assert await _totals(seeded, "copy") == (0, 0)
    assert await _totals(seeded) == (150, 93)


# -- browsing and undoing -----------------------------------------------------------------------


async def test_pages_walk_every_event_newest_first(seeded: httpx.AsyncClient) -> None:
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 40, **({"cursor": cursor} if cursor else {})}
        page = (await seeded.get("/api/preferences", params=params)).json()
        assert page["total"] == 150
        seen += [event["prompt"] for event in page["preferences"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 150
    assert seen == [event["prompt"] for event in reversed(seed_history())]


async def test_filters(seeded: httpx.AsyncClient) -> None:
    async def total(**params: Any) -> int:
        response = await seeded.get("/api/preferences", params=params)
        assert response.status_code == 200, response.text
        return int(response.json()["total"])

    assert await total(checkpoint="epicrealismXL") == 120  # the short name finds its version
    assert await total(checkpoint="animagineXL.safetensors") == 30
    assert await total(checkpoint="never_used") == 0
    assert await total(keyword="beaches") == 20  # as a prompt word: beaches -> beach
    assert await total(keyword="beach", action="selected") == 15
    assert await total(action="rejected") == 57
    assert await total(checkpoint="epicrealismXL", keyword="forest", action="selected") == 2
    assert await total(session_id="nothing") == 0
    _error(await seeded.get("/api/preferences", params={"action": "kept"}), 422, "action")
    _error(await seeded.get("/api/preferences", params={"limit": 0}), 422, "limit")
    _error(await seeded.get("/api/preferences", params={"limit": "ten"}), 422, "limit")
    for cursor in ("abc", "²", "-1", "0"):
        _error(await seeded.get("/api/preferences", params={"cursor": cursor}), 422, "cursor")


async def test_delete_undoes_a_mis_click(api: httpx.AsyncClient) -> None:
    await api.post("/api/preferences", json=_event("g1", selected=True))
    await api.post("/api/preferences", json=_event("g2", selected=False))
    response = await api.delete("/api/preferences/g1")
    assert response.json() == {"deleted": True, "generation_id": "g1", "user_id": "default"}
    assert await _totals(api) == (1, 0)
    _error(await api.delete("/api/preferences/g1"), 404, "generation_id")
    _error(await api.delete("/api/preferences/g2?user_id=someone"), 404, "generation_id")
    assert await _totals(api) == (1, 0)


async def test_an_id_with_a_slash_can_be_deleted(api: httpx.AsyncClient) -> None:
    await api.post("/api/preferences", json=_event("2026/01/img 7.png", selected=True))
    assert (await api.delete("/api/preferences/2026/01/img%207.png")).status_code == 200
    assert await _totals(api) == (0, 0)


# -- health, docs, errors ---------------------------------------------------------------------------


async def test_health(api: httpx.AsyncClient, database: str) -> None:
    answer = (await api.get("/api/health")).json()
    assert answer["status"] == "ok"
    assert answer["database"] == ("postgresql" if database.startswith("postgresql") else "sqlite")


async def test_openapi_describes_the_bodies(api: httpx.AsyncClient) -> None:
    schema = (await api.get("/openapi.json")).json()
    assert {"/api/preferences", "/api/preferences/batch", "/api/preferences/import",
            "/api/preferences/stats", "/api/health"} <= set(schema["paths"])  # fmt: skip
    components = schema["components"]["schemas"]
    assert {"EventInput", "BatchInput", "ExportInput", "PreferenceEvent"} <= set(components)
    assert "prompt" in components["EventInput"]["required"]
    # Each body is the type the endpoint declares, written by FastAPI from that one source.
    for path, body in (
        ("/api/preferences", "EventInput"),
        ("/api/preferences/batch", "BatchInput"),
        ("/api/preferences/import", "ExportInput"),
        ("/api/images/import", "ImageImport"),
        ("/api/generations/review", "Review"),
        ("/api/generations/advance", "Advance"),
    ):
        content = schema["paths"][path]["post"]["requestBody"]["content"]
        assert content["application/json"]["schema"]["$ref"] == f"#/components/schemas/{body}"
    # Errors are described as they are answered (not FastAPI's {"detail": [...]}).
    assert "HTTPValidationError" not in components
    errors = schema["paths"]["/api/preferences"]["post"]["responses"]["4XX"]
    assert errors["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorBody")
    assert components["ErrorBody"]["required"] == ["status", "error", "details"]
    # Any 1.x export imports: the schema says a string, not one version.
    assert components["ExportInput"]["properties"]["version"] == {
        "type": "string", "title": "Version"
    }  # fmt: skip
    assert (await api.get("/docs")).status_code == 200


async def test_unknown_paths_and_methods(api: httpx.AsyncClient) -> None:
    _error(await api.get("/api/nothing"), 404)
    response = await api.put("/api/preferences/stats")
    _error(response, 405)
    assert "GET" in response.headers["allow"] or "DELETE" in response.headers["allow"]


async def test_a_database_that_cannot_be_reached_is_a_503(tmp_path: Any) -> None:
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app = create_app(Settings(database=f"postgresql://nobody@127.0.0.1:{port}/none"))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app), base_url="http://127.0.0.1:8001"
    ) as api:
        body = _error(await api.get("/api/health"), 503)
        assert body["error"] == "Database unavailable" and body["details"] == []
        assert "refused" not in json.dumps(body).lower()  # no driver text for the client
    await app.state.styles.stop()
    await app.state.preferences.aclose()


async def test_bodies_above_the_limit_get_413(tmp_path: Any) -> None:
    app = create_app(Settings(database=tmp_path / "p.db", max_body_mb=0.001, max_import_mb=0.002))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app), base_url="http://127.0.0.1:8001"
    ) as api:
        big = json.dumps(_event("g1", selected=True, feedback="x" * 2000)).encode()
        _error(await api.post("/api/preferences", content=big), 413, "body")

        async def in_chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it comes
            for start in range(0, len(big), 100):
                yield big[start : start + 100]

        _error(await api.post("/api/preferences", content=in_chunks()), 413, "body")
        # The import has its own, larger limit.
        small = json.dumps({"version": "1.0", "preferences": []}).encode() + b" " * 1500
        assert (await api.post("/api/preferences/import", content=small)).status_code == 200
        _error(await api.post("/api/preferences/import", content=small * 2), 413, "body")
        assert await _totals(api) == (0, 0)
    await app.state.styles.stop()
    await app.state.preferences.aclose()


async def test_a_token_guards_every_request(tmp_path: Any) -> None:
    app = create_app(Settings(database=tmp_path / "p.db", token="correct-horse-battery"))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app), base_url="http://127.0.0.1:8001"
    ) as api:
        for path in ("/api/health", "/api/preferences/stats", "/docs", "/openapi.json"):
            response = await api.get(path)
            _error(response, 401, "Authorization")
            assert response.headers["www-authenticate"] == "Bearer"
        wrong = {"Authorization": "Bearer guess"}
        refused = await api.post("/api/preferences", json=_event("g", selected=True), headers=wrong)
        _error(refused, 401, "Authorization")
        assert "does not carry this server's token" in refused.json()["details"][0]["reason"]
        right = {"Authorization": "Bearer correct-horse-battery"}
        assert (await api.get("/api/health", headers=right)).status_code == 200
        posted = await api.post("/api/preferences", json=_event("g", selected=True), headers=right)
        assert posted.status_code == 201
        stats = await api.get("/api/preferences/stats", headers=right)
        assert stats.json()["total_preferences"] == 1
        # The web panel sends the token as its cookie (a browser's <img> sends no header).
        api.cookies.set("tastebud_token_8001", "correct-horse-battery")
        assert (await api.get("/api/preferences/stats")).status_code == 200
        api.cookies.set("tastebud_token_8001", "guess")  # kept for a server since restarted
        refused = await api.get("/api/preferences/stats")
        _error(refused, 401, "token")  # not "Authorization is missing"
        assert "not this server's" in refused.json()["details"][0]["reason"]
        api.cookies.clear()
        # The panel's page holds no data, so that it can ask for the token.
        assert (await api.get("/")).status_code == 200
        _error(await api.get("/api/preferences/export"), 401)
    await app.state.styles.stop()
    await app.state.preferences.aclose()


async def test_the_panel_logs_in_with_an_http_only_cookie_for_its_port(tmp_path: Any) -> None:
    app = create_app(Settings(database=tmp_path / "p.db", port=8123, token="correct-horse-battery"))
    base = "http://127.0.0.1:8123"
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url=base) as api:
        _error(await api.post("/api/session", json={"token": "guess"}), 401, "token")
        assert not api.cookies
        _error(await api.post("/api/session", json={"token": 5}), 422, "token")
        answer = await api.post("/api/session", json={"token": "correct-horse-battery"})
        assert answer.status_code == 204
        cookie = answer.headers["set-cookie"]
        assert cookie.startswith("tastebud_token_8123=correct-horse-battery;")
        for attribute in ("HttpOnly", "SameSite=strict", "Path=/"):
            assert attribute.lower() in cookie.lower()
        assert (await api.get("/api/preferences/stats")).status_code == 200
    await app.state.styles.stop()
    await app.state.preferences.aclose()


def test_a_token_shorter_than_16_characters_is_refused() -> None:
    for short in ("", "   ", "s3cret", "x" * 15):
        with pytest.raises(InvalidInput, match="at least 16 characters"):
            Settings(token=short)
    assert Settings(token="x" * 16).token == "x" * 16


async def test_only_the_servers_own_host_names_are_answered(tmp_path: Any) -> None:
    """DNS rebinding: a page whose own name points at 127.0.0.1 still sends that name."""
    app = create_app(Settings(database=tmp_path / "p.db", allowed_hosts="tastebud.lan, Pi.Local"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url=BASE) as api:
        await api.post("/api/preferences", json=_event("g", selected=True))
        for host in ("evil.example", "evil.example:8001", "127.0.0.1.evil.example", "", "[::2"):
            answer = await api.get("/api/preferences/export", headers={"Host": host})
            _error(answer, 400, "Host")
            assert "generation_id" not in answer.text
        for host in ("127.0.0.1:8001", "localhost:8001", "[::1]:8001", "LOCALHOST", "tastebud.lan",
                     "pi.local:8001", "192.168.1.5:8001", "[fe80::1]:8001"):  # fmt: skip
            answer = await api.get("/api/preferences/stats", headers={"Host": host})
            assert answer.status_code == 200, (host, answer.text)
    with pytest.raises(InvalidInput, match="allowed_hosts"):
        Settings(allowed_hosts="http://tastebud.lan/")
    await app.state.styles.stop()
    await app.state.preferences.aclose()


async def test_a_page_of_another_origin_cannot_change_anything(tmp_path: Any) -> None:
    """CSRF: what a browser says of a request's origin decides; programs send neither header."""
    app = create_app(Settings(database=tmp_path / "p.db"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url=BASE) as api:
        event = json.dumps(_event("g", selected=True))
        refused = [
            ({"Origin": "http://evil.example"}, 403, "Origin"),
            ({"Origin": "null"}, 403, "Origin"),
            ({"Origin": "http://127.0.0.1:9000"}, 403, "Origin"),  # another port: same site
            ({"Origin": "http://localhost:8001"}, 403, "Origin"),  # another name: another origin
            ({"Sec-Fetch-Site": "cross-site"}, 403, "Sec-Fetch-Site"),
            ({"Sec-Fetch-Site": "same-site", "Origin": "http://127.0.0.1:8001"}, 403,
             "Sec-Fetch-Site"),
            ({"Content-Type": "text/plain"}, 415, "Content-Type"),
            ({"Content-Type": "multipart/form-data; boundary=x"}, 415, "Content-Type"),
        ]  # fmt: skip
        for headers, status, field in refused:
            answer = await api.post("/api/preferences", content=event, headers=headers)
            _error(answer, status, field)
        _error(await api.post("/api/repair", headers={"Sec-Fetch-Site": "cross-site"}), 403)
        assert await _totals(api) == (0, 0)
        # The server's own pages, and programs (curl -d sends a form's type), may write.
        own = {"Origin": BASE, "Sec-Fetch-Site": "same-origin", "Content-Type": "application/json"}
        for headers in (own, {}, {"Content-Type": "application/x-www-form-urlencoded"}):
            answer = await api.post("/api/preferences", content=event, headers=headers)
            assert answer.status_code == 201, (headers, answer.text)
        # Reading is not refused: another origin's page cannot read the answer anyway.
        assert (await api.get("/api/health", headers={"Sec-Fetch-Site": "cross-site"})).is_success
    await app.state.styles.stop()
    await app.state.preferences.aclose()


async def test_every_answer_forbids_framing_and_sniffing_and_the_panel_has_a_policy(
    tmp_path: Any,
) -> None:
    app = create_app(Settings(database=tmp_path / "p.db"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url=BASE) as api:
        for path in ("/", "/static/app.js", "/api/health", "/api/nothing-here"):
            answer = await api.get(path)
            assert answer.headers["x-content-type-options"] == "nosniff"
            assert answer.headers["x-frame-options"] == "DENY"
        policy = (await api.get("/")).headers["content-security-policy"]
        assert "frame-ancestors 'none'" in policy and "default-src 'self'" in policy
        assert "'unsafe-inline'" not in policy
        assert "content-security-policy" not in (await api.get("/docs")).headers
    await app.state.styles.stop()
    await app.state.preferences.aclose()


def test_listening_beyond_loopback_needs_a_token() -> None:
    with pytest.raises(InvalidInput, match="token"):
        Settings(host="0.0.0.0")
    assert Settings(host="0.0.0.0", token="correct-horse-battery").token == "correct-horse-battery"
    for loopback in ("127.0.0.1", "127.0.0.2", "::1", "localhost"):
        assert Settings(host=loopback).token is None


async def test_delete_a_profile_over_http(tmp_path: Any) -> None:
    app = create_app(Settings(database=tmp_path / "p.db"))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app), base_url="http://127.0.0.1:8001"
    ) as api:
        for user_id in ("alice", "bob"):
            event = {**_event(f"{user_id}-1", selected=True), "user_id": user_id}
            assert (await api.post("/api/preferences", json=event)).status_code == 201
        answer = await api.delete("/api/profiles/alice")
        assert answer.status_code == 200 and answer.json() == {"user_id": "alice", "events": 1}
        _error(await api.delete("/api/profiles/alice"), 404, "user_id")
        profiles = (await api.get("/api/profiles")).json()["profiles"]
        assert profiles == [{"user_id": "bob", "total": 1}]
    await app.state.styles.stop()
    await app.state.preferences.aclose()


async def test_download_of_events_names_the_formats_it_has(tmp_path: Any) -> None:
    app = create_app(Settings(database=tmp_path / "p.db"))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app), base_url="http://127.0.0.1:8001"
    ) as api:
        body = _error(await api.get("/api/preferences/download?format=xml"), 422, "format")
        assert body["details"][0]["reason"] == "must be 'csv' or 'json'"
        assert (await api.post("/api/preferences", json=_event("g", selected=True))).is_success
        answer = await api.get("/api/preferences/download")
        assert answer.text.splitlines()[0].startswith("timestamp,action,implicit,checkpoint")
        assert len(answer.text.splitlines()) == 2
    await app.state.styles.stop()
    await app.state.preferences.aclose()
