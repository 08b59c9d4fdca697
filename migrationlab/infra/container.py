"""The docker backend: PostgreSQL in a container, through testcontainers.

``DockerServer`` is the server; ``start_container(image)`` starts its container
and waits until it answers. Every container the kit starts carries two
labels: ``migrationlab.kit`` and ``migrationlab.owner`` (the owner process, as
migrationlab.infra.ownership.Owner JSON). Nothing outlives its owner:

* the owner stops it (DockerServer.stop), or its watchdog removes it when the
  owner dies, even by SIGKILL (migrationlab.infra.watchdog);
* ``reap_containers()`` removes the kit's containers whose owner is dead, at
  every start and in ``make reap``;
* testcontainers' Ryuk as well, where its image is available; with no registry
  (these machines, CI) it can't be pulled and is left off.

Clients connect through the container's published port, on the host
TESTCONTAINERS_HOST_OVERRIDE (or TC_HOST) names; if none, 127.0.0.1 with an engine
on this machine (a Unix socket), except inside a container, where testcontainers
picks (the gateway, for an engine shared from outside). On 127.0.0.1 the port is
published on loopback only. scripts/docker-lane.sh sets the override for its
engine. The password is random per container and never shown.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import time

import docker
from sqlalchemy.engine import URL
from testcontainers.community.postgres import PostgresContainer
from testcontainers.core.config import testcontainers_config
from testcontainers.core.docker_client import get_docker_host
from testcontainers.core.utils import inside_container

from migrationlab.errors import LabError
from migrationlab.infra.ownership import Owner
from migrationlab.infra.servers import Server, forget_admin_engine
from migrationlab.infra.settings import lab_settings
from migrationlab.infra.watchdog import watch

KIT_LABEL = "migrationlab.kit"
KIT = "alembic-migration-lab"
OWNER_LABEL = "migrationlab.owner"
PORT = 5432
LOOPBACK = "127.0.0.1"
READY_TIMEOUT = 60.0  # seconds; vfs storage and a first initdb are slow
NO_ENGINE_FIX = (
    "start Docker (or run scripts/docker-lane.sh), or unset LAB_BACKEND to use the embedded server"
)
# A disposable server keeps nothing: durability off, for speed (as the embedded one).
SETTINGS = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "200",
}


class DockerServer(Server):
    """PostgreSQL in a Docker container, through testcontainers.

    Example::

        with DockerServer("postgres:17-alpine") as server:
            print(server.url.render_as_string(hide_password=True))
    """

    def __init__(self, image: str | None = None) -> None:
        self.image = image or lab_settings().docker_image
        self._container: LabPostgresContainer | None = None
        self._watchdog: subprocess.Popen | None = None

    def start(self) -> DockerServer:
        reap_containers()
        self._container = container = start_container(self.image)
        self._watchdog = watch(container=container.get_wrapped_container().id)
        self.url = container.published_url()
        return self

    def stop(self) -> None:
        if getattr(self, "url", None) is not None:
            forget_admin_engine(self.url)
        if self._container is not None:
            self._container.stop()
            self._container = None
        if self._watchdog is not None:
            self._watchdog.kill()
            self._watchdog.wait()
            self._watchdog = None


def start_container(image: str) -> LabPostgresContainer:
    """Start PostgreSQL from IMAGE (the official image's interface) and wait until it
    answers. The caller owns the container: ``.stop()`` removes it."""
    client = engine()
    _ensure_image(client, image)
    _ryuk_only_where_it_can_run(client)
    container = LabPostgresContainer(image, password=_new_password())
    try:
        container.start()
        container.wait_ready()
    except BaseException as error:  # an interrupt too: nothing is left half-started
        container.stop()
        if isinstance(error, LabError) or not isinstance(error, Exception):
            raise
        raise LabError(  # docker's and testcontainers' own errors, in one line
            f"Docker could not start {image}: {_first_line(error, container.password)}"
        ) from None
    return container


def reap_containers() -> list[str]:
    """Remove the kit's containers whose owner process is dead; returns their names.
    Without an engine there is nothing to reap."""
    try:
        client = engine()
        found = client.containers.list(all=True, filters={"label": KIT_LABEL})
    except LabError:
        return []
    reaped = []
    for container in found:
        owner = Owner.parse(container.labels.get(OWNER_LABEL, ""))
        if owner is not None and not owner.is_alive():
            try:
                container.remove(force=True, v=True)
            except Exception:  # noqa: BLE001 (removed meanwhile, e.g. by its watchdog)
                continue
            reaped.append(str(container.name))
    return reaped


def engine() -> docker.DockerClient:
    """A client of the engine DOCKER_HOST (or the default socket) names; LabError if
    none answers."""
    try:
        client = docker.from_env(timeout=10)
        client.ping()
    except Exception as error:  # noqa: BLE001 (DockerException, requests' errors)
        where = os.environ.get("DOCKER_HOST") or "the default socket"
        why = "permission denied: join the docker group, or " if "ermission denied" in str(
            error
        ) else ""
        raise LabError(f"no Docker engine answers at {where}; {why}{NO_ENGINE_FIX}") from None
    return client


class LabPostgresContainer(PostgresContainer):
    """testcontainers' PostgresContainer, labelled with its owner, published on the
    host the kit connects to, and ready when a client gets in through that port."""

    def __init__(self, image: str, password: str) -> None:
        super().__init__(image, username="postgres", password=password, dbname="postgres")
        self.client_host = testcontainers_config.tc_host_override or (
            LOOPBACK if _engine_is_local() and not inside_container() else None
        )
        if self.client_host == LOOPBACK:
            # Published on loopback only: nothing outside this machine reaches it.
            # docker-py takes a (host,) tuple; testcontainers types the value as a port.
            self.ports = {f"{PORT}/tcp": (LOOPBACK,)}  # type: ignore[dict-item]
        self.with_command(["postgres", *(a for k, v in SETTINGS.items() for a in ("-c", f"{k}={v}"))])
        self.with_env("POSTGRES_INITDB_ARGS", "--no-sync")
        self.with_kwargs(labels={KIT_LABEL: KIT, OWNER_LABEL: Owner.me().dump()})
        self.url: URL | None = None

    def start(self) -> LabPostgresContainer:
        super().start()
        self.url = self._published_url()
        return self

    def _connect(self) -> None:
        pass  # wait_ready() checks from the client's side instead, and more often

    def _published_url(self) -> URL:
        """The ``postgres`` database, through the published port."""
        if self.client_host is not None:
            host = self.client_host
            port = int(self.get_docker_client().port(self.get_container_id(), PORT))
        else:  # testcontainers' own choice (e.g. the gateway, inside a container)
            host = self.get_container_host_ip()
            port = self.get_exposed_port(PORT)
        return URL.create(
            "postgresql+psycopg2", username=self.username, password=self.password,
            host=host, port=port, database=self.dbname,
        )

    def published_url(self) -> URL:
        """The ``postgres`` database through the published port (once started)."""
        if self.url is None:
            raise LabError(f"the PostgreSQL container ({self.image}) is not started")
        return self.url

    def get_connection_url(self, host: str | None = None, driver: object = None) -> str:  # noqa: ARG002
        """The URL with its password, for a client (never for display)."""
        url = self.published_url() if host is None else self.published_url().set(host=host)
        return url.render_as_string(hide_password=False)

    def wait_ready(self, timeout: float | None = None) -> None:
        """Until a client connects through the published port; LabError if the
        container exits or the time runs out."""
        import psycopg2

        timeout = READY_TIMEOUT if timeout is None else timeout
        wrapped = self.get_wrapped_container()
        url = self.published_url()
        deadline = time.monotonic() + timeout
        checked = time.monotonic()
        while True:
            try:
                psycopg2.connect(
                    host=url.host, port=url.port, user=url.username, password=url.password,
                    dbname=url.database, connect_timeout=3,
                ).close()
                return
            except psycopg2.OperationalError:
                pass
            now = time.monotonic()
            if now - checked > 0.5:  # an exited container never answers
                checked = now
                wrapped.reload()
                if wrapped.status in ("exited", "dead"):
                    raise LabError(
                        f"the PostgreSQL container ({self.image}) exited: {self._last_log_line()}"
                    )
            if now > deadline:
                raise LabError(
                    f"the PostgreSQL container ({self.image}) did not answer at "
                    f"{url.render_as_string(hide_password=True)} within {timeout:g} s: "
                    f"{self._last_log_line()}"
                )
            time.sleep(0.05)

    def _last_log_line(self) -> str:
        try:
            text = self.get_wrapped_container().logs(tail=20).decode(errors="replace")
        except Exception:  # noqa: BLE001
            return "no log"
        lines = [line for line in text.splitlines() if line.strip()]
        errors = [line for line in lines if "FATAL" in line or "rror" in line]
        line = (errors or lines or ["empty log"])[-1].strip()
        return line.replace(self.password, "***")

    def stop(self, force: bool = True, delete_volume: bool = True) -> None:
        """Remove the container (and its volumes); already gone is fine."""
        try:
            super().stop(force=force, delete_volume=delete_volume)
        except docker.errors.NotFound:
            pass
        self._container = None

    def __repr__(self) -> str:
        shown = self.url.render_as_string(hide_password=True) if self.url else "not started"
        return f"<LabPostgresContainer {self.image} {shown}>"


def _new_password() -> str:
    return secrets.token_urlsafe(18)


def _engine_is_local() -> bool:
    """The engine runs on this machine (a Unix socket), so its published ports are on
    this machine's loopback."""
    host = get_docker_host()
    return host is None or host.startswith("unix://")


def _ensure_image(client: docker.DockerClient, image: str) -> None:
    """The image, local or pulled; LabError naming the fix if neither."""
    try:
        client.images.get(image)
        return
    except docker.errors.ImageNotFound:
        pass
    try:
        client.images.pull(image)
    except Exception as error:  # noqa: BLE001 (no registry, unknown image, no network)
        raise LabError(
            f"image {image} not found; run scripts/docker-lane.sh or set LAB_DOCKER_IMAGE "
            f"(it is not here, and pulling it failed: {_first_line(error)})"
        ) from None


def _ryuk_only_where_it_can_run(client: docker.DockerClient) -> None:
    """Ryuk (testcontainers' reaper) runs only if its image is here: with no registry
    it can't be pulled, and the kit's own reaping (labels, watchdog) covers it. An
    explicit TESTCONTAINERS_RYUK_DISABLED is left as it is."""
    if testcontainers_config.ryuk_disabled or "TESTCONTAINERS_RYUK_DISABLED" in os.environ:
        return
    try:
        client.images.get(testcontainers_config.ryuk_image)
    except docker.errors.ImageNotFound:
        testcontainers_config.ryuk_disabled = True


def _first_line(error: BaseException, password: str | None = None, limit: int = 160) -> str:
    """The error's gist, one line, never the password."""
    text = (getattr(error, "explanation", None) or str(error)).strip().splitlines()
    line = text[0] if text else type(error).__name__
    if password:
        line = line.replace(password, "***")
    return line if len(line) <= limit else line[: limit - 3] + "..."
