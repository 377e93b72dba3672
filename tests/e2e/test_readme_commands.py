"""Every command the README and docs/ print works as printed: a clean copy of the checkout (what `git ls-files`
holds, no .env, no data), `make run` in it on the embedded defaults, then each `.venv/bin/...` line of their ```sh
blocks run verbatim, in reading order (the README, then each document in the order the README links it), in a new
shell with no variables beyond PATH and HOME."""

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
from pathlib import Path

import pytest

from bench.stack import wait_until_ready
from tests.conftest import ROOT

pytestmark = pytest.mark.e2e

PORTS = (8000, 7233, 8233)  # the README's URLs assume make run's defaults
BARE_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": os.environ.get("HOME", "/root"), "LANG": "C.UTF-8"}
# Commands that run for minutes or for ever have no place in a ```sh block: the documents name them as `make` targets.
LONG_RUNNING = ("pytest", "run_stack", "run_workers", "manage.py bench", "bench_waits", "temporal server")
MAX_COMMANDS = 40


def documents() -> list[Path]:
    """The README, then the documents in the order it links them."""
    linked = re.findall(r"\]\((docs/[\w-]+\.md)\)", (ROOT / "README.md").read_text())
    return [ROOT / "README.md", *(ROOT / name for name in dict.fromkeys(linked))]


def readme_commands() -> list[str]:
    """The runnable lines of the documents' ```sh blocks: those that call something in the virtualenv."""
    blocks = [block for path in documents() for block in re.findall(r"```sh\n(.*?)```", path.read_text(), flags=re.DOTALL)]
    return [line.strip() for block in blocks for line in block.splitlines() if line.strip().startswith(".venv/bin/")]


def clean_copy(target) -> None:
    # What a commit of the working tree would hold: tracked files and new ones that are not ignored.
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, check=True)
    tracked = listed.stdout.decode().split("\0")
    for name in filter(None, tracked):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)  # mtimes kept: the shared virtualenv stays "installed"
    # The suite's own virtualenv stands in for `make install` (run by `make test` just before).
    (target / ".venv").symlink_to(ROOT / ".venv")


def port_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def test_the_readme_lists_the_commands_a_new_user_runs():
    commands = readme_commands()
    assert len(documents()) > 5 and all(path.exists() for path in documents())
    assert len(commands) <= MAX_COMMANDS
    assert not [c for c in commands if any(name in c for name in LONG_RUNNING)]
    assert any("manage.py demo --orders" in c for c in commands)
    assert any("manage.py check_status" in c for c in commands)
    assert any(c.startswith(".venv/bin/temporal workflow list --query \"OrderStatus='awaiting_review'\"") for c in commands)
    assert any("ReviewEscalated=true" in c for c in commands)


def test_every_readme_command_works_verbatim_in_a_new_shell(tmp_path):
    busy = [port for port in PORTS if not port_free(port)]
    assert not busy, f"ports {busy} are taken: stop the local stack first (this test runs `make run` on the defaults)"
    clone = tmp_path / "clone"
    clone.mkdir()
    clean_copy(clone)
    log = tmp_path / "make-run.log"
    stack = subprocess.Popen(["make", "run"], cwd=clone, env=BARE_ENV, stdout=open(log, "w"), stderr=subprocess.STDOUT, start_new_session=True)
    results = []
    try:
        wait_until_ready("http://localhost:8000/readyz", process=stack, log=log)
        for command in readme_commands():
            done = subprocess.run(["bash", "-c", command], cwd=clone, env=BARE_ENV, capture_output=True, text=True, timeout=180)
            results.append((command, done.returncode, (done.stdout + done.stderr)[-1500:]))
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(stack.pid, signal.SIGINT)
            try:
                stack.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(stack.pid, signal.SIGKILL)

    failed = [(command, code, output) for command, code, output in results if code != 0]
    assert not failed, "\n\n".join(f"$ {c}\nexit {code}\n{out}" for c, code, out in failed)
    assert (clone / ".env").exists() and "SECRET_KEY=" in (clone / ".env").read_text()
    listed = next(out for c, _, out in results if "OrderStatus='awaiting_review'" in c)
    assert "order-test-3" in listed  # the order left awaiting review, found by its search attribute
    assert len(results) >= 15
