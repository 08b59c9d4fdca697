"""The project a lesson works on: the repository itself, or a scratch copy of it.

Lessons that only move through history use the repository (nothing in it
changes); lessons that edit models or create revision files use a scratch copy
of app/, alembic/ and alembic.ini, so the repository is never modified.

This module is the kit's one front end to Alembic: the only place that builds
alembic's ``Config`` and ``ScriptDirectory`` and runs its commands.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import logging
import os
import re
import shlex
import shutil
import subprocess
import sys
import textwrap
import threading
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, cast

import sqlalchemy as sa
from sqlalchemy.engine import URL

from migrationlab.errors import LabError
from migrationlab.infra.ownership import clean_dir, new_owned_dir, reap_dirs
from migrationlab.infra.servers import client_tools
from migrationlab.infra.urls import libpq_env, libpq_url, redact
from migrationlab.infra.watchdog import watch

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

REPO_ROOT = Path(__file__).resolve().parents[1]
COPIED = ("app", "alembic", "alembic.ini")

# In-process commands change process-wide state (the imported `app` modules, SQLModel's
# metadata, logging, sys.path): one at a time, whichever thread asks.
_process_state = threading.RLock()


@dataclass
class Result:
    """What a command printed, as a terminal shows it, and how it ended."""

    command: str
    output: str
    exit_code: int

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    def __str__(self) -> str:
        return f"$ {self.command}\n{self.output}".rstrip("\n")


class Project:
    """A directory holding app/, alembic/ and alembic.ini.

    Example::

        project = Project.scratch()          # a copy; removed by close()
        result = project.alembic("heads", database_url)
        print(result)                        # $ alembic heads / 003 (head)
        project.close()
    """

    def __init__(self, root: Path, *, scratch: bool = False) -> None:
        self.root = root
        self.is_scratch = scratch
        self._watchdog: subprocess.Popen | None = None

    @classmethod
    def repo(cls) -> Project:
        return cls(REPO_ROOT)

    @classmethod
    def scratch(cls) -> Project:
        """Copy the project into a fresh directory that goes with its owner."""
        reap_dirs()
        root = new_owned_dir("scratch")
        watchdog = watch(directory=root)
        copy_project(root)
        project = cls(root, scratch=True)
        project._watchdog = watchdog
        return project

    def path(self, relative: str) -> Path:
        """A file of the project; only a scratch copy may be changed through it."""
        path = (self.root / relative).resolve()
        if not path.is_relative_to(self.root.resolve()):
            raise LabError(f"{relative} is outside the project; give a path like app/api/users/models.py")
        return path

    # -- alembic's own objects ------------------------------------------------------
    def config(self, **options) -> Config:
        """alembic's Config for this project's alembic.ini."""
        from alembic.config import Config  # imported when needed: it is slow

        return Config(str(self.root / "alembic.ini"), **options)

    def script(self) -> ScriptDirectory:
        """alembic's ScriptDirectory: the revision files as alembic reads them now."""
        from alembic.script import ScriptDirectory

        with self._fresh_imports():
            script = ScriptDirectory.from_config(self.config())
            # alembic reads the files when first asked: now, while no bytecode is written.
            script.revision_map.heads  # noqa: B018
            return script

    def heads(self) -> list[str]:
        """The head revisions of the files, sorted."""
        return sorted(self.script().get_heads())

    def current(self, engine: sa.Engine) -> list[str]:
        """The revisions the database is at, as alembic reads them (sorted; empty at base
        or when it was never migrated)."""
        from alembic.runtime.migration import MigrationContext

        with engine.connect() as conn:
            return sorted(MigrationContext.configure(conn).get_current_heads())

    def write_revision(
        self, rev: str, message: str, *, parent: str | None, upgrade: str = "", downgrade: str = ""
    ) -> str:
        """Write revision REV after PARENT, as `alembic revision -m MESSAGE --rev-id REV`
        does (alembic's own ScriptDirectory and the project's script.py.mako), with UPGRADE
        and DOWNGRADE (code) as the bodies of its two functions. Returns its path, relative
        to the project."""
        from alembic.script import ScriptDirectory

        with self._fresh_imports(), captured():  # alembic prints "Generating ... done"
            script = ScriptDirectory.from_config(self.config())
            revision = script.generate_revision(
                rev, message, head=parent or "base", splice=True,
                upgrades=_body(upgrade), downgrades=_body(downgrade),
            )
        if revision is None:
            raise LabError(f"alembic wrote no revision {rev}")
        return str(Path(revision.path).relative_to(self.root))

    # -- running alembic ------------------------------------------------------------
    def alembic(
        self, args: str, database_url: URL, *, in_process: bool | None = None,
        connection: sa.Connection | None = None,
    ) -> Result:
        """Run `alembic ARGS` on the database, as typed in a terminal at the project root.

        In-process by default (about 20 ms, against some 800 ms for a new
        process); either way the project's models and revision files are read
        afresh, so a file edited a moment ago is what alembic sees. CONNECTION runs
        it on a connection the caller holds (and commits, or rolls back).
        """
        try:
            argv = shlex.split(args)
        except ValueError as error:  # as a shell would say it
            return Result(f"alembic {args}", f"alembic: {error} in: {args}\n", 2)
        if in_process is None:
            in_process = True
        if in_process:
            output, code = self._alembic_in_process(argv, database_url, connection)
        else:
            output, code = self._alembic_process(argv, database_url)
        return Result(f"alembic {args}", self.tidy(output, database_url), code)

    def _alembic_process(self, argv: list[str], url: URL) -> tuple[str, int]:
        proc = subprocess.run(
            [sys.executable, "-m", "alembic", *argv],
            cwd=self.root,
            env=self.command_environment(url),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        return proc.stdout, proc.returncode

    def _alembic_in_process(
        self, argv: list[str], url: URL, handed_in: sa.Connection | None = None
    ) -> tuple[str, int]:
        from alembic.config import CommandLine

        cli = CommandLine(prog="alembic")
        code = 0
        engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
        with _process_state, captured() as buffer, self._fresh_imports(), fresh_logging():
            try:
                options = cli.parser.parse_args(argv)
                config = self.config(cmd_opts=options, stdout=buffer)
                if getattr(options, "sql", False):
                    # Offline: env.py renders SQL for the dialect of DATABASE_URL.
                    with environ(DATABASE_URL=libpq_url(url)):
                        cli.run_cmd(config, options)
                elif handed_in is not None:
                    config.attributes["connection"] = handed_in
                    cli.run_cmd(config, options)
                else:
                    with engine.connect() as connection:
                        # env.py runs on this connection instead of opening its own.
                        config.attributes["connection"] = connection
                        cli.run_cmd(config, options)
                        connection.commit()
            except SystemExit as exit_:
                code = exit_.code if isinstance(exit_.code, int) else 1
            except Exception as error:  # shown as the terminal shows it, then reported
                buffer.write("Traceback (most recent call last):\n  ...\n")
                buffer.write("".join(traceback.format_exception_only(error)))
                code = 1
            finally:
                engine.dispose()
        return buffer.getvalue(), code

    def import_app(self, module: str) -> ModuleType:
        """Import MODULE (e.g. "app.models") afresh from this project's files, as a
        Python started at the project root would."""
        with self._fresh_imports():
            root = str(self.root)
            sys.path.insert(0, root)
            try:
                return importlib.import_module(module)
            finally:
                sys.path.remove(root)

    @contextlib.contextmanager
    def _fresh_imports(self) -> Iterator[None]:
        """Python code of this project (models, revision files) read from its source, as
        a new `alembic` process would: never from a bytecode cache, which can be stale.
        Python trusts a cache whose source has the same size and mtime second, so an
        edit like '003' -> '004' within a second would run the old code."""
        with _process_state:
            forget_app_modules()
            if self.is_scratch:
                for cache in self.root.rglob("__pycache__"):
                    shutil.rmtree(cache, ignore_errors=True)
            saved, sys.dont_write_bytecode = sys.dont_write_bytecode, True
            path = list(sys.path)  # alembic.ini's prepend_sys_path adds the project root
            try:
                yield
            finally:
                sys.dont_write_bytecode = saved
                sys.path[:] = path

    def render_sql(self, args: str, database_url: URL) -> str:
        """The SQL `alembic ARGS --sql` writes (nothing runs), without alembic's log lines,
        as `alembic ARGS --sql > release.sql` keeps it (the log goes to stderr)."""
        rendered = self.alembic(f"{args} --sql", database_url)
        if not rendered.ok:
            last = [line for line in rendered.output.splitlines() if line.strip()][-1:]
            raise LabError(f"`alembic {args} --sql` failed: {''.join(last) or 'no output'}")
        return "".join(line for line in rendered.output.splitlines(keepends=True)
                       if not re.match(r"(INFO|WARNI|ERROR|DEBUG|CRITI) +\[", line))

    def lint(self, sql: str, name: str = "release.sql", *options: str) -> list[str]:
        """squawk's findings on SQL, one gcc-style line each (``NAME:LINE:COLUMN: ...``,
        counted from 0), as `squawk --reporter gcc NAME` run at the project root prints
        them: it reads the project's .squawk.toml there, if any."""
        binary = Path(sys.executable).with_name("squawk")
        found = str(binary) if binary.exists() else shutil.which("squawk")
        if found is None:
            raise LabError("squawk is not installed; run `make install` (or pip install squawk-cli)")
        proc = subprocess.run([found, "--reporter", "gcc", *options, "--stdin-filepath", name],
                              input=sql, cwd=self.root, capture_output=True, text=True)
        lines = [line for line in (proc.stdout + proc.stderr).splitlines() if line.strip()]
        return lines or ([] if proc.returncode == 0 else [f"squawk exited with code {proc.returncode}"])

    # -- the shell ----------------------------------------------------------------
    def environment(self, url: URL) -> dict[str, str]:
        """The environment of a command run for the database at URL, as a terminal of
        `make lab` has it: DATABASE_URL (in the form psql and the app both take) and the
        PG* variables naming it, the kit's virtualenv (alembic, uvicorn) and the
        PostgreSQL client tools of the server's major version first on PATH."""
        first = [str(Path(sys.executable).parent), str(client_tools(url))]
        rest = [p for p in os.environ.get("PATH", "").split(os.pathsep) if p and p not in first]
        return {
            **os.environ,
            "DATABASE_URL": libpq_url(url),
            **libpq_env(url),
            "PATH": os.pathsep.join(first + rest),
        }

    def command_environment(self, url: URL) -> dict[str, str]:
        """The environment of a command whose output a notebook shows: a terminal's,
        without colour (a kernel asks for it: FORCE_COLOR) and writing no bytecode
        caches into the project."""
        env = {k: v for k, v in self.environment(url).items()
               if k not in ("FORCE_COLOR", "CLICOLOR_FORCE", "PY_COLORS")}
        return {**env, "NO_COLOR": "1", "PYTHONDONTWRITEBYTECODE": "1"}

    def shell(self, command: str, database_url: URL) -> Result:
        """Run a shell command at the project root with the database's environment (and
        no bytecode caches written into the project), as a learner would."""
        proc = subprocess.run(
            command, shell=True, cwd=self.root, env=self.command_environment(database_url),
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        return Result(command, self.tidy(proc.stdout, database_url), proc.returncode)

    def tidy(self, output: str, database_url: URL) -> str:
        """What a person should see: paths relative to the project, no password in any
        form, and a traceback cut to its last frame marker and the error itself."""
        output = output.replace(str(self.root) + "/", "").replace(str(self.root), ".")
        return _shorten_traceback(redact(output, database_url))

    def close(self) -> None:
        if self.is_scratch and self.root.exists():
            clean_dir(self.root)
        if self._watchdog is not None:
            self._watchdog.kill()
            self._watchdog.wait()
            self._watchdog = None


def _body(code: str) -> str:
    """Code as the body of a function in script.py.mako, which indents its first line."""
    return textwrap.indent(textwrap.dedent(code).strip("\n"), "    ").lstrip(" ")


def copy_project(root: Path) -> None:
    """Copy the repository's app/, alembic/ and alembic.ini into ROOT (no caches)."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in COPIED:
        source = REPO_ROOT / name
        if source.is_dir():
            shutil.copytree(source, root / name, ignore=ignore, dirs_exist_ok=True)
        else:
            shutil.copy2(source, root / name)


def forget_app_modules() -> None:
    """Make the next `import app.models` read a project's files afresh, as a new
    `alembic` process would: drop the modules and the tables they registered."""
    from sqlmodel import SQLModel
    from sqlmodel.main import default_registry

    with _process_state:
        for name in [n for n in sys.modules if n == "app" or n.startswith("app.")]:
            del sys.modules[name]
        SQLModel.metadata.clear()
        default_registry.dispose()
        default_registry._class_registry.clear()  # else re-declared models warn


def _shorten_traceback(output: str) -> str:
    head, marker, rest = output.partition("Traceback (most recent call last):\n")
    if not marker:
        return output
    lines = rest.splitlines(keepends=True)
    frames = [i for i, line in enumerate(lines) if line.startswith('  File "')]
    if not frames:
        return output  # already short (an in-process run writes "  ..." itself)
    # Skip the last frame's code and ^^^ lines, but not the error: its own indented
    # lines (PostgreSQL's "LINE 1: ..." and caret) must stay.
    end = frames[-1] + 1
    while end < len(lines) and lines[end].startswith("    "):
        end += 1
    return head + marker + "  ...\n" + "".join(lines[end:])


@contextlib.contextmanager
def fresh_logging() -> Iterator[None]:
    """Logging as a new `alembic` process has it: env.py's fileConfig() sets handlers and
    levels for the block only, so a command that never runs env.py (history, heads)
    logs nothing, as in a terminal."""
    names = ["", *logging.root.manager.loggerDict]
    saved = {}
    for name in names:
        logger = logging.getLogger(name)
        saved[name] = (logger.level, list(logger.handlers), logger.propagate, logger.disabled)
    try:
        yield
    finally:
        for name in list(logging.root.manager.loggerDict) + [""]:
            logger = logging.getLogger(name)
            level, handlers, propagate, disabled = saved.get(name, (logging.NOTSET, [], True, False))
            logger.setLevel(level)
            logger.handlers[:] = handlers
            logger.propagate, logger.disabled = propagate, disabled


# -- output of one thread -------------------------------------------------------------

class _PerThread:
    """A stand-in for sys.stdout/sys.stderr that sends what a thread writes to the buffer
    that thread captures into, and everything else where it went before: a command
    captured in one thread does not swallow another thread's prints."""

    def __init__(self, stream) -> None:
        self.stream = stream
        self.local = threading.local()

    def write(self, text: str) -> int:
        target = getattr(self.local, "buffer", None) or self.stream
        return target.write(text)

    def flush(self) -> None:
        target = getattr(self.local, "buffer", None) or self.stream
        target.flush()

    def __getattr__(self, name: str):
        return getattr(self.stream, name)


@contextlib.contextmanager
def captured() -> Iterator[io.StringIO]:
    """What this thread prints (stdout and stderr, logging included) in the block."""
    buffer = io.StringIO()
    with _process_state:
        for name in ("stdout", "stderr"):
            if not isinstance(getattr(sys, name), _PerThread):
                setattr(sys, name, _PerThread(getattr(sys, name)))
        streams = (cast(_PerThread, sys.stdout), cast(_PerThread, sys.stderr))
    saved = [getattr(s.local, "buffer", None) for s in streams]
    for stream in streams:
        stream.local.buffer = buffer
    try:
        yield buffer
    finally:
        for stream, previous in zip(streams, saved, strict=True):
            stream.local.buffer = previous


@contextlib.contextmanager
def environ(**values: str | None) -> Iterator[None]:
    """Set (or, with None, unset) environment variables for the block, then put them back."""
    saved = {key: os.environ.get(key) for key in values}
    try:
        _set_environ(values)
        yield
    finally:
        _set_environ(saved)


def _set_environ(values: dict[str, str | None]) -> None:
    for key, value in values.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
