"""The real FastAPI app, started from a notebook: in-process through its lifespan
(TestClient), or served by uvicorn on a local port; each request printed as a
person would read it.

Example::

    from migrationlab import Lab, appdemo
    lab = Lab()
    lab.alembic("upgrade head")
    with appdemo.running(lab, "production") as api:   # prints the app's startup log
        api.post("/users/", {"email": "ada@example.com", "name": "Ada"})
        api.get("/users/1")
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from migrationlab.errors import LabError
from migrationlab.lab import Lab
from migrationlab.project import environ  # noqa: F401  (notebooks call appdemo.environ)

# Fields that differ on every run (the server's clock): left out of printed bodies.
UNSTABLE = ("created_at",)


def use_project(lab: Lab) -> None:
    """Let `import app...` find LAB's project, as Python started at its root would."""
    root = str(lab.project.root)
    if root in sys.path:
        sys.path.remove(root)
    sys.path.insert(0, root)
    print("`import app` now reads the project's app/, as Python started at the project root does")


@contextlib.contextmanager
def env_file(text: str) -> Iterator[Path]:
    """A .env file holding TEXT, for the block (its path is never printed)."""
    with tempfile.TemporaryDirectory(prefix="envfile-") as directory:
        path = Path(directory) / ".env"
        path.write_text(text)
        yield path


def _fresh_app(lab: Lab):
    """app.main imported afresh from LAB's project (in-process alembic commands drop
    the app's modules, so an import from before one would be stale)."""
    main = lab.project.import_app("app.main")
    return main.app, sys.modules["app.core.db"]  # the very module app.main uses


class _LogLines(logging.Handler):
    """Prints the app's log records as alembic's console format does."""

    def emit(self, record: logging.LogRecord) -> None:
        print(f"{record.levelname:<5.5} [{record.name}] {record.getMessage()}")


@contextlib.contextmanager
def _app_log() -> Iterator[None]:
    logger = logging.getLogger("app")
    handler = _LogLines()
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


class Client:
    """Sends requests and prints each one and its response (without created_at)."""

    def __init__(self, send) -> None:
        self._send = send

    def get(self, path: str):
        return self.request("GET", path)

    def post(self, path: str, body: dict):
        return self.request("POST", path, body)

    def patch(self, path: str, body: dict):
        return self.request("PATCH", path, body)

    def delete(self, path: str):
        return self.request("DELETE", path)

    def request(self, method: str, path: str, body: dict | None = None):
        shown = f" {json.dumps(body, ensure_ascii=False)}" if body is not None else ""
        print(f"> {method} {path}{shown}")
        try:
            response = self._send(method, path, body)
        except Exception as error:  # the server's own error, as its log would show it
            message = str(error).splitlines()[0]
            print(f"< 500 Internal Server Error\n  the app raised {type(error).__name__}: {message}")
            return None
        print(f"< {response.status_code} {response.reason_phrase}")
        if response.content:
            try:
                data = _stable(response.json())
                print("  " + json.dumps(data, ensure_ascii=False))
            except ValueError:
                print("  " + response.text)
        return response


def _stable(data):
    if isinstance(data, list):
        return [_stable(item) for item in data]
    if isinstance(data, dict):
        return {k: _stable(v) for k, v in data.items() if k not in UNSTABLE}
    return data


@contextlib.contextmanager
def running(lab: Lab, environment: str) -> Iterator[Client]:
    """Start the app in-process, with ENVIRONMENT and LAB's DATABASE_URL, through its
    lifespan (as uvicorn would), printing its log; stop it at the end of the block."""
    from fastapi.testclient import TestClient

    url = lab.db.url.render_as_string(hide_password=False)
    with environ(ENVIRONMENT=environment, DATABASE_URL=url), _app_log():
        application, db = _fresh_app(lab)
        print(f"starting the app: ENVIRONMENT={environment}")
        try:
            with TestClient(application) as client:
                yield Client(lambda m, p, b: client.request(m, p, json=b))
            print("app stopped")
        finally:
            db.get_engine().dispose()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def served(lab: Lab, environment: str = "production") -> Iterator[Client]:
    """Serve the app with uvicorn on 127.0.0.1 (a free port) and call it over HTTP;
    the server is stopped at the end of the block, whatever happens in it."""
    import httpx

    port = _free_port()
    env = {
        **os.environ,
        "ENVIRONMENT": environment,
        "DATABASE_URL": lab.db.url.render_as_string(hide_password=False),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    command = [sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1",
               "--port", str(port), "--log-level", "warning"]
    print(f"$ ENVIRONMENT={environment} uvicorn app.main:app --host 127.0.0.1 --port <free port>")
    process = subprocess.Popen(command, cwd=lab.project.root, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
            _wait_until_up(http, process)
            print("serving: uvicorn answers on 127.0.0.1")
            yield Client(lambda m, p, b: http.request(m, p, json=b))
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        print("server stopped")


def _wait_until_up(http, process: subprocess.Popen, timeout: float = 20.0) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = process.stdout.read() if process.stdout else ""
            raise LabError(f"uvicorn exited before answering: {output.strip().splitlines()[-1:]}")
        try:
            http.get("/health")
            return
        except httpx.TransportError:
            time.sleep(0.05)
    raise LabError("uvicorn did not answer within 20 s")
