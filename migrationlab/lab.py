"""The notebook's handle: a fresh database plus the project, with commands that print
what a terminal would show.

A file of the scratch copy is written by a cell that *is* the file, ``%%lab_file``, in the
spirit of IPython's ``%%writefile``: the cell reads as highlighted Python, not as a
string inside Python::

    %%lab_file alembic/versions/004_add_phone_number_to_users.py
    \"\"\"add phone_number to users
    ...

``--lab NAME`` picks another lab of the notebook (``bob``); ``lab`` by default. A new
file is reported with its size; a changed one with the lines that changed, as `git diff`
shows them.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import os
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import ModuleType

import sqlalchemy as sa

from migrationlab import scenarios
from migrationlab.display import (
    Picture,
    Schema,
    SchemaDiff,
    format_rows,
    read_schema,
    revision_graph,
    schema_picture,
    table_names,
)
from migrationlab.errors import LabError, SQLError, install_notebook_handler
from migrationlab.infra.sandbox import Sandbox, sandbox
from migrationlab.project import REPO_ROOT, Project, Result


class Lab:
    """A learner's workspace.

    Example (a notebook's first cell)::

        from migrationlab import Lab
        lab = Lab()                      # fresh database; the repository's migrations
        lab.alembic("upgrade head")      # $ alembic upgrade head ... (real output)
        lab.schema("users")

    ``Lab(scratch=True)`` works on a scratch copy of app/, alembic/ and alembic.ini,
    for lessons that edit models or create revision files; a ``%%lab_file PATH``
    cell writes a file of it.
    """

    def __init__(
        self, *, scratch: bool = False, project: Project | None = None, database: Sandbox | None = None
    ) -> None:
        install_notebook_handler()
        register_magics()
        self.db = database or sandbox()
        self._owns_database = database is None
        self.project = project or (Project.scratch() if scratch else Project.repo())
        self._owns_project = project is None
        self._last = Schema()  # a fresh database is empty

    @property
    def engine(self) -> sa.Engine:
        """The lab's database as a SQLAlchemy engine, for code of your own."""
        return self.db.engine

    @classmethod
    def help(cls) -> None:
        """Print every tool a lab offers, with the first line of its description (read
        from the code itself, so the list is always complete)."""
        import inspect

        rows = [("%%lab_file [--lab NAME] PATH",
                 "A cell that is a file of the scratch copy: writes it, shows what changed.")]
        for owner, kind in ((cls, "lab"), (scenarios.Session, "session"), (Background, "migration")):
            for name, member in inspect.getmembers(owner):
                if name.startswith("_") or not (inspect.isfunction(member) or isinstance(member, property)):
                    continue
                doc = inspect.getdoc(member) or ""
                signature = "" if isinstance(member, property) else _signature(member)
                rows.append((f"{kind}.{name}{signature}", " ".join(doc.split("\n\n")[0].split())))
        print("\n".join(f"{call}\n    {text}" for call, text in rows))

    def another_database(self) -> Lab:
        """A second lab on a fresh, empty database and the same project files: a
        teammate's laptop, a staging server. Closing it leaves this lab's files alone."""
        return Lab(project=self.project)

    def another_version(self) -> Lab:
        """A second lab on this lab's database with a fresh scratch copy of the project:
        the next version of the app, deployed while this one still runs."""
        return Lab(scratch=True, database=self.db)

    # -- commands, shown as typed ------------------------------------------------
    def alembic(self, args: str, *, in_process: bool | None = None, check: bool = False) -> Result:
        """Run `alembic ARGS` and print it as a terminal would. With ``check=True`` a
        failed command raises a LabError, so an experiment stops at the first failure."""
        result = _shown(self.project.alembic(args, self.db.url, in_process=in_process))
        if check and not result.ok:
            raise LabError(f"`{result.command}` failed (exit code {result.exit_code}); see its output above")
        return result

    def shell(self, command: str) -> Result:
        """Run a shell command at the project root, as in a terminal of `make lab`: with
        DATABASE_URL and the PG* variables naming this lab's database, and the kit's
        virtualenv and PostgreSQL client tools first on PATH."""
        return _shown(self.project.shell(command, self.db.url))

    def environment(self) -> None:
        """Print what `shell` gives its commands, and check that it leads where it should
        (values are not printed: they name a random database and a password)."""
        env = self.project.environment(self.db.url)
        venv, tools = (Path(p) for p in env["PATH"].split(os.pathsep)[:2])
        reached = subprocess.run([str(tools / "psql"), "-XAtc", "select current_database()"], env=env,
                                 capture_output=True, text=True).stdout.strip()
        with self.engine.connect() as conn:
            major = int(str(conn.exec_driver_sql("show server_version_num").scalar())) // 10000
        version = subprocess.run([str(tools / "pg_dump"), "--version"], capture_output=True, text=True)
        yes = {True: "yes", False: "NO"}
        print("DATABASE_URL   names this lab's database, as alembic, the app and psql read it "
              f"({env['DATABASE_URL'].split('://')[0]}://...)")
        print("PGHOST, PGUSER, PGDATABASE (PGPORT, PGPASSWORD where needed): psql and pg_dump "
              f"with no arguments reach this lab's database: {yes[reached == self.db.name]}")
        print(f"PATH           the kit's virtualenv first (alembic, uvicorn): "
              f"{yes[venv == Path(sys.executable).parent]}")
        print("               then psql and pg_dump of the server's major version: "
              f"{yes[f' {major}.' in version.stdout]}")

    def import_app(self, module: str) -> ModuleType:
        """The project's module (e.g. "app.core.config"), imported afresh from its files;
        nothing else in the notebook changes (sys.path stays as it was)."""
        return self.project.import_app(module)

    # -- looking at the database -------------------------------------------------
    def sql(self, statement: str, **params: object) -> None:
        """Run SQL and print the rows of a query (or the count of rows changed), as psql
        does: in autocommit (so CREATE INDEX CONCURRENTLY runs; several statements in one
        string are one transaction). Use `query` to get the rows as values. PostgreSQL's
        refusal is an SQLError, shown as psql shows it."""
        autocommit = self.engine.execution_options(isolation_level="AUTOCOMMIT")
        with autocommit.connect() as conn, refused_as_sql_error():
            result = conn.execute(sa.text(statement), params)
            if not result.returns_rows:
                count = result.rowcount
                # DDL has no row count: show its tag (CREATE TABLE), as psql does.
                print(f"{count} row{'' if count == 1 else 's'} affected" if count >= 0
                      else result.context.cursor.statusmessage)
                return
            print(format_rows(list(result.keys()), [tuple(row) for row in result]))

    def try_sql(self, statement: str, **params: object) -> None:
        """Run SQL that PostgreSQL may refuse: print its refusal as psql does, instead of
        stopping the notebook."""
        try:
            self.sql(statement, **params)
        except SQLError as error:
            print(error)

    def query(self, statement: str, **params: object) -> list[tuple]:
        """Run a query and return its rows without printing."""
        with self.engine.begin() as conn, refused_as_sql_error():
            return [tuple(row) for row in conn.execute(sa.text(statement), params)]

    def tables(self) -> None:
        """Print the tables in the database."""
        names = table_names(self.engine)
        print("tables: " + (", ".join(names) if names else "(none)"))

    def schema(self, *tables: str) -> None:
        """Print the schema of the given tables (all application tables by default), as
        PostgreSQL's catalogs hold it: its own type names, INVALID indexes, NOT VALID
        constraints, CHECK constraints, enum types and their values."""
        print(read_schema(self.engine).describe(*tables))

    def snapshot(self) -> Schema:
        """The schema now, to compare with a later moment (``lab.changes(since=...)``)."""
        self._last = read_schema(self.engine)
        return self._last

    def changes(self, since: Schema | None = None) -> SchemaDiff:
        """Show what changed in the schema since SINCE (by default: since the last
        snapshot or the last call; at first, since the database was created, empty)."""
        before = since if since is not None else self._last
        self._last = read_schema(self.engine)
        diff = before.diff(self._last)
        _display(diff)
        return _QuietDiff(diff.changes)

    def version(self) -> str | None:
        """Print and return what the alembic_version table holds."""
        rows = self.versions()
        if rows is None:
            print("alembic_version: (no such table: never migrated)")
            return None
        print(f"alembic_version: {', '.join(rows) or '(empty)'}")
        return rows[0] if len(rows) == 1 else None

    def versions(self) -> list[str] | None:
        """The rows of alembic_version, sorted (None: the table does not exist)."""
        if "alembic_version" not in table_names(self.engine):
            return None
        return sorted(r[0] for r in self.query("select version_num from alembic_version"))

    def schema_revision(self) -> str | None:
        """The revision whose tables and columns this database has now, whatever its
        alembic_version row says: each revision of the project is built on a fresh
        database and compared. "base" for no application table; None if none matches."""
        mine = _shape(self.engine)
        if not mine:
            return "base"
        # The revision the row names first: revisions that change only data build the
        # same tables as their parent, and the row is then right.
        said = self.versions() or []
        every = [r.revision for r in reversed(list(self.project.script().walk_revisions()))]
        for revision in [*said, *(r for r in every if r not in said)]:
            with Sandbox.create(self.db.server_url) as built:
                if not self.project.alembic(f"upgrade {revision}", built.url).ok:
                    continue
                if _shape(built.engine) == mine:
                    return revision
        return None

    # -- experiments ------------------------------------------------------------------
    def seed(self, rows: int = 1000, **tables: int) -> None:
        """Fill the application's tables with ROWS rows each (or as many as named:
        ``lab.seed(users=1_000_000, posts=1_000_000)``), made inside PostgreSQL, parents
        before children, every foreign key pointing at a real row."""
        counts = tables or {t: rows for t in table_names(self.engine) if t != "alembic_version"}
        for table, count, seconds in scenarios.seed(self.engine, counts):
            print(f"seeded {table}: {count:,} rows in {seconds:.1f} s")

    def fingerprint(self, *tables: str) -> scenarios.Fingerprint:
        """The rows of every table (or of TABLES) now, as hashes, to compare with later."""
        return scenarios.Fingerprint.take(self.engine, list(tables) or None)

    def compare(self, before: scenarios.Fingerprint) -> scenarios.Comparison:
        """Print whether the data is what it was at BEFORE, and which rows differ."""
        comparison = before.compare(self.fingerprint(*before.tables))
        print(comparison)
        return comparison

    def session(self, name: str) -> scenarios.Session:
        """A second connection, named NAME in PostgreSQL, to hold a transaction and its
        locks open while something else runs (``lab.locks()`` shows them)."""
        return scenarios.Session(self.engine, name)

    def start(self, args: str) -> Background:
        """Start `alembic ARGS` in the background, as a deploy would run it; watch it
        with ``.wait_until_blocked()`` and ``lab.locks()``, then ``.finish()``."""
        print(f"$ alembic {args} &")
        return Background(self, scenarios.Migration(self.project, self.db.url, args))

    def measure(self, statement: str, *, keep: bool = False) -> scenarios.Measurement:
        """Run one statement and show what it costs: the lock it takes on each table, whether
        it rewrites or scans the table, how long it takes. Rolled back unless ``keep=True``."""
        measurement = scenarios.measure(self.engine, statement, keep)
        print(measurement)
        return measurement

    def serve_app(self, environment: str = "production", name: str = "app"):
        """Serve the project's app with uvicorn on this lab's database, for a block, and
        call it over HTTP::

            with lab.serve_app("production") as api:
                api.get("/users/")          # prints the request and the response
        """
        return scenarios.served(self.project, self.db.url, environment, name)

    def locks(self) -> None:
        """Which locks the named sessions and migrations hold or wait for, and who blocks
        whom (pg_locks, pg_stat_activity, pg_blocking_pids)."""
        print(scenarios.locks(self.engine))

    # -- pictures ---------------------------------------------------------------------
    def graph(self) -> Picture:
        """The project's revisions as a picture: branch points, merges, heads, and the
        revision(s) this database is at."""
        script = self.project.script()
        revisions = [(r.revision, _parents(r.down_revision), r.doc or "") for r in script.walk_revisions()]
        return revision_graph(revisions, current=self.versions() or ())

    def diagram(self) -> Picture:
        """The database's tables and their foreign keys as a picture."""
        return schema_picture(read_schema(self.engine))

    @contextlib.contextmanager
    def timed(self, label: str) -> Iterator[None]:
        """Print how long the block took, as ``LABEL: 0.41 s``."""
        start = time.perf_counter()
        try:
            yield
        finally:
            print(f"{label}: {time.perf_counter() - start:.2f} s")

    # -- files of the project ----------------------------------------------------
    def show(self, relative: str) -> None:
        """Print a file of the project."""
        print(f"# {relative}\n" + self.project.path(relative).read_text().rstrip("\n"))

    def diff(self, relative: str) -> None:
        """Print what changed in a file of the scratch copy against the repository's
        version, as `git diff` would show it in the learner's own project."""
        before = (REPO_ROOT / relative).read_text().splitlines(keepends=True)
        after = self.project.path(relative).read_text().splitlines(keepends=True)
        lines = difflib.unified_diff(before, after, f"a/{relative}", f"b/{relative}", n=2)
        print("".join(lines).rstrip("\n") or f"{relative}: no changes")

    def write(self, relative: str, text: str) -> None:
        """Create or overwrite a file of the scratch copy, and say what changed (a
        %%lab_file cell calls this; in a notebook, write the cell instead)."""
        path = self._writable(relative)
        before = path.read_text() if path.exists() else None
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        print(changes(relative, before, text))

    def write_revision(
        self, rev: str, message: str, *, parent: str | None, upgrade: str = "", downgrade: str = ""
    ) -> str:
        """Write revision REV after PARENT into the scratch copy, as `alembic revision -m
        MESSAGE --rev-id REV` writes it (the project's script.py.mako), with UPGRADE and
        DOWNGRADE as its functions' bodies: a teammate's file, as `git pull` brings it.
        Returns the file's project-relative path."""
        self._writable("alembic")
        path = self.project.write_revision(rev, message, parent=parent, upgrade=upgrade,
                                           downgrade=downgrade)
        print(f"wrote {path}")
        return path

    def restore(self, relative: str) -> None:
        """Put the repository's version of a file back into the scratch copy (or bring in
        one it lacks, such as scripts/deploy.sh), and say what changed."""
        source = REPO_ROOT / relative
        if not source.is_file():
            raise LabError(f"the repository has no file {relative}; give a path like alembic/env.py")
        self.write(relative, source.read_text())

    def lint(self, revisions: str = "base:head") -> list[str]:
        """Lint the SQL `alembic upgrade REVISIONS --sql` renders with squawk, as a
        reviewer or a CI job would; print and return its findings (line and column count
        from 0, as squawk's gcc format does)."""
        findings = self.project.lint(self.project.render_sql(f"upgrade {revisions}", self.db.url))
        print("\n".join(findings) or "squawk found nothing")
        return _QuietList(findings)

    def remove(self, relative: str) -> None:
        """Delete a file of the scratch copy."""
        self._writable(relative).unlink()
        print(f"removed {relative}")

    def _writable(self, relative: str):
        if not self.project.is_scratch:
            raise LabError(
                "this lab works on the repository itself, which lessons never change; "
                "use Lab(scratch=True) to edit files"
            )
        return self.project.path(relative)

    def reset(self) -> None:
        """Start over: a fresh, empty database and, for a scratch lab, a fresh copy of the
        project (what you changed in the old one is gone)."""
        if self._owns_database:
            self.db.close()
            self.db = sandbox()
        fresh_copy = self._owns_project and self.project.is_scratch
        if fresh_copy:
            self.project.close()
            self.project = Project.scratch()
        self._last = Schema()
        print("a fresh, empty database" + (" and a fresh copy of the project" if fresh_copy else ""))

    def close(self) -> None:
        """Drop the database and remove the scratch copy (also done at exit)."""
        if self._owns_project:
            self.project.close()
        if self._owns_database:
            self.db.close()


def _signature(function) -> str:
    """The parameters as a learner writes them: no self, no annotations."""
    import inspect

    parameters = list(inspect.signature(function).parameters.values())[1:]
    shown: list[str] = []
    for p in parameters:
        if p.kind is p.KEYWORD_ONLY and not any(s.startswith("*") for s in shown):
            shown.append("*")
        default = "" if p.default is p.empty else f"={p.default!r}"
        star = "*" if p.kind is p.VAR_POSITIONAL else "**" if p.kind is p.VAR_KEYWORD else ""
        shown.append(f"{star}{p.name}{default}")
    return f"({', '.join(shown)})"


def _parents(down: str | Sequence[str] | None) -> tuple[str, ...]:
    return () if down is None else (down,) if isinstance(down, str) else tuple(down)


def _shape(engine: sa.Engine) -> dict[str, dict[str, str]]:
    """Each application table's columns and their types: enough to tell revisions apart."""
    inspector = sa.inspect(engine)
    return {
        table: {c["name"]: str(c["type"]) for c in inspector.get_columns(table)}
        for table in inspector.get_table_names() if table != "alembic_version"
    }


@contextlib.contextmanager
def refused_as_sql_error() -> Iterator[None]:
    """PostgreSQL's error report (ERROR, DETAIL, HINT, LINE and caret) as an SQLError,
    instead of a driver traceback."""
    try:
        yield
    except sa.exc.DBAPIError as error:
        report = getattr(error.orig, "pgerror", None) or str(error.orig)
        raise SQLError(report.rstrip()) from None


def _display(thing: object) -> None:
    """In a notebook, every form the thing has (HTML as well as text); elsewhere, print it."""
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:
        print(thing)
        return
    if get_ipython() is None:
        print(thing)
    else:
        display(thing)


def _shown(result: Result) -> Result:
    print(result)
    return _Quiet(result)


class Background:
    """A migration running in the background (``migration = lab.start("upgrade head")``)."""

    def __init__(self, lab: Lab, migration: scenarios.Migration) -> None:
        self.lab, self.migration = lab, migration

    def __repr__(self) -> str:
        return f"<alembic {self.migration.args}, in the background>"

    def wait_until_blocked(self, timeout: float = 20.0) -> None:
        """Return once the migration waits on a lock, saying who blocks it."""
        print(self.migration.wait_until_blocked(self.lab.engine, timeout))

    def finish(self, timeout: float = 60.0) -> Result:
        """Wait for it to end, and print its output as a terminal would have."""
        return _shown(self.migration.finish(timeout))


class _QuietList(list):
    """A list that a notebook does not show a second time."""

    def _ipython_display_(self) -> None:
        pass


class _QuietDiff(SchemaDiff):
    """The changes, which a notebook does not show a second time."""

    def _ipython_display_(self) -> None:
        pass


class _Quiet(Result):
    """The result, which a notebook does not echo a second time."""

    def __init__(self, result: Result) -> None:
        super().__init__(result.command, result.output, result.exit_code)

    def _ipython_display_(self) -> None:
        pass


# -- %%lab_file --------------------------------------------------------------------

def lab_file(line: str, cell: str) -> None:
    """%%lab_file [--lab NAME] PATH: write the cell to PATH in the lab's scratch copy."""
    from IPython import get_ipython

    parser = _LabFileArguments(prog="%%lab_file", add_help=False)
    parser.add_argument("--lab", default="lab")
    parser.add_argument("path")
    try:
        args = parser.parse_args(shlex.split(line))
    except ValueError:  # shlex: an unclosed quote
        parser.error("a quote is not closed")
    lab = get_ipython().user_ns.get(args.lab)
    if lab is None or not hasattr(lab, "write"):
        raise LabError(f"%%lab_file: no lab named {args.lab!r} in this notebook; create it first")
    lab.write(args.path, cell)


class _LabFileArguments(argparse.ArgumentParser):
    """argparse that reports a mistake as one LabError line instead of usage and exit."""

    def error(self, message: str):
        raise LabError(
            f"%%lab_file: {message}; write it as %%lab_file [--lab NAME] PATH, "
            "e.g. %%lab_file app/api/users/models.py"
        )


def changes(relative: str, before: str | None, after: str) -> str:
    """What writing AFTER over BEFORE did, in a few lines."""
    if before is None:
        count = len(after.splitlines())
        return f"wrote {relative} ({count} line{'' if count == 1 else 's'})"
    if before == after:
        return f"{relative}: unchanged"
    diff = difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=0)
    # A revision's "Create Date:" is when alembic generated it: filling the file in
    # keeps its meaning, so that line is not shown as a change.
    lines = [line for line in diff
             if not line.startswith(("---", "+++", "@@")) and not line[1:].startswith("Create Date:")]
    return f"changed {relative}:\n" + "\n".join(lines)


def register_magics() -> None:
    """Register %%lab_file in the running IPython, if any."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is not None:
        shell.register_magic_function(lab_file, magic_kind="cell", magic_name="lab_file")
