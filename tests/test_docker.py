"""The docker backend on a real engine: testcontainers, ownership labels, the watchdog,
reaping, one-line errors.

`make test-docker` prepares an engine and an image (scripts/docker-lane.sh) and runs
these with LAB_BACKEND=docker. Where no engine answers they are skipped, except the
one that checks what you are told then.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap

import docker
import psutil
import pytest
import sqlalchemy as sa

from migrationlab.errors import LabError
from migrationlab.infra.container import DockerServer
from migrationlab.infra.ownership import Owner
from migrationlab.infra.sandbox import Sandbox
from migrationlab.infra.servers import admin_engine, docker_answers, start_server
from migrationlab.infra.settings import LabSettings
from tests.conftest import REPO
from tests.test_sandbox import wait_until

pytestmark = pytest.mark.docker

needs_engine = pytest.mark.skipif(
    not docker_answers(),
    reason="no Docker engine answers; `make test-docker` prepares one (scripts/docker-lane.sh)",
)
IMAGE = LabSettings().docker_image


def container_exists(container_id: str) -> bool:
    from migrationlab.infra.container import engine

    try:
        engine().containers.get(container_id)
        return True
    except docker.errors.NotFound:
        return False


def dead_owner() -> Owner:
    """The identity of a process of this host that has exited."""
    proc = subprocess.Popen(["sleep", "60"])
    owner = Owner(socket.gethostname(), proc.pid, psutil.Process(proc.pid).create_time())
    proc.kill()
    proc.wait()
    assert not owner.is_alive()
    return owner


@needs_engine
def test_server_answers_holds_a_sandbox_and_is_removed_after_stop():
    from migrationlab.infra.container import KIT_LABEL, LOOPBACK, OWNER_LABEL

    with DockerServer(IMAGE) as server:
        container = server._container.get_wrapped_container()
        password = server.url.password
        with sa.create_engine(server.url).connect() as conn:
            assert conn.exec_driver_sql("select 1").scalar() == 1

        # Owned, labelled, and the password never shown.
        assert Owner.parse(container.labels[OWNER_LABEL]) == Owner.me()
        assert KIT_LABEL in container.labels
        assert len(password) >= 20
        with Sandbox.create(server.url) as db:
            with db.engine.begin() as conn:
                conn.exec_driver_sql("create table t (id int primary key)")
            assert sa.inspect(db.engine).get_table_names() == ["t"]
            shown = [repr(server), str(server), repr(server._container), repr(db), str(db.url)]
            assert not any(password in text for text in shown), shown
        admin_engine(server.url).dispose()

        # Client traffic on loopback: the published port, bound to 127.0.0.1 only.
        if os.environ.get("TESTCONTAINERS_HOST_OVERRIDE") == LOOPBACK:
            assert server.url.host == LOOPBACK
        if server.url.host == LOOPBACK:
            bindings = container.attrs["HostConfig"]["PortBindings"]["5432/tcp"]
            assert [b["HostIp"] for b in bindings] == [LOOPBACK]
    assert not container_exists(container.id)


@needs_engine
def test_killed_owner_container_is_removed_by_its_watchdog():
    """An owner killed with SIGKILL (as nbval kills kernels): atexit never runs, the
    watchdog removes the container."""
    env = {k: v for k, v in os.environ.items() if k != "LAB_SERVER_URL"}
    code = f"""
        import json, time
        from migrationlab.infra.container import DockerServer
        server = DockerServer({IMAGE!r}).start()
        print(json.dumps({{"id": server._container.get_wrapped_container().id}}), flush=True)
        time.sleep(120)
    """
    proc = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        stdout=subprocess.PIPE, text=True, cwd=REPO, env=env,
    )
    try:
        container_id = json.loads(proc.stdout.readline())["id"]
        assert container_exists(container_id)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    gone = wait_until(lambda: not container_exists(container_id), timeout=30)
    assert gone, "the container outlived its owner"


@needs_engine
def test_reap_removes_containers_of_dead_owners_only():
    from migrationlab.infra.container import KIT, KIT_LABEL, OWNER_LABEL, engine, reap_containers

    client = engine()
    orphan = client.containers.create(IMAGE, labels={KIT_LABEL: KIT, OWNER_LABEL: dead_owner().dump()})
    mine = client.containers.create(IMAGE, labels={KIT_LABEL: KIT, OWNER_LABEL: Owner.me().dump()})
    try:
        reaped = reap_containers()
        assert orphan.name in reaped and mine.name not in reaped
        assert not container_exists(orphan.id) and container_exists(mine.id)
    finally:
        mine.remove(force=True, v=True)
        if container_exists(orphan.id):
            orphan.remove(force=True, v=True)


@needs_engine
def test_a_failed_start_is_one_line_without_the_password_and_leaves_nothing(monkeypatch):
    import migrationlab.infra.container as lab_docker

    canary = "canary-" + "x" * 20
    monkeypatch.setattr(lab_docker, "_new_password", lambda: canary)
    # A server that can't start: the container exits.
    monkeypatch.setitem(lab_docker.SETTINGS, "no_such_setting", "1")
    before = {c.id for c in lab_docker.engine().containers.list(all=True)}
    with pytest.raises(LabError, match="exited") as error:
        DockerServer(IMAGE).start()
    message = str(error.value)
    assert "\n" not in message and canary not in message
    assert "no_such_setting" in message  # the server's own reason
    after = {c.id for c in lab_docker.engine().containers.list(all=True)}
    assert after <= before


@needs_engine
def test_missing_image_is_one_line_naming_the_fix():
    with pytest.raises(LabError) as error:
        DockerServer("migrationlab-test/no-such-image:0").start()
    message = str(error.value)
    assert message.startswith("image migrationlab-test/no-such-image:0 not found; run scripts/docker-lane.sh")
    assert "\n" not in message


@needs_engine
def test_ryuk_is_left_off_when_its_image_is_not_here(monkeypatch):
    from testcontainers.core.config import testcontainers_config

    import migrationlab.infra.container as lab_docker

    monkeypatch.delenv("TESTCONTAINERS_RYUK_DISABLED", raising=False)
    monkeypatch.setattr(testcontainers_config, "_ryuk_disabled", False)
    monkeypatch.setattr(testcontainers_config, "ryuk_image", "migrationlab-test/no-ryuk:0")
    lab_docker._ryuk_only_where_it_can_run(lab_docker.engine())
    assert testcontainers_config.ryuk_disabled


def test_docker_asked_for_with_no_engine_is_one_line(monkeypatch):
    """Runs everywhere: an engine that isn't there."""
    from migrationlab.infra.container import reap_containers

    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    monkeypatch.delenv("LAB_SERVER_URL", raising=False)
    for start in (lambda: start_server("docker"), lambda: DockerServer(IMAGE).start()):
        with pytest.raises(LabError, match="no Docker engine answers") as error:
            start()
        assert "\n" not in str(error.value) and "docker-lane.sh" in str(error.value)
    assert reap_containers() == []
