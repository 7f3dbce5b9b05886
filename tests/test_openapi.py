"""Requests made from the server's own OpenAPI schema (schemathesis), sent to the real server on
both databases: no answer is a 5xx, and every answer matches what the schema says it is."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from test_server import serving

EXAMPLES = 20  # per operation and phase: bounded, so the run takes about a minute


def test_requests_made_from_the_schema_get_no_5xx_and_answers_that_match_it(
    database: str, tmp_path: Path
) -> None:
    st = Path(sys.executable).parent / "st"
    assert st.exists() or shutil.which("st"), "schemathesis is in the test extra"
    images = tmp_path / "images"
    images.mkdir()
    env = {"TASTEBUD_THUMBNAIL_FOLDER": str(tmp_path / "thumbnails")}
    with serving("--db", database, "--image-folders", str(images), env=env) as base:
        result = subprocess.run(
            [str(st) if st.exists() else "st", "run", base + "/openapi.json",
             "--checks", "not_a_server_error,response_schema_conformance",
             "--phases", "examples,coverage,fuzzing", "-n", str(EXAMPLES),
             "--seed", "20261201", "--no-color"],
            capture_output=True, text=True, check=False, timeout=900,
        )  # fmt: skip
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
