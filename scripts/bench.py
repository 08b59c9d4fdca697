"""Benchmarks: medians over several runs (never timed assertions in tests).

    make bench                 # everything, including the notebook series
    python scripts/bench.py --skip-notebooks --runs 5
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa

from migrationlab.project import Project
from migrationlab.sandbox import Sandbox
from migrationlab.servers import DockerServer, EmbeddedServer, docker_answers

REPO = Path(__file__).resolve().parents[1]


def median_of(runs: int, once: Callable[[], float]) -> tuple[float, list[float]]:
    samples = [once() for _ in range(runs)]
    return statistics.median(samples), samples


def cold_start(make_server: Callable) -> float:
    """From start() to the first query's answer; then stop (not timed)."""
    t0 = time.perf_counter()
    server = make_server().start()
    with sa.create_engine(server.url, poolclass=sa.pool.NullPool).connect() as conn:
        conn.exec_driver_sql("select 1")
    elapsed = time.perf_counter() - t0
    server.stop()
    return elapsed


def cold_start_new_process() -> float:
    """A new Python process that imports the kit, starts a server and queries it."""
    code = (
        "import sqlalchemy as sa; from migrationlab.servers import EmbeddedServer;"
        "s = EmbeddedServer().start(); sa.create_engine(s.url).connect().exec_driver_sql('select 1');"
        "s.stop()"
    )
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)
    return time.perf_counter() - t0


def report(name: str, result: tuple[float, list[float]], target: str = "") -> None:
    median, samples = result
    spread = f"min {min(samples) * 1000:.0f} / max {max(samples) * 1000:.0f} ms"
    print(f"{name:<48} median {median * 1000:8.1f} ms   ({len(samples)} runs; {spread}){target}", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--skip-notebooks", action="store_true")
    args = parser.parse_args()
    runs = args.runs

    print(f"Alembic Migration Lab benchmarks ({os.cpu_count()} cores), medians of {runs} runs\n")
    report("cold start to first query: embedded", median_of(runs, lambda: cold_start(EmbeddedServer)),
           "   target <= 1000 ms")
    report("  same, in a new Python process (imports too)", median_of(runs, cold_start_new_process))
    if docker_answers():
        image = os.environ.get("LAB_DOCKER_IMAGE")
        report(f"cold start to first query: docker ({image or 'default image'})",
               median_of(max(3, runs // 2), lambda: cold_start(lambda: DockerServer(image))))
    else:
        print("cold start to first query: docker              skipped: no Docker engine answers "
              "(run scripts/docker-lane.sh)")

    with EmbeddedServer() as server:
        def fresh_database() -> float:
            t0 = time.perf_counter()
            db = Sandbox.create(server.url)
            elapsed = time.perf_counter() - t0
            db.close()
            return elapsed

        report("fresh database (create, on a running server)", median_of(runs * 4, fresh_database),
               "   target <= 100 ms")

        with Sandbox.create(server.url) as db:
            project = Project.repo()
            project.alembic("upgrade head", db.url)
            url = db.url.render_as_string(hide_password=False)
            env = {**os.environ, "DATABASE_URL": url}

            def cli() -> float:
                t0 = time.perf_counter()
                subprocess.run([sys.executable, "-m", "alembic", "current"], cwd=REPO, env=env,
                               check=True, capture_output=True)
                return time.perf_counter() - t0

            def in_process() -> float:
                t0 = time.perf_counter()
                assert project.alembic("current", db.url).ok
                return time.perf_counter() - t0

            report("alembic current: CLI process", median_of(runs, cli))
            report("alembic current: in-process (Lab.alembic)", median_of(runs * 4, in_process))

            def round_trip() -> float:
                t0 = time.perf_counter()
                assert project.alembic("downgrade base", db.url).ok
                assert project.alembic("upgrade head", db.url).ok
                return time.perf_counter() - t0

            report("alembic downgrade base + upgrade head: in-process", median_of(runs, round_trip))

    if not args.skip_notebooks:
        def series() -> float:
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-m", "pytest", "-q", "notebooks/"], cwd=REPO, check=True,
                           capture_output=True)
            return time.perf_counter() - t0

        report("notebook series under nbval (whole pytest run)", median_of(min(runs, 3), series),
               "   target <= 45000 ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
