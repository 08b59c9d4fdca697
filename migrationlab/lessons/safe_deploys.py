"""15_Safe_Deploys: app replicas that each run `alembic upgrade head` at start-up, made to
meet at the same moment on every run, and the exercise checks.

In a notebook::

    from migrationlab.lessons import safe_deploys as lesson
    one = lesson.replica(lab, "replica 1", pause=True)   # held just before its COMMIT
    one.wait_at_commit()
    two = lesson.replica(lab, "replica 2")
    two.wait_until_blocked()                              # or until it has ended
    one.release()
    one.finish()
    two.finish()

A replica is `alembic upgrade head` in a process of its own, as an app's start-up
command runs it, named in pg_stat_activity ("replica 1"), so `lab.locks()` names it.
Two replicas started together race for a few milliseconds, and how the race ends
depends on luck. With ``pause=True`` the replica runs this module instead of
``python -m alembic``: alembic's own command line plus a gate. Just before the COMMIT
that follows its first write to alembic_version (the COMMIT that records what it
migrated), it creates the file ``at_commit`` in its gate directory, then waits until
the file ``go`` appears there. The second replica starts while the first is held, so
the race ends the same way on every run.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from migrationlab.errors import LabError
from migrationlab.lessons import Verdict, not_yet, verdict

if TYPE_CHECKING:
    import sqlalchemy as sa
    from sqlalchemy.engine import URL

    from migrationlab.lab import Lab
    from migrationlab.project import Project, Result

GATE = "MIGRATIONLAB_GATE"  # names the gate directory of a held replica
NAMED = "lab: "  # the kit's prefix for the application_name of its sessions
# A statement that records a revision: the COMMIT after the first one is where a held
# replica stops.
RECORDS_A_REVISION = re.compile(r"\s*(INSERT INTO|UPDATE|DELETE FROM) alembic_version\b", re.I)
# Left out of this lesson's lint, as notebook 11's .squawk.toml does: env.py limits how
# long a migration waits for a lock, not how long its work takes.
NOT_LINTED = "require-statement-timeout"


# -- in the replica's own process -------------------------------------------------------

def _install_gate(gate: Path, timeout: float = 600.0) -> None:
    """Stop before the first COMMIT that follows a write to alembic_version until GATE/go
    exists (at most TIMEOUT seconds; then the replica fails and its transaction rolls
    back, so a forgotten replica never waits for ever)."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    state = {"armed": False, "done": False}

    @event.listens_for(Engine, "before_cursor_execute")
    def _watch(conn, cursor, statement, parameters, context, executemany) -> None:  # noqa: ARG001
        if RECORDS_A_REVISION.match(statement):
            state["armed"] = True

    @event.listens_for(Engine, "commit")
    def _hold(conn) -> None:  # noqa: ARG001
        if not state["armed"] or state["done"]:
            return
        state["done"] = True
        (gate / "at_commit").touch()
        deadline = time.monotonic() + timeout
        while not (gate / "go").exists():
            if time.monotonic() > deadline:
                raise TimeoutError("nobody opened the gate")
            time.sleep(0.005)


def _main(argv: list[str]) -> None:
    """`alembic ARGV`, held before its COMMIT when the environment names a gate."""
    gate = os.environ.get(GATE)
    if gate:
        _install_gate(Path(gate))
    from alembic.config import main

    main(argv=argv, prog="alembic")


# -- in the notebook -------------------------------------------------------------------

class Replica:
    """`alembic ARGS` in a process of its own, named NAME in pg_stat_activity; with PAUSE,
    held just before the COMMIT that records its migrations, until ``release()``."""

    def __init__(self, project: Project, url: URL, engine: sa.Engine, name: str, *,
                 pause: bool = False, args: str = "upgrade head", quiet: bool = False) -> None:
        from migrationlab.infra.ownership import new_owned_dir

        self.project, self.url, self.engine, self.name = project, url, engine, name
        self.args, self.quiet = args, quiet
        self.waited: bool | None = None  # set by wait_until_blocked
        self.result: Result | None = None  # set by finish
        self.gate = new_owned_dir("gate") if pause else None
        env = {**project.command_environment(url), "PGAPPNAME": NAMED + name}
        module = "alembic"
        if self.gate is not None:
            env[GATE] = str(self.gate)
            module = __name__  # this module: alembic's command line, and the gate
        self.process = subprocess.Popen(
            [sys.executable, "-m", module, *args.split()], cwd=project.root, env=env,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        self._output: list[str] = []
        stdout = self.process.stdout
        assert stdout is not None  # stdout=PIPE
        self._reader = threading.Thread(target=lambda: self._output.append(stdout.read()), daemon=True)
        self._reader.start()
        self._say(f"{name}: $ alembic {args}" + ("   (to be held before its COMMIT)" if pause else ""))

    def __repr__(self) -> str:
        return f"<{self.name}: alembic {self.args}>"

    def _say(self, line: str) -> None:
        if not self.quiet:
            print(line)

    def wait_at_commit(self, timeout: float = 30.0) -> None:
        """Return once the replica has done its work and is held before its COMMIT."""
        if self.gate is None:
            raise LabError(f"{self.name} was started without pause=True: it is never held")
        deadline = time.monotonic() + timeout
        while not (self.gate / "at_commit").exists():
            if self.process.poll() is not None:
                self._reader.join(5)
                last = self.project.tidy(self._text(), self.url).strip().splitlines()[-1:]
                raise LabError(f"{self.name} ended before its COMMIT: {''.join(last) or 'no output'}")
            if time.monotonic() > deadline:
                raise LabError(f"{self.name} did not reach its COMMIT within {timeout:g} s")
            time.sleep(0.005)
        self._say(f"{self.name}: migrated, not committed yet: held just before its COMMIT")

    def wait_until_blocked(self, timeout: float = 30.0) -> None:
        """Return once the replica waits for a lock (saying which, and who holds it), or
        once it has ended without waiting; ``waited`` tells which."""
        import sqlalchemy as sa

        query = sa.text(
            "select a.wait_event, array(select b.application_name from pg_stat_activity b "
            "where b.pid = any(pg_blocking_pids(a.pid)) order by 1) "
            "from pg_stat_activity a where a.datname = current_database() "
            "and a.application_name = :name and a.wait_event_type = 'Lock'")
        deadline = time.monotonic() + timeout
        # This database's replica only: a notebook beside this one names its replicas alike.
        # Autocommit: within one transaction, pg_stat_activity would show one snapshot.
        with self.engine.execution_options(isolation_level="AUTOCOMMIT").connect() as conn:
            while time.monotonic() < deadline:
                row = conn.execute(query, {"name": NAMED + self.name}).first()
                if row is not None:
                    holders = ", ".join(name.removeprefix(NAMED) for name in row[1]) or "nobody"
                    self._say(f"{self.name} waits for a lock ({row[0]}), held by {holders}")
                    self.waited = True
                    return
                if self.process.poll() is not None:
                    self._say(f"{self.name} did not wait: it has ended already "
                              f"(exit code {self.process.returncode})")
                    self.waited = False
                    return
                time.sleep(0.005)
        raise LabError(f"{self.name} neither waited for a lock nor ended within {timeout:g} s")

    def release(self) -> None:
        """Let a held replica go on: it commits."""
        if self.gate is None:
            raise LabError(f"{self.name} was started without pause=True: it is never held")
        (self.gate / "go").touch()
        self._say(f"{self.name}: COMMIT")

    def finish(self, timeout: float = 60.0) -> None:
        """Wait for the replica to end, and print what it printed, as its log shows it
        (kept as ``result``)."""
        from migrationlab.project import Result

        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            code = self.process.wait()
        self._reader.join(5)
        self._remove_gate()
        self.result = Result(f"alembic {self.args}", self.project.tidy(self._text(), self.url), code)
        self._say(f"{self.name}: {self.result}\n{self.name}: exit code {code}")

    def stop(self) -> None:
        """End the replica now if it still runs (its transaction rolls back)."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self._remove_gate()

    def _remove_gate(self) -> None:
        if self.gate is not None:
            shutil.rmtree(self.gate, ignore_errors=True)

    def _text(self) -> str:
        return "".join(self._output)


def replica(lab: Lab, name: str, *, pause: bool = False, args: str = "upgrade head") -> Replica:
    """Start `alembic ARGS` (`upgrade head`) as one more replica of the app would, on LAB's
    database and files; with PAUSE, held just before the COMMIT of its migrations."""
    return Replica(lab.project, lab.db.url, lab.engine, name, pause=pause, args=args)


# -- exercises ----------------------------------------------------------------------------

def _last_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[-1] if lines else "no output"


def exercise_1(lab: Lab) -> Verdict:
    """Revision 004 still builds its index CONCURRENTLY, and squawk finds nothing in the
    SQL a database at 003 runs."""
    if "004" not in {revision.revision for revision in lab.project.script().walk_revisions()}:
        return not_yet("lab's files have no revision 004; write it as the section on "
                       "autocommit_block() does",
                       ko="lab의 파일에 리비전 004가 없습니다. autocommit_block()을 다루는 절에서처럼 "
                       "작성하세요")
    try:
        sql = lab.project.render_sql("upgrade 003:head", lab.db.url)
    except LabError as error:
        return not_yet(str(error), ko=f"SQL을 만들지 못했습니다: {error}")
    if "CREATE INDEX CONCURRENTLY" not in sql:
        return not_yet("004 no longer builds its index CONCURRENTLY; keep the index, built "
                       "without blocking writes",
                       ko="004가 더 이상 인덱스를 CONCURRENTLY로 만들지 않습니다. 쓰기를 막지 않고 "
                       "만드는 인덱스를 그대로 두세요")
    findings = lab.project.lint(sql, "release.sql", "--exclude", NOT_LINTED)
    rules = sorted({line.split(": warning: ")[1].split()[0] for line in findings if ": warning: " in line})
    found = ', '.join(rules) or _last_line(chr(10).join(findings))
    return verdict(
        not findings,
        right="squawk finds nothing in what 004 runs, and it still builds the index CONCURRENTLY",
        not_yet=f"squawk finds {found} in "
        "`alembic upgrade 003:head --sql`; see it with lab.shell(\"alembic upgrade 003:head --sql "
        f"> release.sql\") and lab.shell(\"squawk --reporter gcc --exclude {NOT_LINTED} release.sql\")",
        ko=("squawk는 004가 실행하는 SQL에서 아무것도 찾지 못했고, 인덱스는 여전히 CONCURRENTLY로 "
            "만들어집니다",
            f"squawk가 `alembic upgrade 003:head --sql`에서 찾은 문제: {found}. 확인하려면 "
            "다음을 실행하세요: lab.shell(\"alembic upgrade 003:head --sql > release.sql\"), "
            f"lab.shell(\"squawk --reporter gcc --exclude {NOT_LINTED} release.sql\")"),
    )


# The probe: a revision that commits along the way, added after the learner's head.
PROBE = """\
with op.get_context().autocommit_block():
    op.create_index("ix_probe_users_name", "users", ["name"], postgresql_concurrently=True,
                    if_not_exists=True)"""


# The replicas' names as the subject of a Korean sentence (the particle follows the numeral).
SUBJECT_KO = {"replica 1": "레플리카 1이", "replica 2": "레플리카 2가"}


def exercise_2(lab: Lab) -> Verdict:
    """With lab's env.py, two replicas that run a migration with autocommit_block() at
    once both succeed: the second waits for the first, then has nothing to do."""
    from migrationlab.infra.sandbox import Sandbox
    from migrationlab.project import COPIED, Project

    heads = lab.project.heads()
    if len(heads) != 1:
        return not_yet(f"lab's files have {len(heads)} heads; the check needs exactly one",
                       ko=f"lab의 파일에 헤드가 {len(heads)}개 있습니다. 이 검사에는 헤드가 정확히 "
                       "하나여야 합니다")
    probe = Project.scratch()  # lab's files, copied, with one more revision
    db = Sandbox.create(lab.db.server_url)
    replicas: list[Replica] = []
    try:
        for name in COPIED:
            target, source = probe.root / name, lab.project.root / name
            if target.is_dir():
                shutil.rmtree(target)
                shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                shutil.copy2(source, target)
        probe.write_revision("probe", "Index users by name, CONCURRENTLY", parent=heads[0], upgrade=PROBE)
        before = probe.alembic(f"upgrade {heads[0]}", db.url)
        if not before.ok:
            return not_yet(f"with lab's env.py, `alembic upgrade {heads[0]}` fails on a fresh "
                           f"database: {_last_line(before.output)}",
                           ko=f"lab의 env.py로는 새 데이터베이스에서 `alembic upgrade {heads[0]}` "
                           f"실행이 실패합니다: {_last_line(before.output)}")
        one = Replica(probe, db.url, db.engine, "replica 1", pause=True, quiet=True)
        replicas.append(one)
        one.wait_at_commit()
        two = Replica(probe, db.url, db.engine, "replica 2", quiet=True)
        replicas.append(two)
        two.wait_until_blocked()
        one.release()
        one.finish()
        two.finish()
        with db.engine.connect() as conn:
            at = [row[0] for row in conn.exec_driver_sql("select version_num from alembic_version")]
    except LabError as error:
        return not_yet(f"the replicas did not run through: {error}",
                       ko=f"레플리카가 끝까지 실행되지 못했습니다: {error}")
    finally:
        for started in replicas:
            started.stop()
        db.close()
        probe.close()
    for started in (one, two):
        if started.result is not None and not started.result.ok:
            waited = "" if two.waited else ", without waiting for replica 1"
            waited_ko = "" if two.waited else "레플리카 1을 기다리지 않고 "
            return not_yet(
                f"{started.name} failed{waited} ({_last_line(started.result.output)}); a lock that "
                "ends at the first COMMIT does not cover autocommit_block(): take a session-level "
                "lock in env.py (pg_advisory_lock), and release it when the migrations are done",
                ko=f"{SUBJECT_KO[started.name]} {waited_ko}실패했습니다: "
                f"{_last_line(started.result.output)}. 첫 COMMIT에서 끝나는 락은 "
                "autocommit_block()까지 보호하지 못합니다. env.py에서 세션 수준 락"
                "(pg_advisory_lock)을 잡고, 마이그레이션이 끝나면 푸세요")
    return verdict(
        bool(two.waited) and at == ["probe"],
        right="with your env.py the second replica waited for the first, then had nothing to "
        "do, even across autocommit_block()'s COMMIT",
        not_yet=f"both replicas ended well, but the second did not wait for the first, and the "
        f"database is at {', '.join(at) or 'no revision'}",
        ko=("여러분의 env.py에서는 두 번째 레플리카가 첫 번째를 기다린 뒤, 할 일이 없음을 "
            "확인했습니다. autocommit_block()의 COMMIT을 지나서도 락이 유지됩니다",
            "두 레플리카 모두 잘 끝났지만, 두 번째가 첫 번째를 기다리지 않았습니다. 데이터베이스의 "
            f"리비전: {', '.join(at) or '없음'}"),
    )


if __name__ == "__main__":
    _main(sys.argv[1:])
