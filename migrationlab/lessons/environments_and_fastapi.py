"""10_Environments_and_FastAPI: the real FastAPI app started from the notebook, in-process
through its lifespan (TestClient) or served by uvicorn on a local port, each request
printed as a person would read it (uvicorn serving it is ``Lab.serve_app``);
environment variables and .env files for a block; and the exercise checks.

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
import logging
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from migrationlab.infra.urls import libpq_url
from migrationlab.lab import Lab
from migrationlab.lessons import Verdict, verdict
from migrationlab.project import environ
from migrationlab.scenarios import Client

__all__ = ["env_file", "environ", "exercise_1", "exercise_2", "running"]


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


# -- exercises -----------------------------------------------------------------------

STAGING = {"username": "app", "password": "Sp@ce%2024", "host": "staging-host", "port": 5432,
           "database": "staging_db"}
# What each part of the URL is called in Korean (for the verdict).
PART_KO = {"username": "사용자 이름", "password": "비밀번호", "host": "호스트", "port": "포트",
           "database": "데이터베이스 이름", "scheme (postgresql://)": "스킴(postgresql://)"}


def exercise_1(url: str) -> Verdict:
    """The URL parses back into staging's parts, the password intact (never printed)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    if not url.strip():
        return verdict(False, right="", not_yet="write the URL between the quotes",
                       ko=("", "따옴표 사이에 URL을 적으세요"))
    try:
        parsed = make_url(url)
    except ArgumentError:
        return verdict(False, right="", not_yet="SQLAlchemy cannot parse that as a URL",
                       ko=("", "SQLAlchemy가 이것을 URL로 해석하지 못합니다"))
    wrong = [key for key, value in STAGING.items() if getattr(parsed, key) != value]
    if not parsed.drivername.startswith("postgresql"):
        wrong.insert(0, "scheme (postgresql://)")
    return verdict(
        not wrong,
        right=f"{parsed.render_as_string(hide_password=True)}: every part, password included, "
        "reads back intact",
        not_yet=f"SQLAlchemy reads a different {', '.join(wrong)}"
        + ("; percent-encode the password (quote_plus)" if "password" in wrong else ""),
        ko=(
            f"{parsed.render_as_string(hide_password=True)}: 비밀번호를 포함한 모든 부분이 "
            "온전히 읽힙니다",
            f"SQLAlchemy가 읽어 낸 값이 다릅니다: {', '.join(PART_KO[key] for key in wrong)}"
            + (". 비밀번호를 퍼센트 인코딩하세요(quote_plus)" if "password" in wrong else ""),
        ),
    )


def exercise_2(prod: Lab) -> Verdict:
    """you@example.com exists in prod with at least two posts."""
    tables = {row[0] for row in prod.query("select tablename from pg_tables")}
    if not {"users", "posts"} <= tables:
        return verdict(False, right="", not_yet="prod has no users and posts tables; migrate it first",
                       ko=("", "prod에 users와 posts 테이블이 없습니다. 먼저 마이그레이션하세요"))
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
        ko=(
            f"prod에 you@example.com이 있고, 게시글이 {posts}개 있습니다",
            "prod에 아직 사용자 you@example.com이 없습니다" if not rows
            else f"you@example.com의 게시글이 {posts}개입니다. 두 개를 달아 주세요",
        ),
    )
