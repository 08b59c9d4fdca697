"""Tools for what-if experiments: data at scale, fingerprints to compare, and sessions that
hold locks while a migration runs beside them.

    seed(engine, users=1_000_000, posts=1_000_000)   rows made inside PostgreSQL, foreign keys kept
    Fingerprint.take(engine)                         every table's rows, to compare after a change
    Session(engine, "report")                        a named connection, for holding a lock
    Migration(project, url, "upgrade head")          alembic in a process of its own, watched
    locks(engine)                                    who holds and who waits for which lock

Lab has a method for each (``lab.seed``, ``lab.fingerprint`` and ``lab.compare``,
``lab.session``, ``lab.start``, ``lab.locks``). Sessions and migrations are named
(PostgreSQL's application_name), so what they hold and wait for prints the same on
every run, whatever their process ids.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import typing
from collections.abc import Iterator
from dataclasses import dataclass, field
from graphlib import TopologicalSorter
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine

from migrationlab.display import format_rows, read_schema
from migrationlab.errors import LabError, SQLError

if TYPE_CHECKING:
    from migrationlab.project import Project, Result

NAMED = "lab: "  # application_name prefix of the kit's named sessions


# -- data at scale --------------------------------------------------------------------

FOREIGN_KEYS = """
    select c.relname, a.attname, p.relname, pa.attname
    from pg_constraint k
    join pg_class c on c.oid = k.conrelid join pg_class p on p.oid = k.confrelid
    join pg_attribute a on a.attrelid = k.conrelid and a.attnum = k.conkey[1]
    join pg_attribute pa on pa.attrelid = k.confrelid and pa.attnum = k.confkey[1]
    where k.contype = 'f' and c.relnamespace = 'public'::regnamespace
      and cardinality(k.conkey) = 1"""
UNIQUE_COLUMNS = """
    select c.relname, a.attname
    from pg_index x join pg_class c on c.oid = x.indrelid
    join pg_attribute a on a.attrelid = x.indrelid and a.attnum = x.indkey[0]
    where x.indisunique and x.indnatts = 1 and c.relnamespace = 'public'::regnamespace"""


def seed(engine: Engine, counts: dict[str, int]) -> list[tuple[str, int, float]]:
    """Insert COUNTS[table] rows into each table, parents before children, in one
    INSERT ... SELECT over generate_series each (the rows are made inside PostgreSQL).
    A foreign key takes its values from the parent's existing keys; a unique column
    gets a value per row; a column with a default keeps it. Returns (table, rows,
    seconds) in the order they were filled."""
    schema = read_schema(engine)
    unknown = sorted(set(counts) - set(schema.tables))
    if unknown:
        raise LabError(f"no table {', '.join(unknown)} to seed; the tables are: "
                       f"{', '.join(t for t in schema.tables if t != 'alembic_version')}")
    with engine.connect() as conn:
        keys = conn.execute(sa.text(FOREIGN_KEYS)).all()
        unique = {(t, c) for t, c in conn.execute(sa.text(UNIQUE_COLUMNS)).all()}
    parents = {table: {p for t, _, p, _ in keys if t == table and p != table} for table in counts}
    order = [t for t in TopologicalSorter(parents).static_order() if t in counts]
    done = []
    for table in order:
        refs = {column: (parent, key) for t, column, parent, key in keys if t == table}
        statement = _insert(table, schema.tables[table].columns, refs, unique, schema.enums)
        start = time.perf_counter()
        autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")
        with autocommit.connect() as conn:
            base = conn.execute(sa.text(f'select count(*) from "{table}"')).scalar_one()
            try:
                conn.execute(sa.text(statement), {"base": base, "count": counts[table]})
            except sa.exc.DBAPIError as error:
                raise SQLError(getattr(error.orig, "pgerror", None) or str(error.orig)) from None
            conn.exec_driver_sql(f'analyze "{table}"')
        done.append((table, counts[table], time.perf_counter() - start))
    return done


def _insert(table, columns, refs, unique, enums) -> str:
    names: list[str] = []
    values: list[str] = []
    joins: list[str] = []
    for column in columns:
        if column.name in refs:
            parent, key = refs[column.name]
            alias = f"p_{len(joins)}"
            joins.append(f'(select array_agg("{key}" order by "{key}") as ids from "{parent}") {alias}')
            value = f"{alias}.ids[(n - 1) % cardinality({alias}.ids) + 1]"
        elif column.default is not None:
            continue  # serial ids, now(), server defaults: as the app would leave them
        else:
            guessed = _value(column, (table, column.name) in unique, enums)
            if guessed is None:
                if column.not_null:
                    raise LabError(
                        f"cannot seed {table}.{column.name} ({column.type}): give it a default, "
                        "or fill the table with lab.sql"
                    )
                continue
            value = guessed
        names.append(f'"{column.name}"')
        values.append(value)
    source = ", ".join(["generate_series(:base + 1, :base + :count) as n", *joins])
    return f'insert into "{table}" ({", ".join(names)}) select {", ".join(values)} from {source}'


def _value(column, unique: bool, enums) -> str | None:
    """A SQL expression of n (the row's number) for a column of this type."""
    type_ = column.type
    name = column.name.lower()
    if column.enum:
        labels = enums.get(type_, ())
        return f"(enum_range(null::\"{type_}\"))[(n % {len(labels)}) + 1]" if labels else None
    if type_.startswith(("character varying", "text", "character(")):
        limit = type_.split("(")[1].rstrip(")") if "(" in type_ else None
        text = ("'user' || n || '@example.com'" if "email" in name
                else f"'{column.name} ' || n" if unique or "name" in name or "title" in name
                else f"'{column.name} ' || (n % 1000)")
        return f"left({text}, {limit})" if limit else text
    if type_ in ("integer", "bigint", "smallint"):
        return "n" if unique else "(n % 1000)"
    if type_.startswith("numeric") or type_ in ("real", "double precision"):
        return f"((n % 100000) / 100.0)::{type_}"
    if type_ == "boolean":
        return "n % 2 = 0"
    if type_.startswith("timestamp") or type_ == "date":
        return f"(timestamptz '2026-01-01 00:00:00+00' - n * interval '1 minute')::{type_}"
    if type_ == "uuid":
        return "gen_random_uuid()"
    if type_ in ("json", "jsonb"):
        return f"jsonb_build_object('n', n)::{type_}"
    return None


# -- fingerprints -----------------------------------------------------------------------

ROWS_KEPT = 100_000  # rows hashed one by one; a bigger table is hashed in 1,000 buckets


@dataclass
class TablePrint:
    rows: int
    digest: str
    by_key: dict[str, str]  # primary key (as text) -> md5 of the row, or bucket -> md5


@dataclass
class Fingerprint:
    """Every table's rows at one moment, as hashes: enough to say whether the data came
    through a change unharmed, and which rows did not. A row is hashed as JSON (column
    name: value), so a column dropped and added back, now last, is still the same row."""

    tables: dict[str, TablePrint] = field(default_factory=dict)

    @classmethod
    def take(cls, engine: Engine, tables: list[str] | None = None) -> Fingerprint:
        names = tables or [t for t in read_schema(engine).tables if t != "alembic_version"]
        taken = cls()
        with engine.connect() as conn:
            for table in names:
                key = _primary_key(conn, table) or f'"{table}"::text'
                rows = conn.execute(sa.text(f'select count(*) from "{table}"')).scalar_one()
                if rows <= ROWS_KEPT:
                    query = f'select ({key})::text, md5(to_jsonb("{table}")::text) from "{table}"'
                else:
                    query = (f'select (hashtext(({key})::text) & 1023)::text, '
                             f'md5(string_agg(md5(to_jsonb("{table}")::text), \'\' order by ({key})::text)) '
                             f'from "{table}" group by 1')
                by_key: dict[str, str] = {k: v for k, v in conn.execute(sa.text(query)).all()}
                digest = hashlib.md5("".join(f"{k}:{v}" for k, v in sorted(by_key.items())).encode())
                taken.tables[table] = TablePrint(rows, digest.hexdigest(), by_key)
        return taken

    def compare(self, later: Fingerprint) -> Comparison:
        return Comparison.between(self, later)

    def __repr__(self) -> str:
        return f"<fingerprint of {', '.join(f'{t} ({p.rows:,} rows)' for t, p in self.tables.items())}>"


def _primary_key(conn, table: str) -> str | None:
    columns = conn.execute(sa.text(
        "select a.attname from pg_index x join pg_attribute a on a.attrelid = x.indrelid "
        "and a.attnum = any(x.indkey) where x.indrelid = cast(:t as regclass) and x.indisprimary "
        "order by a.attnum"), {"t": f'"{table}"'}).scalars().all()
    return " || ',' || ".join(f'"{c}"::text' for c in columns) or None


@dataclass
class Comparison:
    """What differs between two fingerprints: per table, rows changed, gone and new."""

    lines: list[str] = field(default_factory=list)
    identical: bool = True

    @classmethod
    def between(cls, before: Fingerprint, after: Fingerprint) -> Comparison:
        result = cls()
        for table in sorted(before.tables.keys() | after.tables.keys()):
            old, new = before.tables.get(table), after.tables.get(table)
            if old is None or new is None:
                result.identical = False
                result.lines.append(f"{table}: {'new table' if old is None else 'table gone'}")
                continue
            if old.digest == new.digest:
                result.lines.append(f"{table}: {new.rows:,} rows, identical")
                continue
            result.identical = False
            both = old.by_key.keys() & new.by_key.keys()
            changed = sorted(k for k in both if old.by_key[k] != new.by_key[k])
            gone = sorted(old.by_key.keys() - new.by_key.keys())
            added = sorted(new.by_key.keys() - old.by_key.keys())
            unit = "rows with keys" if old.rows <= ROWS_KEPT and new.rows <= ROWS_KEPT else "buckets"
            parts = [f"{len(keys)} {what} ({_some(keys)})" for keys, what in
                     ((changed, "changed"), (gone, "gone"), (added, "new")) if keys]
            result.lines.append(f"{table}: {old.rows:,} -> {new.rows:,} rows; {unit} " + ", ".join(parts))
        return result

    def __bool__(self) -> bool:
        return self.identical

    def __str__(self) -> str:
        verdict = "identical: yes" if self.identical else "identical: NO, these differ:"
        return "\n".join([verdict, *(f"  {line}" for line in self.lines)])

    def _ipython_display_(self) -> None:
        pass  # lab.compare printed it


def _some(keys: list[str], shown: int = 5) -> str:
    more = f", ... {len(keys) - shown} more" if len(keys) > shown else ""
    return ", ".join(keys[:shown]) + more


# -- sessions and locks -----------------------------------------------------------------

_sessions: set[int] = set()  # backends of open sessions: a migration is never one of them


class Session:
    """A named connection of its own, for holding a transaction (and its locks) open
    while something else runs: an app's request, a report, a second migration.

    ``sql`` runs a statement now; ``start`` runs one in a thread, for a statement that
    will wait on a lock (``wait_until_blocked`` returns once it does); ``finish`` joins
    it and prints what it returned. The transaction stays open until ``commit`` or
    ``rollback``.
    """

    def __init__(self, engine: Engine, name: str) -> None:
        self.name = name
        url = engine.url.update_query_dict({"application_name": NAMED + name})
        self._engine = sa.create_engine(url, poolclass=sa.pool.NullPool, isolation_level="AUTOCOMMIT")
        self.conn = self._engine.connect()
        self.pid = self.conn.exec_driver_sql("select pg_backend_pid()").scalar_one()
        _sessions.add(self.pid)

    def __repr__(self) -> str:
        return f"<session {self.name}>"
        self._thread: threading.Thread | None = None
        self._outcome: list[str] = []

    def sql(self, statement: str) -> None:
        """Run STATEMENT now and print what it returned (BEGIN opens a transaction that
        stays open)."""
        print(f"{self.name}: {statement}")
        print(self._run(statement))

    def start(self, statement: str) -> None:
        """Run STATEMENT in a thread: for one that will wait. See wait_until_blocked/finish."""
        print(f"{self.name}: {statement}  (started)")
        self._outcome = []
        self._thread = threading.Thread(target=lambda: self._outcome.append(self._run(statement)),
                                        daemon=True)
        self._thread.start()

    def wait_until_blocked(self, timeout: float = 10.0) -> None:
        """Return once this session waits on a lock, and say who blocks it."""
        print(waiting_line(self._engine, self.pid, self.name, timeout))

    def finish(self, timeout: float = 30.0) -> None:
        """Wait for the started statement and print what it returned."""
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                raise LabError(f"{self.name}'s statement still waits after {timeout:g} s")
            self._thread = None
        print(f"{self.name}: " + ("\n".join(self._outcome) or "done"))

    def commit(self) -> None:
        """End the session's transaction, keeping what it did (its locks go)."""
        print(f"{self.name}: COMMIT")
        self._run("commit")

    def rollback(self) -> None:
        """End the session's transaction, undoing what it did (its locks go)."""
        print(f"{self.name}: ROLLBACK")
        self._run("rollback")

    def _run(self, statement: str) -> str:
        try:
            result = self.conn.exec_driver_sql(statement)
        except sa.exc.DBAPIError as error:
            return (getattr(error.orig, "pgerror", None) or str(error.orig)).rstrip()
        if result.returns_rows:
            return format_rows(list(result.keys()), [tuple(r) for r in result])
        return result.context.cursor.statusmessage or "done"

    def close(self) -> None:
        """Close the connection (an open transaction is rolled back)."""
        _sessions.discard(self.pid)
        self.conn.close()
        self._engine.dispose()


def waiting_line(engine: Engine, pid: int, name: str, timeout: float) -> str:
    """Poll until backend PID waits on a lock; say which lock and who blocks it."""
    deadline = time.monotonic() + timeout
    with _polling(engine) as conn:
        while time.monotonic() < deadline:
            row = conn.execute(sa.text(
                "select wait_event_type, wait_event, pg_blocking_pids(pid) from pg_stat_activity "
                "where pid = :pid"), {"pid": pid}).first()
            if row is not None and row[0] == "Lock":
                names = _names(conn)
                blockers = ", ".join(sorted(names.get(p, f"session {p}") for p in row[2]))
                return f"{name} waits for a lock ({row[1]}), blocked by {blockers}"
            time.sleep(0.005)
    raise LabError(f"{name} did not wait for a lock within {timeout:g} s")


def _polling(engine: Engine) -> sa.Connection:
    """A connection for polling pg_stat_activity: in autocommit, since within one
    transaction PostgreSQL shows the same snapshot of it every time."""
    return engine.execution_options(isolation_level="AUTOCOMMIT").connect()


def _names(conn) -> dict[int, str]:
    """The kit's named sessions on this database, by backend pid. Only this database's:
    a notebook beside this one, on the same server, names its sessions the same way."""
    rows = conn.execute(sa.text(
        "select pid, application_name from pg_stat_activity "
        "where datname = current_database() and application_name like :p"),
        {"p": NAMED + "%"}).all()
    return {pid: name[len(NAMED):] for pid, name in rows}


LOCKS = """
    select l.pid, l.locktype, coalesce(c.relname, l.locktype), l.mode, l.granted
    from pg_locks l
    left join pg_class c on c.oid = l.relation
    where l.pid = any(:pids)
      and ((c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p'))
           or (not l.granted and l.locktype in ('transactionid', 'virtualxid', 'advisory', 'relation')))"""


def locks(engine: Engine) -> str:
    """The table locks the kit's named sessions (and migrations) hold or wait for, and who
    waits for whom: pg_locks, pg_stat_activity and pg_blocking_pids, with names."""
    with engine.connect() as conn:
        names = _names(conn)
        rows = conn.execute(sa.text(LOCKS), {"pids": list(names)}).all()
        waits = conn.execute(sa.text(
            "select pid, wait_event_type, wait_event, pg_blocking_pids(pid) from pg_stat_activity "
            "where pid = any(:pids)"), {"pids": list(names)}).all()
    table = sorted((names[pid], relation, mode, "yes" if granted else "WAITING")
                   for pid, _, relation, mode, granted in rows)
    out = [format_rows(["session", "table", "lock", "granted"], table)]
    for pid, kind, event, blockers in sorted(waits, key=lambda w: names[w[0]]):
        if kind == "Lock":
            by = ", ".join(sorted(names.get(p, f"session {p}") for p in blockers))
            out.append(f"{names[pid]} waits ({event}), blocked by {by}")
    return "\n".join(out)


# -- a migration in the background ------------------------------------------------------

class Migration:
    """`alembic ARGS` in a process of its own (as a deploy runs it), named "migration" in
    pg_stat_activity, so it can be watched while it runs: ``wait_until_blocked``,
    ``locks``, then ``finish`` prints its output."""

    def __init__(self, project: Project, url: URL, args: str, name: str = "migration") -> None:
        self.name = name
        self.args = args
        self.project = project
        self.url = url
        env = {**project.command_environment(url), "PGAPPNAME": NAMED + name}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "alembic", *args.split()], cwd=project.root, env=env,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        self._output: list[str] = []
        stdout = self.process.stdout
        assert stdout is not None  # stdout=PIPE
        self._reader = threading.Thread(target=lambda: self._output.append(stdout.read()), daemon=True)
        self._reader.start()

    def backend(self, engine: Engine, timeout: float = 20.0) -> int:
        deadline = time.monotonic() + timeout
        with _polling(engine) as conn:
            while time.monotonic() < deadline:
                pid = conn.execute(sa.text(
                    "select pid from pg_stat_activity where datname = current_database() "
                    "and application_name = :n and pid <> all(:open)"),
                    {"n": NAMED + self.name, "open": list(_sessions)}).scalar()
                if pid is not None:
                    return pid
                if self.process.poll() is not None:
                    self._reader.join(5)
                    break
                time.sleep(0.01)
        raise LabError(f"the {self.name} never connected: {self._text() or 'no output'}")

    def wait_until_blocked(self, engine: Engine, timeout: float = 20.0) -> str:
        return waiting_line(engine, self.backend(engine, timeout), self.name, timeout)

    def finish(self, timeout: float = 60.0) -> Result:
        from migrationlab.project import Result

        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait()
        self._reader.join(5)
        return Result(f"alembic {self.args}", self.project.tidy(self._text(), self.url), code)

    def _text(self) -> str:
        return "".join(self._output)


# -- the app, served -------------------------------------------------------------

class Client:
    """Sends requests to the app and prints each one and its response (without
    created_at, which changes every run); ``quiet()`` sends them without printing."""

    def __init__(self, send, log=None) -> None:
        self._send = send
        self._log = log

    def get(self, path: str):
        return self.request("GET", path)

    def post(self, path: str, body: dict):
        return self.request("POST", path, body)

    def patch(self, path: str, body: dict):
        return self.request("PATCH", path, body)

    def delete(self, path: str):
        return self.request("DELETE", path)

    def status(self, method: str, path: str, body: dict | None = None) -> int:
        """Send a request without printing it; its status code (500 when the app raised)."""
        try:
            return self._send(method, path, body).status_code
        except Exception:  # noqa: BLE001 (in-process, the app's own exception)
            return 500

    def log(self) -> str:
        """What the server logged so far (a served app's uvicorn log)."""
        if self._log is None:
            return ""
        self._log.flush()
        self._log.seek(0)
        return self._log.read()

    def request(self, method: str, path: str, body: dict | None = None):
        shown = f" {json.dumps(body, ensure_ascii=False)}" if body is not None else ""
        print(f"> {method} {path}{shown}")
        try:
            response = self._send(method, path, body)
        except Exception as error:  # the server's own error, as its log would show it
            message = str(error).splitlines()[0]
            print(f"< 500 Internal Server Error\n  the app raised {type(error).__name__}: {message}")
            return None
        print(f"< {response.status_code} {response.reason_phrase}")
        if response.content:
            try:
                data = _stable(response.json())
                print("  " + json.dumps(data, ensure_ascii=False))
            except ValueError:
                print("  " + response.text)
        return response

# Fields that differ on every run (the server's clock): left out of printed bodies.
UNSTABLE = ("created_at",)


def _stable(data):
    if isinstance(data, list):
        return [_stable(item) for item in data]
    if isinstance(data, dict):
        return {k: _stable(v) for k, v in data.items() if k not in UNSTABLE}
    return data


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def served(project: Project, url: URL, environment: str = "production",
           name: str = "app") -> Iterator[Client]:
    """Serve PROJECT's app with uvicorn on 127.0.0.1 (a free port), on the database at URL,
    and call it over HTTP; the server stops at the end of the block, whatever happens in it
    (and a watchdog stops it if this process is killed). Its log goes to a file, so a
    noisy server never blocks on a full pipe; `tail` shows it."""
    import httpx

    env = {**project.command_environment(url), "ENVIRONMENT": environment, "PGAPPNAME": NAMED + name}
    print(f"$ ENVIRONMENT={environment} uvicorn app.main:app --host 127.0.0.1 --port <free port>")
    with contextlib.ExitStack() as stack:
        port, log = _start_uvicorn(project.root, env, stack)
        stack.callback(print, "server stopped")
        # Connection: close: after a 500, uvicorn drops the connection, and a kept-alive
        # one would fail the next request for a reason that is not the app's.
        http = stack.enter_context(httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10,
                                                headers={"Connection": "close"}))
        _wait_for_health(http)
        print("serving: uvicorn answers on 127.0.0.1")
        yield Client(lambda m, p, b: http.request(m, p, json=b), log)


def _start_uvicorn(root: Path, env: dict[str, str], stack: contextlib.ExitStack,
                   attempts: int = 5) -> tuple[int, typing.IO[str]]:
    """Start uvicorn on a free port, stopped when STACK closes; its port and its log.
    Another process may take the port between _free_port() and uvicorn's bind (a notebook
    beside this one serving its app, a client's outgoing connection): uvicorn then exits
    saying so, and another port is tried."""
    from migrationlab.infra.watchdog import watch

    for _ in range(attempts):
        port = _free_port()
        command = [sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1",
                   "--port", str(port), "--log-level", "warning"]
        with contextlib.ExitStack() as attempt:
            # Append mode: uvicorn's writes always land at the end, even after Client.log() reads.
            log = attempt.enter_context(tempfile.TemporaryFile("a+"))
            process = subprocess.Popen(command, cwd=root, env=env, stdin=subprocess.DEVNULL,
                                       stdout=log, stderr=subprocess.STDOUT, text=True)
            watchdog = watch(process=process.pid)
            attempt.callback(watchdog.wait)
            attempt.callback(watchdog.kill)  # the server is gone: nothing left to watch
            attempt.callback(_stop, process)
            if _listens(process, port, log):
                stack.push(attempt.pop_all())
                return port, log
    raise LabError(f"uvicorn found no free port in {attempts} tries; "
                   "stop what is serving on 127.0.0.1, then run this cell again")


def _listens(process: subprocess.Popen, port: int, log: typing.IO[str], timeout: float = 20.0) -> bool:
    """Wait until PROCESS listens on PORT (True), or exits because the port was taken
    (False); raise if it exits for another reason or takes longer than TIMEOUT."""
    import psutil

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log.seek(0)
            said = log.read()
            if "already in use" in said or "10048" in said:  # 10048: Windows' EADDRINUSE
                return False
            last = [line for line in said.splitlines() if line.strip()][-1:]
            raise LabError(f"uvicorn exited before answering: {''.join(last) or 'no output'}")
        with contextlib.suppress(psutil.Error):
            if any(c.status == psutil.CONN_LISTEN and c.laddr.port == port
                   for c in psutil.Process(process.pid).net_connections("tcp")):
                return True
        time.sleep(0.05)
    raise LabError(f"uvicorn did not answer within {timeout:.0f} s")


def _wait_for_health(http, timeout: float = 20.0) -> None:
    """Wait until the app answers /health (uvicorn listens once its startup has run)."""
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            http.get("/health")
            return
        except httpx.TransportError:
            time.sleep(0.05)
    raise LabError(f"uvicorn did not answer within {timeout:.0f} s")


def _stop(process: subprocess.Popen) -> None:
    """Terminate PROCESS, and kill it if it takes more than 10 s."""
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


# -- what one statement costs ---------------------------------------------------------

# Lock modes from weakest to strongest (PostgreSQL's own order).
MODES = ["AccessShareLock", "RowShareLock", "RowExclusiveLock", "ShareUpdateExclusiveLock", "ShareLock",
         "ShareRowExclusiveLock", "ExclusiveLock", "AccessExclusiveLock"]
# PostgreSQL says, at DEBUG1, when it rewrites or scans a table to check a constraint.
TELLS = ("rewriting table", "verifying table", "existing constraints on column", "building index")


@dataclass
class Measurement:
    statement: str
    locks: dict[str, str]  # table -> the strongest lock the statement took on it
    rewrote: list[str]  # tables whose files were replaced (a full rewrite)
    said: list[str]  # PostgreSQL's DEBUG1 messages about rewriting or scanning
    seconds: float
    kept: bool
    outside: bool = False  # ran in autocommit (CREATE INDEX CONCURRENTLY)

    def _ipython_display_(self) -> None:
        pass  # lab.measure printed it

    def __str__(self) -> str:
        held = ", ".join(f"{mode} on {table}" for table, mode in sorted(self.locks.items()))
        if not held:
            held = "none left when it returned (it ran outside a transaction)" if self.outside else "none"
        lines = [self.statement, f"  lock:      {held}",
                 f"  rewrote:   {', '.join(self.rewrote) or 'no table'}",
                 f"  says:      {'; '.join(self.said) or '-'}",
                 f"  took:      {_duration(self.seconds)}" + ("" if self.kept else " (then rolled back)")]
        return "\n".join(lines)


def _duration(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms" if seconds < 0.01 else f"{seconds * 1000:.0f} ms"


def measure(engine: Engine, statement: str, keep: bool = False) -> Measurement:
    """Run STATEMENT in a transaction of its own and report what it cost: the strongest
    lock it took on each table (held until the transaction ends), whether it rewrote a
    table (its files replaced), what PostgreSQL says it did (its DEBUG1 messages:
    rewriting, verifying, building an index), and how
    long it took. Rolled back unless KEEP. A statement that cannot run in a transaction
    (CREATE INDEX CONCURRENTLY) runs in autocommit: its locks are gone when it returns."""
    concurrently = "concurrently" in statement.lower()
    proxied = engine.raw_connection()
    raw = proxied.driver_connection  # psycopg2's own: it keeps the server's notices
    assert raw is not None
    try:
        raw.autocommit = concurrently
        cursor = raw.cursor()
        cursor.execute("select relname, pg_relation_filenode(oid) from pg_class "
                       "where relnamespace = 'public'::regnamespace and relkind = 'r'")
        before = dict(cursor.fetchall())
        cursor.execute("set client_min_messages = debug1")
        raw.notices.clear()
        start = time.perf_counter()
        try:
            cursor.execute(statement)
        except Exception as error:
            raw.rollback()
            raise SQLError((getattr(error, "pgerror", None) or str(error)).rstrip()) from None
        seconds = time.perf_counter() - start
        said = sorted({_plain(n) for n in raw.notices if any(t in n for t in TELLS) and "pg_toast" not in n})
        cursor.execute("set client_min_messages = notice")
        cursor.execute(
            "select c.relname, l.mode from pg_locks l join pg_class c on c.oid = l.relation "
            "where l.pid = pg_backend_pid() and c.relnamespace = 'public'::regnamespace and c.relkind = 'r'")
        locks: dict[str, str] = {}
        for table, mode in cursor.fetchall():
            if table not in locks or MODES.index(mode) > MODES.index(locks[table]):
                locks[table] = mode
        cursor.execute("select relname, pg_relation_filenode(oid) from pg_class "
                       "where relnamespace = 'public'::regnamespace and relkind = 'r'")
        rewrote = sorted(t for t, node in cursor.fetchall() if t in before and before[t] != node)
        if not concurrently:
            raw.commit() if keep else raw.rollback()
        return Measurement(statement, locks, rewrote, said, seconds, keep or concurrently, concurrently)
    finally:
        proxied.close()


def _plain(notice: str) -> str:
    """A DEBUG1 message without its level, and without what varies by machine (how many
    parallel workers an index build asked for)."""
    message = notice.split(":  ", 1)[-1].strip()
    return re.sub(r" (with request for \d+ parallel workers?|serially)$", "", message)
