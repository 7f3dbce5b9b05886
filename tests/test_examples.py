"""Every example in the README and docs/, run as written against a real server, compared with
the output the text shows.

- curl: each command of a ``sh`` block runs in a shell with Debian's curl, against a real
  ``tastebud serve --demo`` on a loopback port; a ``# {...}`` line under it is the answer, where
  ``...`` stands for anything.
- The CLI: each ``tastebud`` line of the README's terminal block and each ``$ tastebud`` line of a
  ``console`` block runs as a real process on the server's database; the lines shown under it
  must be in what it prints.
- HTTP answers in ``json`` blocks of docs/http.md: the real answer has every key the example
  shows; a request body shown there is accepted as it is.
- Python: every ``python`` block of docs/ runs (top-level ``await`` allowed, as in
  ``python -m asyncio``), and a value shown in a ``# comment`` beside an expression is its value.
  (The README's own block has its test in test_readme.py.)
- The seed's design document: its four curl lines answer.
"""

from __future__ import annotations

import ast
import asyncio
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest

from test_panel_api import _a1111_png
from test_server import serving

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
DOCUMENTED = "http://localhost:8001"
SHARED_PNG = ROOT.parent / "shared" / "data" / "png"
SEED = ROOT.parent / "shared" / "seed" / "preference-learning-system.md"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, Path]]:
    folder = tmp_path_factory.mktemp("examples")
    database = folder / "preferences.db"
    with serving("--db", str(database), "--demo") as base:
        yield base, database, folder


def _blocks(text: str, language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", text, re.MULTILINE | re.DOTALL)


def _matches(shown: str, actual: str) -> bool:
    """``shown`` with each ``...`` standing for any text, against ``actual``."""
    pattern = ".*?".join(re.escape(part) for part in shown.split("..."))
    return re.fullmatch(pattern, actual, re.DOTALL) is not None


def _commands(block: str, start: str) -> list[tuple[str, list[str]]]:
    """The commands of a shell block that begin with ``start`` (joined across lines) and the
    ``# `` lines under each: what it answers."""
    found: list[tuple[str, list[str]]] = []
    for line in block.splitlines():
        if line.startswith(start):
            found.append((line, []))
        elif line.startswith("# ") and found:
            found[-1][1].append(line[2:])
        elif found and not found[-1][1] and not line.startswith((".venv", "curl", "#")):
            found[-1] = (found[-1][0] + " " + line.strip(), [])
    return found


def _curl(command: str, base: str, folder: Path) -> tuple[int, str]:
    """Run the command as written (with the server's address), and return its HTTP status and
    body (read from the file it writes to, for one that redirects its output)."""
    measured = command.replace("curl ", "curl -sS -o answer.txt -w '%{http_code}' ", 1)
    target = None
    if " > " in measured:
        measured, target = measured.split(" > ")
    done = subprocess.run(
        ["bash", "-c", measured.replace(DOCUMENTED, base)],
        cwd=folder,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, (command, done.stderr)
    body = (folder / "answer.txt").read_text()
    if target is not None:
        (folder / target.strip()).write_text(body)
    return int(done.stdout), body


def test_every_curl_example_answers_as_shown(server: tuple[str, Path, Path]) -> None:
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed (apt-get install curl)")
    base, _, folder = server
    commands = [
        command
        for path in (README, *sorted(DOCS.glob("*.md")))
        for block in _blocks(path.read_text(), "sh")
        for command in _commands(block, "curl ")
    ]
    assert len(commands) >= 7
    shown = 0
    for command, answers in commands:
        status, body = _curl(command, base, folder)
        assert status == 200, (command, body)
        for answer in answers:
            shown += 1
            spaced = json.dumps(json.loads(body))  # as the docs write JSON
            assert _matches(answer, spaced), (command, answer, spaced)
    assert shown >= 2
    exported = json.loads((folder / "my_preferences.json").read_text())
    assert exported["total_preferences"] > 0


def test_the_seed_documents_curl_examples_answer(server: tuple[str, Path, Path]) -> None:
    """The design document tastebud grew from shows its four endpoints with curl."""
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed (apt-get install curl)")
    if not SEED.is_file():
        pytest.skip(f"the seed document {SEED} is absent")
    base, _, folder = server
    commands = re.findall(r"^curl .*$", SEED.read_text(), re.MULTILINE)
    assert len(commands) == 4
    for command in commands:
        status, body = _curl(command, base, folder)
        assert status == 200, (command, body)


def _tastebud(line: str, database: Path, folder: Path, home: Path) -> str:
    command = re.sub(r"(^|&& )(\.venv/bin/)?tastebud ", rf"\1{sys.executable} -m tastebud ", line)
    done = subprocess.run(
        ["bash", "-c", command],
        cwd=folder,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "TASTEBUD_DB": str(database), "COLUMNS": "200", "HOME": str(home)},
        stdin=subprocess.DEVNULL,  # a command that asks would fail here, not wait
        timeout=300,
    )
    assert done.returncode == 0, (line, done.stdout, done.stderr)
    return done.stdout


def _comfyui_output(home: Path) -> Path:
    """``~/ComfyUI/output`` as the examples name it: an image to review, and one in ``best``."""
    output = home / "ComfyUI" / "output"
    (output / "best").mkdir(parents=True)
    _a1111_png(output / "00001.png", (32, 32))
    _a1111_png(output / "best" / "00002.png", (40, 40))
    return output


def _real_outputs(folder: Path) -> bool:
    """``./outputs`` as docs/images.md describes it: the 40 real files of ../shared/data/png,
    those of sd-parsers in ``Starred`` (as tests/test_images_import.py lays them out)."""
    if not SHARED_PNG.is_dir():
        return False
    for entry in json.loads((SHARED_PNG / "manifest.json").read_text(encoding="utf-8")):
        name = entry["file"]
        place = folder / "outputs" / ("Starred" if name.startswith("sd-parsers/") else "day1")
        place.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(SHARED_PNG / name, place / Path(name).name)
    return True


def test_every_cli_example_prints_what_is_shown(
    server: tuple[str, Path, Path], tmp_path: Path
) -> None:
    """The README's terminal block, and each ``console`` block of docs/: ``tastebud serve``
    starts a real server that the block's curl lines then ask (``watch``, which runs until
    stopped, is left out: tests/test_images_import.py watches a real folder)."""
    _, database, folder = server
    home = tmp_path / "home"
    output = _comfyui_output(home)
    real = _real_outputs(folder)
    ran = 0
    terminal = re.search(r"## From the terminal\n\n```sh\n(.*?)```", README.read_text(), re.DOTALL)
    assert terminal, "README has a CLI example"
    for line, shown in _commands(terminal.group(1), ".venv/bin/tastebud "):
        printed = _tastebud(line, database, folder, home)
        ran += 1
        for expected in shown:
            assert expected in printed, (line, expected, printed)
    for path in sorted(DOCS.glob("*.md")):
        for block in _blocks(path.read_text(), "console"):
            with ExitStack() as servers:
                base = None
                for command in re.split(r"^\$ ", block, flags=re.MULTILINE)[1:]:
                    line, *shown = command.rstrip("\n").split("\n")
                    if line.startswith("tastebud watch ") or ("./outputs" in line and not real):
                        continue
                    if line.startswith("tastebud serve "):
                        args = [arg.replace("~", str(home)) for arg in shlex.split(line)[2:]]
                        base = servers.enter_context(serving("--db", str(database), *args))
                        continue
                    if line.startswith("curl "):
                        assert base is not None, (path.name, line)
                        line = line.replace("localhost:8001", base).replace("/home/me", str(home))
                        status, body = _curl(line, base, folder)
                        assert status == 200, (path.name, line, body)
                        ran += 1
                        continue
                    printed = _tastebud(line, database, folder, home)
                    ran += 1
                    for expected in shown:
                        if expected != "...":
                            assert expected in printed, (path.name, line, expected, printed)
    assert ran >= 11
    assert (folder / "elsewhere.db").is_file()  # export, then import elsewhere
    assert output.is_dir()


# -- docs/http.md's JSON --------------------------------------------------------------------------

# What the "..." of a documented request stands for, on the demo profile.
PARAMETERS = {
    "prompt": "beach sunset",
    "checkpoint": "epicrealismXL",
    "available": "epicrealismXL,realvisxlV40",
}


def _json_shown(text: str) -> Any:
    """A JSON example in which ``[...]`` and ``, ...`` leave out what is not shown."""
    text = text.replace("[...]", "[]").replace('"..."', '""')
    text = re.sub(r",\s*\.\.\.(?=\s*[\]}])", "", text)
    return json.loads(text)


def _has_what_is_shown(shown: Any, actual: Any, place: str = "") -> None:
    if isinstance(shown, dict):
        assert isinstance(actual, dict), (place, actual)
        for key, value in shown.items():
            assert key in actual, f"{place}.{key} is shown but not answered: {list(actual)}"
            _has_what_is_shown(value, actual[key], f"{place}.{key}")
    elif isinstance(shown, list) and shown:
        assert isinstance(actual, list), (place, actual)
        if actual:
            _has_what_is_shown(shown[0], actual[0], f"{place}[0]")


def _examples(text: str) -> list[tuple[str, str]]:
    """(the heading above, the block) for each ``json`` block."""
    found = []
    heading = ""
    for part in re.split(r"^(#+ .*)$", text, flags=re.MULTILINE):
        if part.startswith("#"):
            heading = part
            continue
        found.extend((heading, block) for block in _blocks(part, "json"))
    return found


def test_every_http_answer_in_the_docs_has_the_keys_shown(server: tuple[str, Path, Path]) -> None:
    base = server[0]
    examples = _examples((DOCS / "http.md").read_text())
    checked = set()
    for heading, block in examples:
        request = re.search(r"`(GET|POST) (/api/[^`]*)`", heading)
        if request is None:
            continue
        method, path = request.groups()
        shown = _json_shown(block)
        if method == "GET":
            path, _, query = path.partition("?")
            params = {
                name: PARAMETERS[name] if value == "..." else value
                for name, value in (pair.split("=") for pair in query.split("&") if pair)
            }
            answer = httpx.get(base + path, params={**params, "user_id": "demo"}, timeout=60)
            assert answer.status_code == 200, (heading, answer.text)
            _has_what_is_shown(shown, answer.json(), path)
        elif path in ("/api/preferences/batch", "/api/preferences"):
            answer = httpx.post(base + path, json=shown, timeout=60)  # the body shown, as it is
            assert answer.status_code in (200, 201), (heading, answer.text)
        checked.add(path)
    assert {"/api/preferences/stats", "/api/preferences/recommend/checkpoint",
            "/api/preferences/explore", "/api/preferences/batch"} <= checked  # fmt: skip


def test_the_error_shown_in_the_docs_is_the_error_answered(
    server: tuple[str, Path, Path],
) -> None:
    """docs/http.md's error example is the answer to its batch example with a third image whose
    LoRA strength is not a number."""
    examples = dict(_examples((DOCS / "http.md").read_text()))
    batch = next(block for heading, block in examples.items() if "preferences/batch" in heading)
    error = json.loads(examples["## Errors"])
    body = json.loads(batch)
    body["images"][2]["loras"] = [{"name": "add_detail", "strength": "strong"}]
    answer = httpx.post(server[0] + "/api/preferences/batch", json=body, timeout=60)
    assert answer.status_code == 422
    assert answer.json() == error


# -- Python ---------------------------------------------------------------------------------------


async def _run_with_top_level_await(code: str, names: dict[str, Any]) -> None:
    compiled = compile(code, "<docs>", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    result = eval(compiled, names)
    if result is not None:
        await result


def _values_shown(code: str, names: dict[str, Any]) -> int:
    """Check each ``expression  # value`` line (or a ``# value`` line under it) whose comment
    starts with a value; returns how many were checked."""
    lines = code.splitlines()
    checked = 0
    for index, line in enumerate(lines):
        expression, _, comment = line.partition("  # ")
        if not comment and index + 1 < len(lines) and lines[index + 1].startswith("# "):
            comment = lines[index + 1][2:]
        value = re.match(r"[\d.\-]+|True|False|None|\[.*\]", comment.strip())
        if not expression.strip() or expression.startswith(("#", "from ", "import ")):
            continue
        if value is None or "=" in expression.split("(")[0]:
            continue
        actual = repr(eval(expression, names))
        assert _matches(value.group(0), actual) or actual.startswith(value.group(0)), (
            expression, value.group(0), actual
        )  # fmt: skip
        checked += 1
    return checked


def test_every_python_example_in_the_docs_runs(tmp_path: Path, monkeypatch: Any) -> None:
    from tastebud import PreferenceLearning

    home = tmp_path / "home"
    _comfyui_output(home)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(tmp_path)
    blocks = [
        block for path in sorted(DOCS.glob("*.md")) for block in _blocks(path.read_text(), "python")
    ]
    assert len(blocks) >= 3

    async def run(block: str) -> int:
        async with PreferenceLearning(tmp_path / "examples.db") as learning:
            names: dict[str, Any] = {"learning": learning}
            await _run_with_top_level_await(block.replace("    ...\n", "    pass\n"), names)
            return _values_shown(block, names)

    assert sum(asyncio.run(run(block)) for block in blocks) >= 3
