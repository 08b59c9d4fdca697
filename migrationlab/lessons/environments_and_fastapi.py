"""10_Environments_and_FastAPI: the real FastAPI app started from the notebook, in-process
through its lifespan (TestClient) or served by uvicorn on a local port, each request
printed as a person would read it; environment variables and .env files for a block;
and the exercise checks.

Example::

    from migrationlab import Lab
    from migrationlab.lessons import environments_and_fastapi as lesson
    lab = Lab()
    lab.alembic("upgrade head")
    with lesson.running(lab, "production") as api:   # prints the app's startup log
        api.post("/users/", {"email": "ada@example.com", "name": "Ada"})
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from migrationlab.errors import LabError
from migrationlab.infra.urls import libpq_url
from migrationlab.lab import Lab
from migrationlab.lessons import Verdict, verdict
from migrationlab.project import environ

__all__ = ["Client", "env_file", "environ", "exercise_1", "exercise_2", "running", "served"]

# Fields that differ on every run (the server's clock): left out of printed bodies.
UNSTABLE = ("created_at",)


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
    main = lab.import_app("app.main")
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

    with environ(ENVIRONMENT=environment, DATABASE_URL=libpq_url(lab.db.url)), _app_log():
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
    env = {**lab.project.environment(lab.db.url), "ENVIRONMENT": environment,
           "PYTHONDONTWRITEBYTECODE": "1"}
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


# -- exercises -----------------------------------------------------------------------

STAGING = {"username": "app", "password": "Sp@ce%2024", "host": "staging-host", "port": 5432,
           "database": "staging_db"}


def exercise_1(url: str) -> Verdict:
    """The URL parses back into staging's parts, the password intact (never printed)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    if not url.strip():
        return verdict(False, right="", not_yet="write the URL between the quotes")
    try:
        parsed = make_url(url)
    except ArgumentError:
        return verdict(False, right="", not_yet="SQLAlchemy cannot parse that as a URL")
    wrong = [key for key, value in STAGING.items() if getattr(parsed, key) != value]
    if not parsed.drivername.startswith("postgresql"):
        wrong.insert(0, "scheme (postgresql://)")
    return verdict(
        not wrong,
        right=f"{parsed.render_as_string(hide_password=True)}: every part, password included, "
        "reads back intact",
        not_yet=f"SQLAlchemy reads a different {', '.join(wrong)}"
        + ("; percent-encode the password (quote_plus)" if "password" in wrong else ""),
    )


def exercise_2(prod: Lab) -> Verdict:
    """you@example.com exists in prod with at least two posts."""
    tables = {row[0] for row in prod.query("select tablename from pg_tables")}
    if not {"users", "posts"} <= tables:
        return verdict(False, right="", not_yet="prod has no users and posts tables; migrate it first")
    rows = prod.query(
        "select u.id, count(p.id) from users u left join posts p on p.user_id = u.id "
        "where u.email = 'you@example.com' group by u.id"
    )
    posts = rows[0][1] if rows else 0
    return verdict(
        bool(rows) and posts >= 2,
        right=f"you@example.com is in prod with {posts} posts",
        not_yet="there is no user you@example.com in prod yet" if not rows
        else f"you@example.com has {posts} post{'' if posts == 1 else 's'}; give them two",
    )
