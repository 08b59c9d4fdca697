"""Benchmarks: medians over several runs (never timed assertions in tests).

    make bench                 # everything: embedded and docker backends, the notebook series
    python scripts/bench.py --skip-notebooks --skip-suite --no-docker --runs 5
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa

from migrationlab.infra.container import DockerServer
from migrationlab.infra.embedded import EmbeddedServer
from migrationlab.infra.sandbox import Sandbox
from migrationlab.infra.servers import docker_answers
from migrationlab.project import Project

REPO = Path(__file__).resolve().parents[1]


@contextlib.contextmanager
def docker_lane(wanted: bool):
    """The Docker engine for the run: one that answers, else the lane's (installed, started
    and stopped again by scripts/docker-lane.sh, as `make test-docker` does)."""
    if not wanted:
        yield "not asked for (--no-docker)"
        return
    lane = ["bash", str(REPO / "scripts" / "docker-lane.sh")]
    was_running = "lane dockerd: running" in subprocess.run(
        [*lane, "status"], capture_output=True, text=True).stdout
    shell = (
        'exports=$(bash scripts/docker-lane.sh up) || { echo "$exports"; exit 3; }; '
        'eval "$exports"; env -0'
    )
    up = subprocess.run(["bash", "-c", shell], cwd=REPO, capture_output=True, text=True)
    if up.returncode != 0:
        yield up.stdout.strip().lstrip("# ") or "scripts/docker-lane.sh failed"
        return
    saved = dict(os.environ)
    os.environ.update(line.partition("=")[::2] for line in up.stdout.split("\0") if "=" in line)
    os.environ.setdefault("LAB_DOCKER_IMAGE", "postgres:15-local")  # the lane's image
    os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")  # no registry for Ryuk's
    try:
        yield None
    finally:
        os.environ.clear()
        os.environ.update(saved)
        if not was_running:
            subprocess.run([*lane, "stop"], capture_output=True)


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
        "import sqlalchemy as sa; from migrationlab.infra.embedded import EmbeddedServer;"
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
    parser.add_argument("--skip-suite", action="store_true", help="don't time the whole test suite")
    parser.add_argument("--no-docker", dest="docker", action="store_false",
                        help="don't start the Docker lane to measure the docker backend")
    args = parser.parse_args()
    runs = args.runs

    print(f"Alembic Migration Lab benchmarks ({os.cpu_count()} cores), medians of {runs} runs\n")
    report("cold start to first query: embedded", median_of(runs, lambda: cold_start(EmbeddedServer)),
           "   target <= 1000 ms")
    report("  same, in a new Python process (imports too)", median_of(runs, cold_start_new_process))
    with docker_lane(args.docker) as why_not:
        if why_not is None and docker_answers():
            image = os.environ.get("LAB_DOCKER_IMAGE")
            report(f"cold start to first query: docker ({image})",
                   median_of(max(3, runs // 2), lambda: cold_start(lambda: DockerServer(image))))
        else:
            print(f"cold start to first query: docker: skipped: {why_not or 'no engine answers'}")

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

        load(server.url, runs)

    modes: list[tuple[str | None, str]] = [(None, "serial"), ("auto", "parallel, -n auto")]
    if not args.skip_notebooks:
        for workers, label in modes:
            report(f"notebook series under nbval ({label})",
                   median_of(min(runs, 3), functools.partial(pytest_run, ["notebooks/"], workers)),
                   "   target <= 45000 ms")
    if not args.skip_suite:
        for workers, label in modes:
            report(f"whole suite, as make test runs it ({label})",
                   median_of(min(runs, 3), functools.partial(pytest_run, [], workers)))
    return 0


def pytest_run(paths: list[str], workers: str | None) -> float:
    """One pytest run (a server of its own, as `make test` has), timed."""
    args = [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", *paths]
    if workers:
        args += ["-n", workers]
    env = {k: v for k, v in os.environ.items() if k != "LAB_SERVER_URL"}
    t0 = time.perf_counter()
    subprocess.run(args, cwd=REPO, check=True, capture_output=True, env={**env, "LAB_BACKEND": "embedded"})
    return time.perf_counter() - t0


def load(server_url: sa.engine.URL, runs: int) -> None:
    """What one server takes: fresh databases per second, one after another and from 8
    threads at once; 20 Labs made at once in threads, each migrated to head."""
    from concurrent.futures import ThreadPoolExecutor

    from migrationlab import Lab

    def databases(count: int, threads: int) -> float:
        def one(_: int) -> None:
            Sandbox.create(server_url).close()

        t0 = time.perf_counter()
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(one, range(count)))
        return count / (time.perf_counter() - t0)

    for threads in (1, 8):
        rates = [databases(40, threads) for _ in range(runs)]
        label = f"fresh databases per second ({threads} thread{'s' if threads > 1 else ''})"
        print(f"{label:<48} median {statistics.median(rates):8.1f} /s   ({runs} runs of 40, create + drop)",
              flush=True)

    os.environ["LAB_SERVER_URL"] = server_url.render_as_string(hide_password=False)

    def labs() -> float:
        def one(i: int) -> Lab:
            lab = Lab(scratch=i % 2 == 0)
            lab.project.alembic("upgrade head", lab.db.url)
            return lab

        t0 = time.perf_counter()
        with ThreadPoolExecutor(20) as pool:
            made = list(pool.map(one, range(20)))
        elapsed = time.perf_counter() - t0
        for lab in made:
            lab.close()
        return elapsed

    report("20 Labs at once in threads, each upgraded to head", median_of(runs, labs))
    del os.environ["LAB_SERVER_URL"]


if __name__ == "__main__":
    sys.exit(main())
