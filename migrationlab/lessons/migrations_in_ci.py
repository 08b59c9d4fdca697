"""11_Migrations_in_CI: the checks a CI pipeline runs on a project's migrations, run here
as a pipeline would, and the exercise checks.

In a notebook::

    from migrationlab.lessons import migrations_in_ci as lesson
    lesson.run_checks(lab)   # one line per check, PASS / FAIL / SKIP, then the verdict

The checks, in the order a pipeline runs them:

1. one head                 ``alembic heads`` prints exactly one revision
2. upgrade from empty       ``alembic upgrade head`` on a brand-new database
3. round trip               ``alembic downgrade base`` leaves nothing behind but
                            ``alembic_version``, and ``alembic upgrade head`` works again
4. models match migrations  ``alembic check``: "No new upgrade operations detected."
5. lint                     ``alembic upgrade base:head --sql`` rendered, and squawk (with the
                            project's .squawk.toml, if any) finds nothing in it

Every run takes a brand-new database on the lab's server, as a CI job gets a
fresh PostgreSQL service, and drops it after: the learner's own database is
never touched. The project (the repository, or the lab's scratch copy) is the
lab's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import sqlalchemy as sa

from migrationlab.display import table_names
from migrationlab.infra.sandbox import Sandbox
from migrationlab.lab import Lab
from migrationlab.lessons import Verdict, verdict
from migrationlab.project import Project, Result

NO_CHANGES = "No new upgrade operations detected."
LINT = "alembic upgrade base:head --sql, squawk"


@dataclass
class Check:
    name: str
    command: str
    status: str  # PASS, FAIL or SKIP
    detail: str

    def __str__(self) -> str:
        return f"{self.status}  {self.name} ({self.command}): {self.detail}"


@dataclass
class PipelineResult:
    """What a pipeline run found; true when every check passed."""

    checks: list[Check] = field(default_factory=list)
    # The columns of each table at head after the round trip (empty if it never got there).
    columns: dict[str, list[str]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(c.status == "PASS" for c in self.checks)

    def status(self, name: str) -> str:
        return next(c.status for c in self.checks if c.name == name)

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        passed = sum(c.status == "PASS" for c in self.checks)
        verdict = "PASSED" if self.ok else "FAILED"
        lines = [str(c) for c in self.checks]
        return "\n".join([*lines, f"pipeline {verdict}: {passed} of {len(self.checks)} checks passed"])

    def _ipython_display_(self) -> None:
        pass  # the run printed itself


def run_checks(lab: Lab, *, quiet: bool = False) -> PipelineResult:
    """Run the five checks on the lab's project and a brand-new database; print one
    line per check (unless quiet) and return the result."""
    db = Sandbox.create(lab.db.server_url)
    try:
        result = _run(lab.project, db)
    finally:
        db.close()
    if not quiet:
        print(result)
    return result


def _run(project: Project, db: Sandbox) -> PipelineResult:
    def alembic(args: str) -> Result:
        return project.alembic(args, db.url)

    result = PipelineResult()
    add = lambda *a: result.checks.append(Check(*a))  # noqa: E731

    # 1. one head
    heads = alembic("heads")
    found = [line.split()[0] for line in heads.output.splitlines() if line.endswith("(head)")]
    if not heads.ok:
        add("one head", "alembic heads", "FAIL", reason(heads.output))
    elif len(found) == 1:
        add("one head", "alembic heads", "PASS", found[0])
    else:
        add("one head", "alembic heads", "FAIL", f"{len(found)} heads ({', '.join(found)})")

    # 2. upgrade from empty
    up = alembic("upgrade head")
    at = _version(db) if up.ok else None
    if up.ok:
        add("upgrade from empty", "alembic upgrade head", "PASS", f"base -> {at}")
    else:
        add("upgrade from empty", "alembic upgrade head", "FAIL", reason(up.output))

    # 3. round trip
    command = "alembic downgrade base, alembic upgrade head"
    if not up.ok:
        add("round trip", command, "SKIP", "needs upgrade from empty to pass")
    else:
        down = alembic("downgrade base")
        left = _left_behind(db)
        if not down.ok:
            add("round trip", command, "FAIL", reason(down.output))
        elif left:
            add("round trip", command, "FAIL", "downgrade base left behind " + ", ".join(left))
        else:
            again = alembic("upgrade head")
            if again.ok:
                result.columns = _columns(db)
                add("round trip", command, "PASS", f"{at} -> base -> {_version(db)}, nothing left behind")
            else:
                add("round trip", command, "FAIL", "upgrade after downgrade: " + reason(again.output))

    # 4. models match migrations
    if result.checks[-1].status != "PASS":
        add("models match migrations", "alembic check", "SKIP", "needs the database at head")
    else:
        check = alembic("check")
        if check.ok and NO_CHANGES in check.output:
            add("models match migrations", "alembic check", "PASS", NO_CHANGES)
        else:
            add("models match migrations", "alembic check", "FAIL", _changes(check.output))

    # 5. lint
    if result.checks[0].status != "PASS":
        add("lint", LINT, "SKIP", "needs one head")
    else:
        rendered = alembic("upgrade base:head --sql")
        if not rendered.ok:
            add("lint", LINT, "FAIL", reason(rendered.output))
        else:
            sql = project.render_sql("upgrade base:head", db.url)
            findings = project.lint(sql, "migrations.sql")
            if findings:
                add("lint", LINT, "FAIL", "; ".join(_finding(line, sql) for line in findings))
            else:
                add("lint", LINT, "PASS", "squawk found nothing")
    return result


def _finding(line: str, sql: str) -> str:
    """'rule in REVISION (migrations.sql:LINE:COLUMN)' for one of squawk's gcc lines
    (its line numbers count from 0)."""
    match = re.match(r"migrations\.sql:(\d+):(\d+): \w+: (\S+)", line)
    if match is None:
        return line
    number, rule = int(match.group(1)), match.group(3)
    revision = "the alembic_version table"
    for text in sql.splitlines()[: number + 1]:
        marker = re.match(r"-- Running upgrade .*-> (\S+)", text)
        if marker:
            revision = marker.group(1)
    return f"{rule} in {revision} (migrations.sql:{match.group(1)}:{match.group(2)})"


def reason(output: str) -> str:
    """The one line of a failed command's output that says why."""
    lines = output.splitlines()
    for line in lines:
        if line.startswith("FAILED: "):
            return line[len("FAILED: "):].split("; ")[0]
    errors = [line for line in lines if re.match(r"^[\w.]+(Error|Exception)\b", line)]
    if errors:
        return re.sub(r"^[\w.]+: ", "", errors[-1], count=1)
    return lines[-1] if lines else "failed without output"


def _changes(output: str) -> str:
    """What `alembic check` found: its 'Detected ...' lines, shortened."""
    found = [
        line.split("Detected ", 1)[1]
        for line in output.splitlines()
        if "] Detected " in line and "Detected sequence named" not in line
    ]
    if found:
        return "New upgrade operations detected: " + "; ".join(found)
    return reason(output)


def _version(db: Sandbox) -> str:
    with db.engine.connect() as conn:
        rows = conn.exec_driver_sql("select version_num from alembic_version").all()
    return ", ".join(r[0] for r in rows) or "base"


def _columns(db: Sandbox) -> dict[str, list[str]]:
    inspector = sa.inspect(db.engine)
    return {t: [c["name"] for c in inspector.get_columns(t)] for t in inspector.get_table_names()}


def _left_behind(db: Sandbox) -> list[str]:
    """Tables (other than alembic_version) and enum types still in the database."""
    tables = [f"table {t}" for t in table_names(db.engine) if t != "alembic_version"]
    with db.engine.connect() as conn:
        types = conn.execute(
            sa.text(
                "select t.typname from pg_type t join pg_namespace n on n.oid = t.typnamespace "
                "where n.nspname = 'public' and t.typtype = 'e' order by 1"
            )
        ).scalars()
        return tables + [f"type {t}" for t in types]


# -- exercises -----------------------------------------------------------------------

def _failed(result) -> str:
    return "; ".join(f"{c.name}: {c.detail}" for c in result.checks if c.status == "FAIL")


def exercise_1(lab: Lab) -> Verdict:
    """One head again, with both 004 and 007 still in its history, and the pipeline green."""
    script = lab.project.script()
    heads = script.get_heads()
    if len(heads) != 1:
        return verdict(
            False, right="",
            not_yet=f"{len(heads)} heads ({', '.join(sorted(heads))}); merge them in the scratch copy: "
            'alembic merge heads -m "Merge lowercase emails" --rev-id 008',
            ko=("", f"헤드가 {len(heads)}개입니다({', '.join(sorted(heads))}). 스크래치 사본에서 병합하세요: "
                'alembic merge heads -m "Merge lowercase emails" --rev-id 008'),
        )
    history = {rev.revision for rev in script.iterate_revisions(heads[0], "base")}
    lost = sorted({"004", "007"} - history)
    if lost:
        return verdict(
            False, right="",
            not_yet=f"one head, but revision {', '.join(lost)} is no longer in its history: "
            "both developers' work must reach the head",
            ko=("", f"헤드는 하나지만 그 히스토리에서 빠진 리비전이 있습니다: {', '.join(lost)}. "
                "두 개발자의 작업이 모두 헤드까지 이어져야 합니다"),
        )
    result = run_checks(lab, quiet=True)
    return verdict(
        result.ok,
        right=f"one head ({heads[0]}) with 004 and 007 both in its history, and every check passes",
        not_yet="one head, but the pipeline fails: " + _failed(result),
        ko=(
            f"헤드가 하나({heads[0]})이고 그 히스토리에 004와 007이 모두 있으며, 모든 검사를 통과합니다",
            "헤드는 하나지만 파이프라인이 실패합니다: " + _failed(result),
        ),
    )


def exercise_2(lab: Lab) -> Verdict:
    """users.bio in the scratch database, from a migration, and the pipeline green."""
    columns = {
        row[0]
        for row in lab.query(
            "select column_name from information_schema.columns where table_name = 'users'"
        )
    }
    if "bio" not in columns:
        return verdict(
            False, right="",
            not_yet="the scratch database has no users.bio column; add the field to the model, "
            "generate its migration (alembic revision --autogenerate, with a --rev-id), "
            "then alembic upgrade head",
            ko=("", "스크래치 데이터베이스에 users.bio 컬럼이 없습니다. 모델에 필드를 추가하고, "
                "그 마이그레이션을 생성한 다음(--rev-id를 붙여 alembic revision --autogenerate), "
                "alembic upgrade head를 실행하세요"),
        )
    result = run_checks(lab, quiet=True)
    if result.ok and "bio" not in result.columns.get("users", []):
        return verdict(
            False, right="",
            not_yet="users.bio is in your database, but no migration creates it: "
            "a fresh database at head has no bio column",
            ko=("", "users.bio가 여러분의 데이터베이스에는 있지만, 이를 만드는 마이그레이션이 없습니다. "
                "head까지 올린 새 데이터베이스에는 bio 컬럼이 없습니다"),
        )
    return verdict(
        result.ok,
        right="users.bio is in your database, its migration is in the history, and every check passes",
        not_yet="users.bio is in the database, but the pipeline fails: " + _failed(result),
        ko=(
            "users.bio가 데이터베이스에 있고, 그 마이그레이션이 히스토리에 있으며, 모든 검사를 통과합니다",
            "users.bio는 데이터베이스에 있지만 파이프라인이 실패합니다: " + _failed(result),
        ),
    )
