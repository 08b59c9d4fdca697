"""09_Production: the repository's deploy script in the scratch copy, the models as the
app sees them, what a destructive step would destroy, and the exercise checks on the
learner's own files and databases.

(`lab.shell` already runs commands as a server's terminal would: the virtualenv's
alembic, PostgreSQL client tools as new as the server, and PGHOST, PGDATABASE, ...
naming the lab's database, so `pg_dump` and `psql` need no URL.)
"""

from __future__ import annotations

import re

import sqlalchemy as sa

from migrationlab.errors import LabError
from migrationlab.lab import Lab
from migrationlab.lessons import Verdict, verdict

BACKUP = "backups/mine.sql"
DEPLOY_SCRIPT = "scripts/deploy.sh"
# The statements of rendered SQL that destroy data: a column, or a whole table.
DROPS = re.compile(
    r"^(?P<statement>ALTER TABLE (?P<table>[\w.\"]+) DROP COLUMN (?P<column>[\w\"]+)"
    r"|DROP TABLE (?P<dropped>[\w.\"]+))",
    re.MULTILINE | re.IGNORECASE,
)


def models(lab: Lab) -> sa.MetaData:
    """The project's metadata, imported from its files as the app imports it
    (`import app.models`): what `SQLModel.metadata.create_all()` would create."""
    return lab.import_app("app.models").metadata


def at_stake(lab: Lab, args: str) -> None:
    """Render `alembic ARGS --sql` (offline: nothing runs) and print, for each DROP COLUMN
    and DROP TABLE in it, what it would destroy in LAB's database now: the values the
    column holds, or the rows of the table."""
    rendered = lab.project.alembic(f"{args} --sql", lab.db.url)
    if not rendered.ok:
        raise LabError(f"`alembic {args} --sql` failed: {rendered.output.strip().splitlines()[-1]}")
    drops = list(DROPS.finditer(rendered.output))
    if not drops:
        print(f"`alembic {args}` drops no column and no table")
    for drop in drops:
        if drop["dropped"]:
            table = _quoted(drop["dropped"])
            rows = lab.query(f"select count(*) from {table}")[0][0]
            print(f"{drop['statement']}: its {rows} rows would be lost")
        else:
            table, column = _quoted(drop["table"]), _quoted(drop["column"])
            values, rows = lab.query(f"select count({column}), count(*) from {table}")[0]
            print(f"{drop['statement']}: {values} of the {rows} rows of {drop['table'].strip(chr(34))} "
                  f"hold a {drop['column'].strip(chr(34))}, which would be lost")


def _quoted(name: str) -> str:
    """An identifier (or schema.table) as rendered SQL names it, quoted for a query."""
    return ".".join('"' + part.strip('"') + '"' for part in name.split("."))


def _users(lab: Lab) -> list[str]:
    return [row[0] for row in lab.query("select email from users order by email")]


def _version(lab: Lab) -> str | None:
    if not lab.query("select 1 from pg_tables where tablename = 'alembic_version'"):
        return None
    rows = lab.query("select version_num from alembic_version")
    return rows[0][0] if rows else None


def _copy_rows(dump: str, table: str) -> list[str]:
    """The data lines of a table's COPY block in a plain pg_dump file."""
    match = re.search(rf"^COPY public\.{table} \(.*?\) FROM stdin;\n(.*?)^\\\.$", dump, re.S | re.M)
    return match.group(1).splitlines() if match else []


def exercise_1(lab: Lab) -> Verdict:
    """backups/mine.sql is a pg_dump of lab's database as it is now."""
    path = lab.project.path(BACKUP)
    if not path.exists():
        return verdict(False, right="", not_yet=f"there is no {BACKUP} yet; run pg_dump with -f {BACKUP}",
                       ko=("", f"{BACKUP} 파일이 없습니다. pg_dump를 -f {BACKUP} 옵션으로 실행하세요"))
    dump = path.read_text()
    if "PostgreSQL database dump" not in dump:
        return verdict(False, right="", not_yet=f"{BACKUP} is not a plain pg_dump file",
                       ko=("", f"{BACKUP} 파일이 일반(plain) 형식의 pg_dump 파일이 아닙니다"))
    users, version = _copy_rows(dump, "users"), _copy_rows(dump, "alembic_version")
    ok = len(users) == len(_users(lab)) and version == [_version(lab)]
    return verdict(
        ok,
        right=f"{BACKUP} holds the {len(users)} users and the revision ({version[0] if version else ''}) "
        "of the database",
        not_yet=f"{BACKUP} has {len(users)} users at {version[0] if version else 'no revision'}; "
        f"the database has "
        f"{len(_users(lab))} users at {_version(lab)}: back up again",
        ko=(
            f"{BACKUP}에 데이터베이스의 사용자 {len(users)}명과 리비전({version[0] if version else ''})이 "
            "들어 있습니다",
            f"{BACKUP}의 내용은 사용자 {len(users)}명, 리비전 {version[0] if version else '없음'}인데, "
            f"데이터베이스는 사용자 {len(_users(lab))}명, 리비전 {_version(lab)}입니다. 다시 백업하세요",
        ),
    )


def exercise_2(lab: Lab, restored: Lab) -> Verdict:
    """restored holds production's users and revision."""
    if _version(restored) is None and not restored.query(
        "select 1 from pg_tables where tablename = 'users'"
    ):
        return verdict(
            False,
            right="",
            not_yet="`restored` is still empty; restore backups/mine.sql into it with psql -f",
            ko=("", "`restored` 데이터베이스가 비어 있습니다. psql -f로 backups/mine.sql을 복원하세요"),
        )
    theirs = _users(restored) if restored.query("select 1 from pg_tables where tablename = 'users'") else []
    ok = theirs == _users(lab) and _version(restored) == _version(lab)
    return verdict(
        ok,
        right=f"`restored` has production's {len(theirs)} users and is at {_version(restored)}",
        not_yet=f"`restored` has {len(theirs)} users at {_version(restored)}; production has "
        f"{len(_users(lab))} at {_version(lab)}",
        ko=(
            f"`restored` 데이터베이스에 프로덕션의 사용자 {len(theirs)}명이 있고, 리비전은 "
            f"{_version(restored)}입니다",
            f"`restored` 데이터베이스는 사용자 {len(theirs)}명, 리비전 {_version(restored)}이지만, "
            f"프로덕션은 사용자 {len(_users(lab))}명, 리비전 {_version(lab)}입니다",
        ),
    )


def create_all_database(lab: Lab) -> Lab:
    """A fresh database made the way an app in development makes it: create_all, then a user."""
    db = lab.another_database()
    models(lab).create_all(db.engine)
    columns = {row[0] for row in db.query(
        "select column_name from information_schema.columns where table_name = 'users'"
    )}
    values = {"email": "'old@example.com'", "name": "'Old'"}
    if "nickname" in columns:
        values["nickname"] = "'old'"
    db.query(f"insert into users ({', '.join(values)}) values ({', '.join(values.values())}) returning id")
    return db


def exercise_3(lab: Lab, old_app: Lab) -> Verdict:
    """old_app is at head, its schema matches the models, and its user is still there."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    heads = lab.project.heads()
    version = _version(old_app)
    kept = old_app.query("select 1 from pg_tables where tablename = 'users'") and old_app.query(
        "select 1 from users where email = 'old@example.com'"
    )
    if version not in heads:
        at_ko = f"리비전 {version}에 있습니다" if version else "어떤 리비전에도 있지 않습니다"
        return verdict(
            False, right="",
            not_yet=f"old_app is at {version or 'no revision'}; Alembic has no record of its tables",
            ko=("", f"old_app은 {at_ko}. Alembic에는 이 테이블들에 대한 기록이 없습니다"),
        )
    metadata = models(lab)
    with old_app.engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), metadata)
    return verdict(
        bool(kept) and not diffs,
        right=f"old_app is at {version}, its schema matches the models, and its user is still there",
        not_yet="old_app's user is gone" if not kept else
        f"old_app is at {version} but differs from the models ({len(diffs)} differences)",
        ko=(
            f"old_app은 {version}에 있고, 스키마가 모델과 일치하며, 사용자도 그대로 남아 있습니다",
            "old_app의 사용자가 사라졌습니다" if not kept else
            f"old_app은 {version}에 있지만 모델과 다릅니다(차이 {len(diffs)}개)",
        ),
    )
