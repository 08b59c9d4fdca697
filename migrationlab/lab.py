"""The notebook's handle: a fresh database plus the project, with commands that print
what a terminal would show."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import sqlalchemy as sa

from migrationlab.display import describe_table, format_rows, table_names
from migrationlab.errors import LabError, SQLError, install_notebook_handler
from migrationlab.infra.sandbox import Sandbox, sandbox
from migrationlab.project import Project, Result


class Lab:
    """A learner's workspace.

    Example (a notebook's first cell)::

        from migrationlab import Lab
        lab = Lab()                      # fresh database; the repository's migrations
        lab.alembic("upgrade head")      # $ alembic upgrade head ... (real output)
        lab.schema("users")

    ``Lab(scratch=True)`` works on a scratch copy of app/, alembic/ and alembic.ini,
    for lessons that edit models or create revision files.
    """

    def __init__(self, *, scratch: bool = False) -> None:
        install_notebook_handler()
        self.db = sandbox()
        self.project = Project.scratch() if scratch else Project.repo()

    @property
    def engine(self) -> sa.Engine:
        return self.db.engine

    # -- commands, shown as typed ------------------------------------------------
    def alembic(self, args: str, *, in_process: bool | None = None, check: bool = False) -> Result:
        """Run `alembic ARGS` and print it as a terminal would. With ``check=True`` a
        failed command raises a LabError, so an experiment stops at the first failure."""
        result = _shown(self.project.alembic(args, self.db.url, in_process=in_process))
        if check and not result.ok:
            raise LabError(f"`{result.command}` failed (exit code {result.exit_code}); see its output above")
        return result

    def shell(self, command: str) -> Result:
        """Run a shell command at the project root and print it as a terminal would."""
        return _shown(self.project.shell(command, self.db.url))

    # -- looking at the database -------------------------------------------------
    def sql(self, statement: str, **params: object) -> None:
        """Run SQL and print the rows of a query (or the count of rows changed).
        Use `query` to get the rows as values. PostgreSQL's refusal is an SQLError,
        shown as psql shows it."""
        with self.engine.begin() as conn, refused_as_sql_error():
            result = conn.execute(sa.text(statement), params)
            if not result.returns_rows:
                count = result.rowcount
                # DDL has no row count: show its tag (CREATE TABLE), as psql does.
                print(f"{count} row{'' if count == 1 else 's'} affected" if count >= 0
                      else result.context.cursor.statusmessage)
                return
            print(format_rows(list(result.keys()), [tuple(row) for row in result]))

    def query(self, statement: str, **params: object) -> list[tuple]:
        """Run a query and return its rows without printing."""
        with self.engine.begin() as conn, refused_as_sql_error():
            return [tuple(row) for row in conn.execute(sa.text(statement), params)]

    def tables(self) -> None:
        """Print the tables in the database."""
        names = table_names(self.engine)
        print("tables: " + (", ".join(names) if names else "(none)"))

    def schema(self, *tables: str) -> None:
        """Print the schema of the given tables (all application tables by default)."""
        names = tables or [n for n in table_names(self.engine) if n != "alembic_version"]
        if not names:
            print("(no tables)")
        print("\n\n".join(describe_table(self.engine, name) for name in names))

    def version(self) -> str | None:
        """Print and return what the alembic_version table holds."""
        if "alembic_version" not in table_names(self.engine):
            print("alembic_version: (no such table: never migrated)")
            return None
        rows = self.query("select version_num from alembic_version order by 1")
        print(f"alembic_version: {', '.join(r[0] for r in rows) or '(empty)'}")
        return rows[0][0] if len(rows) == 1 else None

    def schema_revision(self) -> str | None:
        """The revision whose tables and columns this database has now, whatever its
        alembic_version row says: each revision of the project is built on a fresh
        database and compared. "base" for no application table; None if none matches."""
        mine = _shape(self.engine)
        if not mine:
            return "base"
        script = self.project.script()
        for revision in reversed(list(script.walk_revisions())):
            with Sandbox.create(self.db.server_url) as built:
                if not self.project.alembic(f"upgrade {revision.revision}", built.url).ok:
                    continue
                if _shape(built.engine) == mine:
                    return revision.revision
        return None

    # -- files of the project ----------------------------------------------------
    def show(self, relative: str) -> None:
        """Print a file of the project."""
        print(f"# {relative}\n" + self.project.path(relative).read_text().rstrip("\n"))

    def edit(self, relative: str, old: str, new: str) -> None:
        """Replace OLD with NEW in a file of the scratch copy (exactly once)."""
        path = self._writable(relative)
        text = path.read_text()
        if text.count(old) != 1:
            raise LabError(
                f"{relative}: the text to replace appears {text.count(old)} times, not once; "
                "give a longer, unique piece"
            )
        path.write_text(text.replace(old, new))
        print(f"edited {relative}")

    def write(self, relative: str, text: str) -> None:
        """Create or overwrite a file of the scratch copy."""
        path = self._writable(relative)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        print(f"wrote {relative}")

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

    def close(self) -> None:
        """Drop the database and remove the scratch copy (also done at exit)."""
        self.project.close()
        self.db.close()


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


def _shown(result: Result) -> Result:
    print(result)
    return _Quiet(result)


class _Quiet(Result):
    """The result, which a notebook does not echo a second time."""

    def __init__(self, result: Result) -> None:
        super().__init__(result.command, result.output, result.exit_code)

    def _ipython_display_(self) -> None:
        pass
