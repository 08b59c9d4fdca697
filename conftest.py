"""One disposable PostgreSQL for the whole test session, handed to every test and kernel.

The session owns the server; tests and notebook kernels (which inherit the
environment, since fixtures never reach nbval cells) get LAB_SERVER_URL and
create their own fresh database on it.
"""

import os
import shutil
import tempfile

import pytest


def pytest_configure(config: pytest.Config) -> None:
    # platformdirs (used by Jupyter) warns on stderr without a private runtime
    # dir, and nbval compares stderr.
    if not os.environ.get("XDG_RUNTIME_DIR"):
        config.stash[RUNTIME_DIR] = os.environ["XDG_RUNTIME_DIR"] = tempfile.mkdtemp(prefix="xdg-")
    if os.environ.get("LAB_SERVER_URL"):
        return  # handed down: by `make lab`, a CI service, or the xdist controller
    from migrationlab.infra.servers import start_server

    server = start_server()
    config.stash[SERVER] = server
    os.environ["LAB_SERVER_URL"] = server.url.render_as_string(hide_password=False)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked `after_notebooks` run last, after nbval has run every notebook; the
    repository's state is taken now, before anything has run."""
    from tests.test_notebooks import STATE, repository_state

    config.stash[STATE] = repository_state()
    items.sort(key=lambda item: item.get_closest_marker("after_notebooks") is not None)


def pytest_unconfigure(config: pytest.Config) -> None:
    server = config.stash.get(SERVER, None)
    if server is not None:
        server.stop()
        del os.environ["LAB_SERVER_URL"]
    runtime_dir = config.stash.get(RUNTIME_DIR, None)
    if runtime_dir is not None:
        shutil.rmtree(runtime_dir, ignore_errors=True)


SERVER = pytest.StashKey()
RUNTIME_DIR = pytest.StashKey()
