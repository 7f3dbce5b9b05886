"""The ``tastebud`` command through Typer's runner, against real database files."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tastebud.cli import app


def tastebud(*args: str | Path) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, [str(arg) for arg in args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "data" / "preferences.db"


def _stats(db: Path, user: str = "default") -> dict:
    code, out, _ = tastebud("stats", "--user", user, "--db", db, "--json")
    assert code == 0
    return json.loads(out)


def test_every_command_has_help_with_an_example() -> None:
    for command in ("serve", "demo", "record", "recommend", "stats", "export", "import", "check",
                    "repair", "explore", "import-images", "watch", "profiles", "forget",
                    "forget-profile"):  # fmt: skip
        code, out, _ = tastebud(command, "--help")
        assert code == 0 and "Example" in out and "tastebud " + command in out, command


def test_every_option_says_what_it_takes_in_words() -> None:
    """ "--port PORT", "--lora NAME[:STRENGTH]": not Python types ("<int>", "<list[str]>")."""
    for command in ("serve", "demo", "record", "recommend", "loras", "stats", "export", "import",
                    "check", "repair", "explore", "import-images", "watch"):  # fmt: skip
        code, out, _ = tastebud(command, "--help")
        options = out.split("Options:", 1)[1]
        assert code == 0 and "<" not in options, (command, options)


def test_arguments_are_named_plainly_in_the_help() -> None:
    """ "tastebud recommend [OPTIONS] PROMPT" and "PROMPT  The prompt...": not Typer's
    "{PROMPT}" and "PROMPT <str>"."""
    for command, argument in (("recommend", "PROMPT"), ("record", "PROMPT"),
                              ("forget", "GENERATION_ID"), ("import-images", "FOLDER")):  # fmt: skip
        code, out, _ = tastebud(command, "--help")
        assert code == 0
        assert f"Usage: tastebud {command} [OPTIONS] {argument}\n" in out, out
        arguments = out.split("Arguments:", 1)[1].split("Options:", 1)[0]
        assert arguments.split()[0] == argument and "<" not in arguments, arguments


def test_demo_fills_its_own_profile_once(db: Path) -> None:
    code, out, err = tastebud("demo", "--db", db)
    assert code == 0, err
    assert "400 events added" in err and "images judged" in out
    assert tastebud("demo", "--db", db)[2].count("0 events added") == 1
    assert _stats(db, "demo")["total_preferences"] == 400
    assert _stats(db)["total_preferences"] == 0  # the user's own profile is untouched


def test_recommend_shows_the_checkpoint_loras_and_why(db: Path) -> None:
    tastebud("demo", "--db", db)
    code, out, _ = tastebud("recommend", "beach at sunset", "--user", "demo", "--db", db)
    assert code == 0
    assert out.startswith("epicrealismXL_pureFix.safetensors  confidence 0.")
    assert "Why: Based on your" in out and "'beach' selections" in out and "add_detail" in out
    assert "Avoided anime_style_v2 with epicrealismXL_pureFix.safetensors" in out
    code, out, _ = tastebud("recommend", "beach at sunset", "--user", "demo", "--db", db,
                            "-a", "realvisxlV40,animagineXL_v3", "--json")  # fmt: skip
    answer = json.loads(out)
    assert answer["checkpoint"] == "realvisxlV40"
    assert [item["checkpoint"] for item in answer["ranking"]] == ["realvisxlV40", "animagineXL_v3"]


def test_record_then_recommend(db: Path) -> None:
    for generation, checkpoint, kept in (("g1", "epicrealismXL", "--selected"),
                                         ("g2", "realvisxlV40", "--rejected")):  # fmt: skip
        code, out, err = tastebud("record", "beach at sunset", "-c", checkpoint, kept,
                                  "-g", generation, "--lora", "add_detail:0.6", "--db", db)  # fmt: skip
        assert code == 0, err
        assert f"generation {generation}" in out
    stats = _stats(db)
    assert stats["action_counts"] == {"selected": 1, "rejected": 1}
    assert stats["top_loras"][0]["lora"] == "add_detail"
    code, out, _ = tastebud("recommend", "beach", "--db", db, "--json")
    assert json.loads(out)["checkpoint"] == "epicrealismXL"


def test_export_then_import_elsewhere(db: Path, tmp_path: Path) -> None:
    tastebud("demo", "--db", db)
    export = tmp_path / "demo.json"
    code, _, err = tastebud("export", "--user", "demo", "-o", export, "--db", db)
    assert code == 0 and "400 events written" in err
    document = json.loads(export.read_text())
    assert (document["version"], document["total_preferences"]) == ("1.1", 400)
    elsewhere = tmp_path / "elsewhere.db"
    code, out, _ = tastebud("import", export, "--db", elsewhere)
    assert code == 0 and out.startswith("400 added")
    assert tastebud("import", export, "--db", elsewhere)[1].startswith(
        "0 added, 0 replaced, 400 unchanged"
    )
    assert _stats(elsewhere, "demo") == _stats(db, "demo")
    tastebud("import", export, "--user", "me", "--db", elsewhere)
    assert _stats(elsewhere, "me")["total_preferences"] == 400
    code, out, _ = tastebud("export", "--all-profiles", "--db", elsewhere)
    assert json.loads(out)["total_preferences"] == 800


def test_a_bad_import_is_one_line_and_changes_nothing(db: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    event = {"prompt": "p", "checkpoint": "c", "generation_id": "g", "action": "kept"}
    bad.write_text(json.dumps({"version": "1.0", "preferences": [event]}))
    code, out, err = tastebud("import", bad, "--db", db)
    assert code == 1 and out == ""
    assert err.strip().splitlines() == [
        "tastebud: error: preferences[0].action: must be 'selected' or 'rejected'"
    ]
    assert _stats(db)["total_preferences"] == 0
    code, _, err = tastebud("import", tmp_path / "missing.json", "--db", db)
    assert code == 1 and len(err.strip().splitlines()) == 1 and "missing.json" in err


def test_errors_are_one_line_and_a_non_zero_exit(db: Path, tmp_path: Path) -> None:
    code, _, err = tastebud("recommend", "beach", "--count", "0", "--db", db)
    assert (code, err.strip()) == (
        1,
        "tastebud: error: count: must be a whole number from 1 to 100",
    )
    code, _, err = tastebud(
        "record", "beach", "-c", "models/.safetensors", "--selected", "--db", db
    )
    assert code == 1 and err.startswith("tastebud: error: checkpoint:")
    code, _, err = tastebud("stats", "--db", "mysql://nowhere/db")
    assert code == 1 and "unsupported database" in err and len(err.strip().splitlines()) == 1
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    code, _, err = tastebud("stats", "--db", blocker / "inside.db")
    assert code == 1 and err.startswith("tastebud: error: cannot use the database")
    assert len(err.strip().splitlines()) == 1


def test_serve_refuses_other_machines_without_a_token(db: Path) -> None:
    code, _, err = tastebud("serve", "--host", "0.0.0.0", "--db", db)
    assert code == 1 and err.startswith("tastebud: error: token: is required")
    assert not db.exists()  # refused before anything was opened


def test_check_and_repair(db: Path) -> None:
    tastebud("demo", "--db", db)
    code, out, _ = tastebud("check", "--db", db)
    assert code == 0 and "every statistic matches" in out
    with sqlite3.connect(db) as connection:
        connection.execute("UPDATE preference_stats SET selected_count = selected_count + 1")
    code, out, _ = tastebud("check", "--db", db)
    assert code == 1 and "tastebud repair" in out
    assert tastebud("repair", "--db", db)[0] == 0
    assert tastebud("check", "--db", db)[0] == 0


def test_the_database_comes_from_the_environment(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TASTEBUD_DB", str(db))
    tastebud("record", "beach", "-c", "epicrealismXL", "--selected")
    assert _stats(db)["total_preferences"] == 1


def test_version() -> None:
    from tastebud import __version__

    code, out, _ = tastebud("--version")
    assert code == 0 and out.strip() == f"tastebud {__version__}"


@pytest.mark.parametrize(
    ("flags", "says"),
    [
        (
            ["--lora", "add_detail:abc", "--selected"],
            "strength after the last ':' must be a number",
        ),
        (["--selected", "--rejected"], "not both"),
        ([], "was the image kept"),
    ],
)
def test_record_refuses_an_unclear_request_and_records_nothing(
    db: Path, flags: list[str], says: str
) -> None:
    """A LoRA strength that is not a number, or both or neither of --selected and --rejected:
    a usage error (exit 2) saying so, and nothing recorded (not "add_detail:abc" at 1.0, not
    whichever flag came last)."""
    tastebud("record", "cat", "-c", "a", "--selected", "--db", db)
    code, _, err = tastebud("record", "dog", "-c", "a", *flags, "--db", db)
    assert code == 2 and says in err, err
    assert _stats(db)["total_preferences"] == 1


def test_a_lora_path_with_a_drive_letter_is_a_name(db: Path) -> None:
    path = r"C:\models\add_detail.safetensors"
    code, _, err = tastebud("record", "cat", "-c", "a", "--lora", path, "--selected", "--db", db)
    assert code == 0, err
    assert [lora["lora"] for lora in _stats(db)["top_loras"]] == [path]


def test_stats_of_a_profile_that_does_not_exist_says_so(db: Path) -> None:
    tastebud("record", "cat", "-c", "a", "--selected", "--db", db)
    code, out, err = tastebud("stats", "--user", "defualt", "--db", db)
    assert code == 1 and out == ""
    assert "no profile 'defualt' (profiles: default)" in err


def test_json_is_what_the_http_api_answers(db: Path) -> None:
    """`--json` prints the HTTP API's own answer: the same fields, the same rounding, the same
    meaning of each word (before: unrounded numbers, a ranking whose "confidence" was the
    evidence level, LoRAs without their reasons)."""
    import httpx

    from test_server import serving

    assert tastebud("demo", "--db", db)[0] == 0
    prompt = "beach at sunset"
    answers = {}
    for command in (["recommend", prompt, "--count", "3"], ["loras", prompt, "-c", "epicrealismXL"],
                    ["explore", prompt, "--seed", "7"]):  # fmt: skip
        code, out, err = tastebud(*command, "--user", "demo", "--db", db, "--json")
        assert code == 0, err
        answers[command[0]] = json.loads(out)
    with serving("--db", str(db)) as base:

        def ask(path: str, **params: object) -> object:
            query = {"prompt": prompt, "user_id": "demo", **params}
            answer = httpx.get(base + path, params=query, timeout=30)  # type: ignore[arg-type]
            assert answer.status_code == 200, answer.text
            body = answer.json()
            if isinstance(body, dict):
                body.pop("user_id", None)
            return body

        checkpoint = ask("/api/preferences/recommend/checkpoint")
        loras = ask("/api/preferences/recommend/loras", count=3, include_avoided=True,
                    checkpoint=answers["recommend"]["checkpoint"])  # fmt: skip
        assert answers["recommend"] == {**checkpoint, "loras": loras}
        assert "evidence_level" in answers["recommend"]["ranking"][0]
        assert answers["loras"] == ask(
            "/api/preferences/recommend/lora-set", checkpoint="epicrealismXL"
        )
        assert answers["explore"] == ask("/api/preferences/explore", seed=7)


def test_profiles_lists_each_with_its_images(db: Path) -> None:
    assert tastebud("profiles", "--db", db)[1].startswith("No profiles yet")
    tastebud("record", "cat", "-c", "a", "--selected", "--user", "zoé", "--db", db)
    tastebud("record", "dog", "-c", "a", "--rejected", "--db", db)
    tastebud("record", "owl", "-c", "a", "--rejected", "--db", db)
    code, out, _ = tastebud("profiles", "--db", db)
    assert code == 0 and [line.split() for line in out.splitlines()] == [
        ["default", "2", "images"], ["zoé", "1", "image"],
    ]  # fmt: skip
    assert json.loads(tastebud("profiles", "--db", db, "--json")[1]) == {"default": 2, "zoé": 1}


def test_forget_asks_first_and_removes_only_that_image(db: Path) -> None:
    tastebud("record", "cat", "-c", "a", "--selected", "-g", "g1", "--db", db)
    tastebud("record", "dog", "-c", "a", "--rejected", "-g", "g2", "--db", db)
    result = CliRunner().invoke(app, ["forget", "g1", "--db", str(db)], input="n\n")
    assert result.exit_code == 1 and "nothing forgotten" in result.stderr
    assert _stats(db)["total_preferences"] == 2
    result = CliRunner().invoke(app, ["forget", "g1", "--db", str(db)], input="y\n")
    assert result.exit_code == 0, result.stderr
    stats = _stats(db)
    assert stats["total_preferences"] == 1 and stats["action_counts"]["rejected"] == 1
    code, _, err = tastebud("forget", "g1", "--yes", "--db", db)
    assert code == 1 and "profile 'default' has no image 'g1'" in err
    code, out, _ = tastebud("check", "--db", db)
    assert code == 0, out


def test_forget_profile_asks_first_and_removes_only_that_profile(db: Path) -> None:
    tastebud("record", "cat", "-c", "a", "--selected", "--user", "alice", "--db", db)
    tastebud("record", "dog", "-c", "a", "--rejected", "--user", "bob", "--db", db)
    result = CliRunner().invoke(app, ["forget-profile", "alice", "--db", str(db)], input="n\n")
    assert result.exit_code == 1 and "nothing deleted" in result.stderr
    code, out, err = tastebud("forget-profile", "alice", "-y", "--db", db)
    assert code == 0 and "deleted profile 'alice' (1 image)" in out, err
    assert json.loads(tastebud("profiles", "--json", "--db", db)[1]) == {"bob": 1}
    code, _, err = tastebud("forget-profile", "alice", "-y", "--db", db)
    assert code == 1 and "there is no profile 'alice'" in err
