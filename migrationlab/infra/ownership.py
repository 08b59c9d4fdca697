"""Ownership of what the kit starts, so nothing outlives its owner.

Whoever starts a server (a test session, `make lab`, a kernel) owns it. Two
mechanisms make sure it goes when the owner goes, even after SIGKILL (nbval
kills kernels that way, so `atexit` never runs there):

* a watchdog (migrationlab.infra.watchdog): a small detached process that waits
  for the owner to die and then runs the cleanup;
* reaping: every start first removes what dead owners left behind, in case a
  watchdog itself was killed.

Everything lives in the runtime root, a directory the kit uses only if it is the
user's own and nobody else can write to it; and the kit signals a process only
if it can prove it is its own PostgreSQL for that exact data directory.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import stat
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil

from migrationlab.errors import LabError

OWNER_FILE = "owner.json"


@dataclass(frozen=True)
class Owner:
    """A process, identified so that a reused pid is not mistaken for it."""

    host: str
    pid: int
    started: float

    @classmethod
    def me(cls) -> Owner:
        return cls.of(os.getpid())

    @classmethod
    def of(cls, pid: int) -> Owner:
        return cls(socket.gethostname(), pid, psutil.Process(pid).create_time())

    @classmethod
    def parse(cls, text: str) -> Owner | None:
        try:
            owner = cls(**json.loads(text))
        except (ValueError, TypeError):
            return None
        valid = isinstance(owner.pid, int) and isinstance(owner.host, str)
        return owner if valid and isinstance(owner.started, int | float) else None

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
    """Where servers and scratch copies live: short (socket paths are limited to 107
    bytes), private to this user, and shared by every process of the user.

    In RAM (/dev/shm) where there is one, or LAB_RUNTIME_DIR: nothing here is kept, and
    on a disk mounted with `discard` creating and dropping a database's files took
    100 ms instead of 7, and a cold start 0.8 s instead of 0.4.
    """
    from migrationlab.infra.settings import lab_settings  # not at import: the watchdog is lean

    given = lab_settings().runtime_dir
    if given is not None:
        if not given.is_dir():
            raise LabError(
                f"LAB_RUNTIME_DIR={given} is not a directory; create it, or unset LAB_RUNTIME_DIR"
            )
        base = given
    else:
        shm = Path("/dev/shm")
        base = shm if shm.is_dir() and os.access(shm, os.W_OK | os.X_OK) else Path(tempfile.gettempdir())
    root = base / f"migrationlab-{_uid()}"
    # As root, the PostgreSQL server runs as another user, which must traverse this
    # directory (not list it); anyone else keeps it private.
    mode = 0o711 if _uid() == 0 else 0o700
    try:
        root.mkdir(mode=mode)
    except FileExistsError:
        pass
    except OSError as error:
        where = "LAB_RUNTIME_DIR" if given is not None else "the temporary directory"
        raise LabError(
            f"cannot create the kit's runtime directory {root} ({error.strerror}); "
            f"make {where} writable, or set LAB_RUNTIME_DIR to a directory of yours"
        ) from None
    _check_private(root)
    return root


def _check_private(root: Path) -> None:
    """The runtime root is trusted only if it is a real directory of this user's that
    nobody else can write to: another local user could have prepared it."""
    info = os.lstat(root)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != _uid() or info.st_mode & 0o022:
        raise LabError(
            f"{root} is not the kit's own (it must be a directory owned by you that nobody "
            "else can write to); remove it, or set LAB_RUNTIME_DIR to a private directory"
        )


def _uid() -> int:
    return os.getuid() if hasattr(os, "getuid") else 0


def new_owned_dir(prefix: str) -> Path:
    """A fresh directory under the runtime root, marked with its owner."""
    path = Path(tempfile.mkdtemp(prefix=f"{prefix}-", dir=runtime_root()))
    (path / OWNER_FILE).write_text(Owner.me().dump())
    return path


def is_postmaster_of(proc: psutil.Process, data_dir: Path) -> bool:
    """Proof that PROC is the PostgreSQL server the kit started on DATA_DIR: a `postgres`
    process whose command line is `postgres -D DATA_DIR ...`, not running as root
    (PostgreSQL never does). A pid written in a file is not proof on its own."""
    try:
        args = proc.cmdline()
        uid = proc.uids().real if hasattr(proc, "uids") else None
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return False
    return (
        len(args) >= 3
        and Path(args[0]).name.startswith("postgres")
        and args[1:3] == ["-D", str(data_dir)]
        and uid != 0
    )


def stop_postmaster(data_dir: Path, timeout: float = 5.0) -> None:
    """Stop the server of this data directory, if one runs (immediate shutdown: a
    disposable server keeps nothing)."""
    try:
        pid = int((data_dir / "postmaster.pid").read_text().split("\n", 1)[0])
        proc = psutil.Process(pid)
    except (OSError, ValueError, psutil.Error):
        return
    if not is_postmaster_of(proc, data_dir):
        return  # someone else's process (a reused pid, or a planted file): never signal it
    try:
        proc.send_signal(signal.SIGQUIT)
        proc.wait(timeout)
    except psutil.TimeoutExpired:
        proc.kill()
    except psutil.Error:
        pass


def clean_dir(path: Path) -> None:
    """Stop a server that lives in this directory, if any, and remove the directory."""
    stop_postmaster(path / "data")
    shutil.rmtree(path, ignore_errors=True)


def reap_dirs() -> list[Path]:
    """Remove the servers and scratch copies whose owner is dead. Returns what was reaped."""
    reaped = []
    for path in runtime_root().iterdir():
        if path.is_symlink() or not path.is_dir():
            continue
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
