"""The README's Python example runs as written and prints what the README says."""

from __future__ import annotations

import itertools
import json
import re
import shlex
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from tastebud.api import create_app
from tastebud.cli import app as cli
from tastebud.demo import demo_history
from tastebud.settings import Settings

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_example_runs(tmp_path: Path) -> None:
    """It prints what it says wherever it runs: in a folder whose default database already
    holds a history (a new user's second try) as in an empty one, and it leaves nothing."""
    text = README.read_text()
    code = re.search(r"```python\n(.*?)```", text, re.DOTALL)
    assert code, "README has a Python example"
    default_database = str(tmp_path / "data" / "preferences.db")
    for number in range(3):
        recorded = CliRunner().invoke(
            cli, ["record", "beach sunset", "-c", "realvisxlV40", "--selected", "-g", f"h{number}",
                  "--db", default_database],
        )  # fmt: skip
        assert recorded.exit_code == 0, recorded.output
    before = sorted(tmp_path.rglob("*"))
    for _ in range(2):
        result = subprocess.run(
            [sys.executable, "-c", code.group(1)],
            check=False,
            cwd=tmp_path,
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stderr
        printed = result.stdout.strip()
        promised = re.search(r"# (epicrealismXL .*)", code.group(1))
        assert promised
        assert printed.startswith(promised.group(1).split("...")[0]), printed
    assert sorted(tmp_path.rglob("*")) == before


def test_readme_names_the_two_commands() -> None:
    text = README.read_text()
    assert "python3 tasks.py run" in text and "python3 tasks.py test" in text
    ci = (README.parent / ".ci" / "run").read_text()
    assert "python3 tasks.py test" in ci


SEED = README.parent.parent / "shared" / "seed" / "preference-learning-system.md"


@pytest.fixture
async def demo_api(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(Settings(database=tmp_path / "preferences.db"))
    await app.state.preferences.record_batch(demo_history())
    await app.state.preferences.refit("demo")  # as `tastebud serve --demo` does
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app), base_url="http://localhost:8001"
    ) as client:
        yield client
    await app.state.preferences.aclose()


def _curl_lines(text: str) -> list[str]:
    commands = re.findall(r"^curl .*?(?=\n\S|\n*```)", text, re.MULTILINE | re.DOTALL)
    return [" ".join(command.split()) for command in commands]


async def _run_curl(api: httpx.AsyncClient, command: str) -> httpx.Response:
    words = shlex.split(command.split(" > ")[0])
    url = next(word for word in words if word.startswith("http"))
    if "-d" in words:
        return await api.post(url, content=words[words.index("-d") + 1])
    return await api.get(url)


async def test_readme_curl_examples_work_as_written(demo_api: httpx.AsyncClient) -> None:
    text = README.read_text()
    commands = _curl_lines(text)
    assert len(commands) >= 5
    for command in commands:
        response = await _run_curl(demo_api, command)
        assert response.status_code == 200, (command, response.text)
    first = await _run_curl(demo_api, commands[0])
    promised = re.search(r"# (\{.*?), \.\.\.\}", text)
    assert promised, "README shows the first answer"
    assert json.dumps(first.json()).startswith(promised.group(1))


async def test_the_seed_curl_examples_work_as_written(demo_api: httpx.AsyncClient) -> None:
    if not SEED.is_file():
        pytest.skip(f"the seed document {SEED} is absent")
    commands = _curl_lines(SEED.read_text())
    assert len(commands) == 4
    for command in commands:
        response = await _run_curl(demo_api, command)
        assert response.status_code == 200, (command, response.text)


def test_readme_cli_examples_run(tmp_path: Path) -> None:
    database = str(tmp_path / "preferences.db")
    CliRunner().invoke(cli, ["demo", "--db", database])
    block = re.search(r"## From the terminal\n\n```sh\n(.*?)```", README.read_text(), re.DOTALL)
    assert block, "README has a CLI example"
    lines = block.group(1).splitlines()
    for index, line in enumerate(lines):
        if not line.startswith(".venv/bin/tastebud "):
            continue
        result = CliRunner().invoke(cli, [*shlex.split(line)[1:], "--db", database])
        assert result.exit_code == 0, (line, result.output)
        for promised in itertools.takewhile(lambda text: text.startswith("# "), lines[index + 1 :]):
            assert promised[2:] in result.stdout, (line, promised, result.stdout)
