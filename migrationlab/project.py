"""The project a lesson works on: the repository itself, or a scratch copy of it.

Lessons that only move through history use the repository (nothing in it
changes); lessons that edit models or create revision files use a scratch copy
of app/, alembic/ and alembic.ini, so the repository is never modified.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import os
import shlex
import shutil
import subprocess
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import URL

from migrationlab.config import REPO_ROOT
from migrationlab.errors import LabError
from migrationlab.owner import clean_dir, new_owned_dir, reap_dirs, watch

COPIED = ("app", "alembic", "alembic.ini")


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
        ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
        for name in COPIED:
            source = REPO_ROOT / name
            if source.is_dir():
                shutil.copytree(source, root / name, ignore=ignore)
            else:
                shutil.copy2(source, root / name)
        project = cls(root, scratch=True)
        project._watchdog = watchdog
        return project

    def path(self, relative: str) -> Path:
        """A file of the project; only a scratch copy may be changed through it."""
        path = (self.root / relative).resolve()
        if not path.is_relative_to(self.root.resolve()):
            raise LabError(f"{relative} is outside the project; give a path like app/api/users/models.py")
        return path

    def import_app(self, module: str):
        """Import MODULE (e.g. "app.models") afresh from this project's files, as a
        Python started at the project root would."""
        _forget_app_modules()
        root = str(self.root)
        sys.path.insert(0, root)
        try:
            return importlib.import_module(module)
        finally:
            sys.path.remove(root)

    def alembic(self, args: str, database_url: URL, *, in_process: bool | None = None) -> Result:
        """Run `alembic ARGS` on the database, as typed in a terminal at the project root.

        In-process by default (about 20 ms, against some 800 ms for a new
        process); either way the project's models are imported afresh, so a
        model edited a moment ago is what autogenerate sees.
        """
        argv = shlex.split(args)
        if in_process is None:
            in_process = True
        url_text = database_url.render_as_string(hide_password=False)
        if in_process:
            output, code = self._alembic_in_process(argv, database_url, url_text)
        else:
            output, code = self._alembic_process(argv, url_text)
        return Result(f"alembic {args}", self.tidy(output, database_url), code)

    def _alembic_process(self, argv: list[str], url_text: str) -> tuple[str, int]:
        env = {**os.environ, "DATABASE_URL": url_text, "PYTHONDONTWRITEBYTECODE": "1"}
        proc = subprocess.run(
            [sys.executable, "-m", "alembic", *argv],
            cwd=self.root,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        return proc.stdout, proc.returncode

    def _alembic_in_process(self, argv: list[str], url: URL, url_text: str) -> tuple[str, int]:
        from alembic.config import CommandLine, Config

        buffer = io.StringIO()
        cli = CommandLine(prog="alembic")
        code = 0
        engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
        with (
            contextlib.redirect_stdout(buffer),
            contextlib.redirect_stderr(buffer),
            environ(DATABASE_URL=url_text),
            contextlib.chdir(self.root),
        ):
            try:
                _forget_app_modules()
                options = cli.parser.parse_args(argv)
                config = Config(
                    file_=str(self.root / "alembic.ini"), cmd_opts=options, stdout=buffer
                )
                if getattr(options, "sql", False):
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

    def shell(self, command: str, database_url: URL) -> Result:
        """Run a shell command at the project root with DATABASE_URL set, as a learner would."""
        env = {
            **os.environ,
            "DATABASE_URL": database_url.render_as_string(hide_password=False),
            "PYTHONDONTWRITEBYTECODE": "1",
            # As in an activated virtualenv: `alembic`, `python`, `uvicorn` are the kit's.
            "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
        }
        proc = subprocess.run(
            command, shell=True, cwd=self.root, env=env,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        return Result(command, self.tidy(proc.stdout, database_url), proc.returncode)

    def tidy(self, output: str, database_url: URL) -> str:
        """What a person should see: paths relative to the project, no password,
        and a traceback cut to its last frame marker and the error itself."""
        output = output.replace(str(self.root) + "/", "").replace(str(self.root), ".")
        if database_url.password:
            output = output.replace(str(database_url.password), "***")
        return _shorten_traceback(output)

    def close(self) -> None:
        if self.is_scratch and self.root.exists():
            clean_dir(self.root)
        if self._watchdog is not None:
            self._watchdog.kill()
            self._watchdog.wait()
            self._watchdog = None


def _forget_app_modules() -> None:
    """Make the next `import app.models` read this project's files afresh, as a new
    `alembic` process would: drop the modules and the tables they registered."""
    from sqlmodel import SQLModel
    from sqlmodel.main import default_registry

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
def environ(**values: str | None):
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
