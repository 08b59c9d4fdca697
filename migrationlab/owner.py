"""Ownership of what the kit starts, so nothing outlives its owner.

Whoever starts a server (a test session, `make lab`, a kernel) owns it. Two
mechanisms make sure it goes when the owner goes, even after SIGKILL (nbval
kills kernels that way, so `atexit` never runs there):

* a watchdog: a small detached process that waits for the owner to die and
  then runs the cleanup (stop the server, remove its files or container);
* reaping: every start first removes what dead owners left behind, in case a
  watchdog itself was killed.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil

OWNER_FILE = "owner.json"


@dataclass(frozen=True)
class Owner:
    """A process, identified so that a reused pid is not mistaken for it."""

    host: str
    pid: int
    started: float

    @classmethod
    def me(cls) -> Owner:
        return cls(socket.gethostname(), os.getpid(), psutil.Process().create_time())

    @classmethod
    def parse(cls, text: str) -> Owner | None:
        try:
            return cls(**json.loads(text))
        except (ValueError, TypeError):
            return None

    def dump(self) -> str:
        return json.dumps(asdict(self))

    def is_alive(self) -> bool:
        """True unless this owner ran on this host and is gone."""
        if self.host != socket.gethostname():
            return True  # can't tell; never reap another machine's work
        try:
            proc = psutil.Process(self.pid)
            same = abs(proc.create_time() - self.started) < 1.0
            return same and proc.status() != psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return False


def runtime_root() -> Path:
    """Where servers and scratch copies live: short (socket paths are limited to
    107 bytes), private to this user, and shared by every process of the user.

    In RAM (/dev/shm) where there is one, or LAB_RUNTIME_DIR: nothing here is kept, and
    on a disk mounted with `discard` creating and dropping a database's files took
    100 ms instead of 7, and a cold start 0.8 s instead of 0.4.
    """
    shm = Path("/dev/shm")
    base = os.environ.get("LAB_RUNTIME_DIR") or (
        shm if shm.is_dir() and os.access(shm, os.W_OK | os.X_OK) else tempfile.gettempdir()
    )
    root = Path(base) / f"migrationlab-{os.getuid()}"
    root.mkdir(mode=0o711, exist_ok=True)
    return root


def new_owned_dir(prefix: str) -> Path:
    """A fresh directory under the runtime root, marked with its owner."""
    path = Path(tempfile.mkdtemp(prefix=f"{prefix}-", dir=runtime_root()))
    (path / OWNER_FILE).write_text(Owner.me().dump())
    return path


def stop_postmaster(data_dir: Path, timeout: float = 5.0) -> None:
    """Stop the server whose data directory this is (immediate shutdown: nothing to keep)."""
    pid_file = data_dir / "postmaster.pid"
    try:
        pid = int(pid_file.read_text().split("\n", 1)[0])
        proc = psutil.Process(pid)
        if data_dir.name not in " ".join(proc.cmdline()) and proc.name() != "postgres":
            return  # the pid was reused by something else
        proc.send_signal(signal.SIGQUIT)
        proc.wait(timeout)
    except (FileNotFoundError, ValueError, psutil.NoSuchProcess):
        return
    except psutil.TimeoutExpired:
        proc.kill()


def clean_dir(path: Path) -> None:
    """Stop a server that lives in this directory, if any, and remove the directory."""
    stop_postmaster(path / "data")
    shutil.rmtree(path, ignore_errors=True)


def reap_dirs() -> list[Path]:
    """Remove the servers and scratch copies whose owner is dead. Returns what was reaped."""
    reaped = []
    for path in runtime_root().iterdir():
        owner = Owner.parse(_read(path / OWNER_FILE))
        if owner is not None and not owner.is_alive():
            clean_dir(path)
            reaped.append(path)
    return reaped


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def watch(*, directory: Path | None = None, container: str | None = None) -> subprocess.Popen:
    """Start a watchdog that cleans up after this process when it dies, however it dies."""
    me = Owner.me()
    args = [sys.executable, "-m", "migrationlab.watchdog", me.dump()]
    args += ["--dir", str(directory)] if directory else []
    args += ["--container", container] if container else []
    return subprocess.Popen(
        args,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # out of the owner's process group: a killpg spares it
        close_fds=True,
    )


def wait_for_death(owner: Owner, poll: float = 0.2) -> None:
    """Block until the owner process is gone."""
    try:
        fd = os.pidfd_open(owner.pid)
    except (OSError, AttributeError):
        fd = None
    if fd is not None and owner.is_alive():
        import select

        select.select([fd], [], [])
        os.close(fd)
        return
    while owner.is_alive():
        time.sleep(poll)
