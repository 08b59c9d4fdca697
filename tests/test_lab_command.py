"""`make lab`: JupyterLab answers over HTTP with a disposable database, and stopping
it stops the database."""

import os
import secrets
import signal
import socket
import subprocess
import urllib.request

import psutil
import pytest

from migrationlab.infra.ownership import OWNER_FILE, Owner, runtime_root
from tests.conftest import REPO
from tests.test_sandbox import postgres_processes_in, wait_until


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


@pytest.mark.skipif(subprocess.run(["make", "--version"], capture_output=True).returncode != 0,
                    reason="make is not installed")
def test_make_lab_serves_jupyterlab_and_stops_its_database():
    port, token = free_port(), secrets.token_hex(8)
    env = {k: v for k, v in os.environ.items() if k != "LAB_SERVER_URL"}
    env["LAB_BACKEND"] = "embedded"
    before = set(runtime_root().iterdir())
    lab = subprocess.Popen(
        ["make", "--no-print-directory", "lab",
         f"JUPYTER_ARGS=--no-browser --ip=127.0.0.1 --port={port} --IdentityProvider.token={token}"],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        start_new_session=True,
    )
    try:
        assert wait_until(lambda: answers(f"http://127.0.0.1:{port}/api/status?token={token}"), 90)
        assert answers(f"http://127.0.0.1:{port}/lab?token={token}")
        serve = [p.pid for p in psutil.Process(lab.pid).children(recursive=True)
                 if "migrationlab" in " ".join(p.cmdline())]
        servers = {p for p in set(runtime_root().iterdir()) - before
                   if Owner.parse((p / OWNER_FILE).read_text()).pid in serve}
        assert any(postgres_processes_in(p) for p in servers), "no database running for the lab"
    finally:
        os.killpg(lab.pid, signal.SIGTERM)  # as a terminal closing would
        output = lab.communicate(timeout=60)[0]
    assert "disposable PostgreSQL stopped" in output, output
    assert not any(p.exists() for p in servers)
    assert wait_until(lambda: not any(postgres_processes_in(p) for p in servers))
