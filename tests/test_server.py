"""The real server: ``tastebud serve`` as a process on a free loopback port, used over TCP."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def serving(
    *args: str, env: dict[str, str] | None = None, port: int | None = None
) -> Iterator[str]:
    """Start ``tastebud serve`` and yield its base URL once it answers; stop it with Ctrl-C."""
    port = port or _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "tastebud", "serve", "--port", str(port), *args],
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):  # a readiness wait, not a timing check: up to a minute to start
            if process.poll() is not None:
                raise AssertionError(f"the server stopped: {process.communicate()}")
            try:
                httpx.get(base + "/api/health", headers=_auth(env), timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        else:
            raise AssertionError("the server did not answer within a minute")
        yield base
    finally:
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert "Traceback" not in err


def _auth(env: dict[str, str] | None) -> dict[str, str]:
    token = (env or {}).get("TASTEBUD_TOKEN")
    return {"Authorization": f"Bearer {token}"} if token else {}


def test_records_and_recommends_over_tcp_and_keeps_the_data(tmp_path: Path) -> None:
    db = str(tmp_path / "preferences.db")
    with serving("--db", db, "--demo") as base:
        assert httpx.get(base + "/api/health").json()["status"] == "ok"
        demo = httpx.get(base + "/api/preferences/stats", params={"user_id": "demo"}).json()
        assert demo["total_preferences"] == 400
        for generation, checkpoint, kept in (("g1", "epicrealismXL", True),
                                             ("g2", "realvisxlV40", False)):  # fmt: skip
            response = httpx.post(
                base + "/api/preferences",
                json={"prompt": "beach at sunset", "checkpoint": checkpoint, "selected": kept,
                      "generation_id": generation},
            )  # fmt: skip
            assert response.status_code == 201, response.text
        answer = httpx.get(base + "/api/preferences/recommend/checkpoint?prompt=beach+sunset")
        assert answer.json()["checkpoint"] == "epicrealismXL"
    with serving("--db", db) as base:  # restarted: everything is still there
        stats = httpx.get(base + "/api/preferences/stats").json()
        assert stats["action_counts"] == {"selected": 1, "rejected": 1}
        demo = httpx.get(base + "/api/preferences/stats", params={"user_id": "demo"}).json()
        assert demo["total_preferences"] == 400
        answer = httpx.get(base + "/api/preferences/recommend/checkpoint?prompt=beach+sunset")
        assert answer.json()["checkpoint"] == "epicrealismXL"


def test_settings_from_the_environment_and_the_token(tmp_path: Path) -> None:
    db = tmp_path / "elsewhere" / "taste.db"
    env = {"TASTEBUD_DB": str(db), "TASTEBUD_TOKEN": "correct-horse-battery"}
    with serving(env=env) as base:
        assert httpx.get(base + "/api/preferences/stats").status_code == 401
        answer = httpx.get(base + "/api/preferences/stats", headers=_auth(env))
        assert answer.status_code == 200
    assert db.is_file()


def test_two_worker_processes_share_one_database(tmp_path: Path) -> None:
    db = str(tmp_path / "preferences.db")
    with serving(
        "--db", db, "--workers", "2", env={"TASTEBUD_TOKEN": "correct-horse-battery"}
    ) as base:
        auth = _auth({"TASTEBUD_TOKEN": "correct-horse-battery"})
        assert httpx.get(base + "/api/health").status_code == 401  # the token reached each worker
        for index in range(20):  # on new connections: both workers take some
            body = {"prompt": "beach", "checkpoint": "epicrealismXL", "selected": index % 2 == 0,
                    "generation_id": f"g{index}"}  # fmt: skip
            response = httpx.post(base + "/api/preferences", json=body, headers=auth)
            assert response.status_code == 201, response.text
        stats = httpx.get(base + "/api/preferences/stats", headers=auth).json()
        assert stats["action_counts"] == {"selected": 10, "rejected": 10}


def _children(pid: int) -> list[int]:
    """The worker processes (multiprocessing spawns) whose parent is ``pid``, from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes()
        except (OSError, ValueError):
            continue
        # Fields after the command name, which is in parentheses: state, parent pid, ...
        state, parent = stat.rsplit(")", 1)[1].split()[:2]
        if int(parent) == pid and state != "Z" and b"spawn_main" in command:
            found.append(int(entry.name))
    return found


def _running(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"  # a zombie no longer serves


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads processes from /proc")
def test_workers_end_with_a_supervisor_killed_by_sigkill(tmp_path: Path) -> None:
    """kill -9 of ``serve --workers 2`` ends its workers, so the port is free for the next
    ``serve``; the start-up of each worker is in the log."""
    port, db, log = _free_port(), str(tmp_path / "p.db"), tmp_path / "serve.log"
    command = [sys.executable, "-m", "tastebud", "serve", "--port", str(port), "--db", db]
    base = f"http://127.0.0.1:{port}"
    with log.open("w") as errors:
        supervisor = subprocess.Popen([*command, "--workers", "2"], stderr=errors)
        try:
            _wait_for(lambda: _answers(base) and len(_children(supervisor.pid)) == 2)
            workers = _children(supervisor.pid)
        finally:
            supervisor.kill()
            supervisor.wait()
        _wait_for(lambda: not any(_running(pid) for pid in workers))
    assert not _answers(base)
    started = log.read_text()
    assert "Started parent process" in started, started
    assert started.count("Application startup complete") == 2, started
    with serving("--db", db, port=port) as again:
        assert again == base
        assert httpx.get(again + "/api/health").json()["status"] == "ok"


def _answers(base: str) -> bool:
    try:
        return httpx.get(base + "/api/health", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


def _wait_for(condition: Callable[[], bool]) -> None:
    """A readiness wait, not a timing check: up to a minute."""
    for _ in range(300):
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError("not within a minute")


def test_the_real_server_answers_only_its_own_host_names(tmp_path: Path) -> None:
    """DNS rebinding against the process a user starts: a foreign Host gets nothing."""
    db = str(tmp_path / "p.db")
    with serving("--db", db, "--demo", "--allowed-hosts", "tastebud.lan") as base:
        for host in ("evil.example", f"evil.example:{base.rsplit(':', 1)[1]}"):
            answer = httpx.get(
                base + "/api/preferences/export?user_id=demo", headers={"Host": host}
            )
            assert answer.status_code == 400, answer.text
            assert answer.json()["details"][0]["field"] == "Host"
            assert "generation_id" not in answer.text
        for host in ("tastebud.lan", "localhost"):
            answer = httpx.get(base + "/api/preferences/stats?user_id=demo", headers={"Host": host})
            assert answer.json()["total_preferences"] == 400


def test_the_start_up_line_does_not_show_the_database_password() -> None:
    port = _free_port()
    url = "postgresql://tastebud:hunter2-secret@127.0.0.1:1/preferences"
    process = subprocess.Popen(
        [sys.executable, "-m", "tastebud", "serve", "--db", url, "--port", str(port)],
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "COLUMNS": "200"},  # one line, unwrapped
    )
    try:
        assert process.stderr is not None
        line = process.stderr.readline()  # printed before the server starts listening
    finally:
        process.send_signal(signal.SIGINT)
        rest = process.communicate(timeout=60)[1]
    assert line.startswith("tastebud postgresql://tastebud:***@127.0.0.1:1/preferences on http")
    assert "hunter2" not in line + rest


def test_an_image_swapped_for_a_link_while_served_never_leaks_the_link_target(
    tmp_path: Path,
) -> None:
    """The check-then-use race: a thread swaps an allowed image for a symbolic link to a secret
    and back, as fast as it can, while the real server is asked for the image again and again."""
    from test_panel_api import _a1111_png

    folder = tmp_path / "images"
    folder.mkdir()
    image = folder / "swapped.png"
    _a1111_png(image, (32, 32))
    secret = tmp_path / "secret.txt"
    secret.write_text("root:x:0:0:the secret")
    args = ["--db", str(tmp_path / "p.db"), "--image-folders", str(folder)]
    with serving(*args, env={"TASTEBUD_THUMBNAIL_FOLDER": str(tmp_path / "thumbs")}) as base:
        report = httpx.post(base + "/api/images/import", json={"folder": str(folder)}, timeout=60)
        assert report.json()["queued"] == 1, report.text
        (generation,) = httpx.get(base + "/api/generations").json()["generations"]
        real, link = folder / ".real", folder / ".link"
        shutil.copyfile(image, real)
        stop = threading.Event()

        def swap() -> None:
            while not stop.is_set():
                link.unlink(missing_ok=True)
                link.symlink_to(secret)
                os.replace(link, image)  # now a link to the secret
                shutil.copyfile(real, folder / ".copy")
                os.replace(folder / ".copy", image)  # the image again

        swapper = threading.Thread(target=swap)
        swapper.start()
        leaked = served = broken = 0
        try:
            for _ in range(400):
                try:  # a new connection each time: a broken answer must not end the test
                    answer = httpx.get(
                        f"{base}/api/generations/{generation['id']}/image", timeout=5
                    )
                except httpx.HTTPError:  # the body cut short: part of another file was sent
                    broken += 1
                    break
                leaked += b"the secret" in answer.content
                served += answer.status_code == 200
                if leaked:
                    break
        finally:
            stop.set()
            swapper.join()
        assert (leaked, broken) == (0, 0), f"in 400: {leaked} secrets, {broken} broken answers"
        assert served > 0  # the real image was served between the swaps


def _server_pid(base: str) -> int:
    """The pid of the ``tastebud serve`` process listening at ``base``, from /proc."""
    port = base.rsplit(":", 1)[1].encode()
    for entry in Path("/proc").iterdir():
        try:
            command = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"serve" in command and port in command:
            return int(entry.name)
    raise AssertionError(f"no server process for {base}")


def _memory_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"no {field} in /proc/{pid}/status")


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads memory from /proc")
def test_thumbnails_of_a_large_image_asked_for_at_once_stay_within_one_decode(
    tmp_path: Path,
) -> None:
    """A 200 KB PNG of 49 million pixels (just under the limit), asked for in four sizes at once:
    the server decodes one image at a time, so its memory grows by about one decoded image
    (49 M pixels x 4 bytes, 196 MB), not four (a 518 KB PNG once took it from 110 MB to 2.7 GB)."""
    from test_panel_api import _a1111_png

    folder = tmp_path / "images"
    folder.mkdir()
    _a1111_png(folder / "large.png", (7000, 7000))
    assert (folder / "large.png").stat().st_size < 300_000
    args = ["--db", str(tmp_path / "p.db"), "--image-folders", str(folder)]
    with serving(*args, env={"TASTEBUD_THUMBNAIL_FOLDER": str(tmp_path / "thumbs")}) as base:
        pid = _server_pid(base)
        report = httpx.post(base + "/api/images/import", json={"folder": str(folder)}, timeout=60)
        assert report.json()["queued"] == 1, report.text
        (generation,) = httpx.get(base + "/api/generations").json()["generations"]
        before = _memory_kib(pid, "VmRSS")
        statuses: list[int] = []

        def ask(size: int) -> None:
            url = f"{base}/api/generations/{generation['id']}/thumbnail?size={size}"
            statuses.append(httpx.get(url, timeout=120).status_code)

        askers = [threading.Thread(target=ask, args=(size,)) for size in (64, 128, 256, 512)]
        for asker in askers:
            asker.start()
        for asker in askers:
            asker.join()
        peak = _memory_kib(pid, "VmHWM")
    assert statuses == [200] * 4
    one_decode = 7000 * 7000 * 4 // 1024
    assert peak - before < 1.5 * one_decode, f"grew {(peak - before) // 1024} MiB"
