"""The docs keep up with the code: every setting of the server is documented."""

from __future__ import annotations

from pathlib import Path

from tastebud.settings import declared

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_every_setting_is_documented() -> None:
    text = (DOCS / "http.md").read_text()
    for setting in declared():
        flag = "--db" if setting.name == "database" else "--" + setting.name.replace("_", "-")
        row = f"| {setting.name} | `{flag}` | `{setting.env}` |"
        assert row in text, f"docs/http.md has no row for the setting {setting.name}: {row}"


def test_every_cli_command_is_documented() -> None:
    from tastebud.cli import app

    text = (DOCS / "cli.md").read_text()
    for command in app.registered_commands:
        name = command.name or command.callback.__name__  # type: ignore[union-attr]
        assert f"`tastebud {name}" in text, f"docs/cli.md does not describe {name}"
