"""13_Expand_and_Contract: two versions of the app served at once on one database, the
same traffic sent to each after every step, and the exercise checks.

    prod = Production()
    prod.deploy("v1", lab)     # lab.serve_app("production"), kept running across cells
    prod.deploy("v2", v2)      # v2 = lab.another_version(): the next version's code
    prod.traffic()             # per version: status codes, and the errors uvicorn logged
    prod.retire("v1")          # its server stops

The requests are sent one after the other after each step, never in a timed loop while a
migration runs, so the counts are the same on every run.
"""

from __future__ import annotations

import ast
import contextlib
import re
import time
import weakref
from collections import Counter
from dataclasses import dataclass

import sqlalchemy as sa

from migrationlab.display import read_schema
from migrationlab.errors import LabError
from migrationlab.infra.sandbox import Sandbox
from migrationlab.lab import Lab
from migrationlab.lessons import Hint, Verdict, not_yet, verdict
from migrationlab.scenarios import Client

MODELS = "app/api/users/models.py"
ERROR_LOGGED = "Exception in ASGI application"
# The last line of an error's traceback in uvicorn's log, and what it says.
DATABASE_ERROR = re.compile(r"^sqlalchemy\.exc\.\w+: \([\w.]+\) (.+)$")
RESPONSE_ERROR = re.compile(r"^fastapi\.exceptions\.ResponseValidationError: ")
VALIDATION_DETAIL = re.compile(r"\{'type': '(\w+)', 'loc': \(([^)]*)\), 'msg': '([^']*)', 'input': (\w+)")


def name_field(lab: Lab) -> str:
    """The field a version's user model has for a person's name ("name" or "full_name"),
    read from its app/api/users/models.py."""
    tree = ast.parse(lab.project.path(MODELS).read_text())
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == "UserBase":
            fields = [s.target.id for s in node.body
                      if isinstance(s, ast.AnnAssign) and isinstance(s.target, ast.Name)]
            for candidate in ("full_name", "name"):
                if candidate in fields:
                    return candidate
    raise LabError(f"{MODELS} has no UserBase with a name or full_name field")


@dataclass
class Version:
    """One version of the app, served: its client, the field its model writes, what
    stops its server, and how much of its log has been read."""

    api: Client
    writes: str
    stack: contextlib.ExitStack
    log_read: int = 0


class Production:
    """Versions of the app served at once, each by its lab's ``serve_app("production")``
    on the same database, running until retired (or until the notebook stops)."""

    def __init__(self) -> None:
        self.versions: dict[str, Version] = {}
        self._sent: Counter[str] = Counter()  # users created per version: unique emails
        self._stack = contextlib.ExitStack()
        # Servers stop when the notebook's kernel ends, even without close().
        self._finalizer = weakref.finalize(self, self._stack.close)

    def deploy(self, name: str, lab: Lab) -> None:
        """Serve LAB's code as version NAME (uvicorn, ENVIRONMENT=production), until
        ``retire(NAME)``."""
        if name in self.versions:
            raise LabError(f"{name} is already deployed; prod.retire({name!r}) first")
        writes = name_field(lab)
        print(f"deploying {name}: its model reads and writes users.{writes}")
        stack = contextlib.ExitStack()
        api = stack.enter_context(lab.serve_app("production"))
        self._stack.callback(stack.close)
        self.versions[name] = Version(api, writes, stack)

    def retire(self, name: str) -> None:
        """Stop version NAME's server: no request reaches that code any more."""
        version = self.versions.pop(name, None)
        if version is None:
            raise LabError(f"{name} is not deployed; deployed: {', '.join(self.versions) or 'none'}")
        print(f"retiring {name}")
        version.stack.close()

    def api(self, name: str) -> Client:
        """Version NAME's client: ``prod.api("v2").post("/users/", {...})`` prints the
        request and the response."""
        if name not in self.versions:
            raise LabError(f"{name} is not deployed; deployed: {', '.join(self.versions) or 'none'}")
        return self.versions[name].api

    def traffic(self, requests: int = 5) -> None:
        """Send each deployed version REQUESTS reads (GET /users/) and REQUESTS writes
        (POST /users/ with the field its model has), one after the other; print the status
        codes counted, and why the app failed, as its uvicorn log says."""
        if not self.versions:
            print("no version is deployed")
            return
        for name, version in sorted(self.versions.items()):
            counts: Counter[str] = Counter()
            for _ in range(requests):
                counts[f"GET {version.api.status('GET', '/users/')}"] += 1
                self._sent[name] += 1
                number = self._sent[name]
                body = {"email": f"{name}-{number}@example.com", version.writes: f"{name} user {number}"}
                counts[f"POST {version.api.status('POST', '/users/', body)}"] += 1
            shown = ", ".join(f"{request} x{n}" for request, n in sorted(counts.items()))
            print(f"{name} ({version.writes}): {shown}")
            failed = sum(n for request, n in counts.items() if request.endswith(" 500"))
            for reason, n in sorted(self._errors(version, failed).items()):
                print(f"    {n} x {reason}")

    def _errors(self, version: Version, expected: int) -> Counter[str]:
        """The reasons of the errors logged since the last call. uvicorn logs an error
        just after it has sent the 500, before it can take another connection: once a
        request for /health has been answered, every error of the batch is in the log."""
        version.api.status("GET", "/health")
        deadline = time.monotonic() + 10
        while True:
            text = version.api.log()
            new = text[version.log_read:]
            if new.count(ERROR_LOGGED) >= expected:
                break
            if time.monotonic() > deadline:
                raise LabError(f"uvicorn logged {new.count(ERROR_LOGGED)} errors, not {expected}")
            time.sleep(0.01)
        version.log_read = len(text)
        return _reasons(new)

    def close(self) -> None:
        """Stop every server."""
        self.versions.clear()
        self._stack.close()


def _reasons(log: str) -> Counter[str]:
    """What each error's last traceback line says, without the exception's module path:
    PostgreSQL's message for a database error; for a response the model refused, the
    field and why (the first row's; every row says the same)."""
    reasons: Counter[str] = Counter()
    lines = log.splitlines()
    for number, line in enumerate(lines):
        database = DATABASE_ERROR.match(line)
        if database:
            reasons[database.group(1)] += 1
        elif RESPONSE_ERROR.match(line):
            detail = VALIDATION_DETAIL.search(lines[number + 1]) if number + 1 < len(lines) else None
            if detail is None:
                reasons["ResponseValidationError"] += 1
                continue
            _, where, message, given = detail.groups()
            path = [p.strip(" '") for p in where.split(",") if not p.strip().isdigit()][1:]
            reasons[f"ResponseValidationError: {'.'.join(path)}: {message} (input: {given})"] += 1
    return reasons


# -- exercise checks ---------------------------------------------------------------

SYNC_TEST = """
    insert into users (id, email, name) values (-1, 'v1-probe@example.com', 'Probe One');
    insert into users (id, email, full_name) values (-2, 'v2-probe@example.com', 'Probe Two');
    update users set name = 'Probe One, renamed' where id = -1;
    update users set full_name = 'Probe Two, renamed' where id = -2;
    select id, name, full_name from users where id in (-1, -2) order by id desc"""


def _columns(lab: Lab) -> set[str]:
    """The names of users' columns."""
    return {c["name"] for c in sa.inspect(lab.engine).get_columns("users")}


def _in_step(lab: Lab) -> Hint | None:
    """Whether a write to either column reaches the other (tried in a transaction that is
    rolled back, with ids no row has); None if so, else what went wrong (a Hint: its
    ``.ko`` says it in Korean)."""
    with lab.engine.connect() as conn:
        try:
            for statement in SYNC_TEST.split(";")[:-1]:
                conn.execute(sa.text(statement))
            rows = conn.execute(sa.text(SYNC_TEST.split(";")[-1])).all()
        except sa.exc.DBAPIError as error:
            message = str(error.orig).splitlines()[0]
            return Hint(message, message)  # PostgreSQL's own words, as printed
        finally:
            conn.rollback()
    wanted = [(-1, "Probe One, renamed", "Probe One, renamed"),
              (-2, "Probe Two, renamed", "Probe Two, renamed")]
    if [tuple(r) for r in rows] != wanted:
        return Hint("a write to one column no longer reaches the other",
                    "한 컬럼에 쓴 값이 더 이상 다른 컬럼에 반영되지 않습니다")
    return None


def _schema_at(lab: Lab, revision: str) -> dict[str, str]:
    """users' columns, indexes and constraints as UPGRADING to REVISION leaves them, on a
    fresh database built from the learner's files."""
    with Sandbox.create(lab.db.server_url) as built:
        result = lab.project.alembic(f"upgrade {revision}", built.url)
        if not result.ok:
            raise LabError(f"`alembic upgrade {revision}` fails on a fresh database:\n{result.output}")
        return _users_schema(built.engine)


def _users_schema(engine: sa.Engine) -> dict[str, str]:
    table = read_schema(engine).tables["users"]
    return {f"{kind} {item.name}": str(item) for kind, items in
            (("column", table.columns), ("index", table.indexes), ("constraint", table.constraints))
            for item in items}


def exercise_1(lab: Lab) -> Verdict:
    """006's downgrade brings back 005 exactly: name for every row, the schema as 005
    left it, and the trigger that keeps the two columns in step."""
    at = lab.versions() or []
    if at != ["005"]:
        return not_yet(
            f"the database is at {', '.join(at) or 'no revision'}; complete 006's downgrade() "
            'with a %%lab_file cell, then run lab.alembic("downgrade 005")',
            ko=(f"데이터베이스가 {', '.join(at)}에 있습니다" if at
                else "데이터베이스가 어떤 리비전에도 있지 않습니다")
            + '. %%lab_file 셀로 006의 downgrade()를 완성한 다음 lab.alembic("downgrade 005")를 실행하세요',
        )
    columns = _columns(lab)
    if "name" not in columns or "full_name" not in columns:
        has = ", ".join(c for c in ("name", "full_name") if c in columns)
        return not_yet("users should have both name and full_name at 005; "
                       f"it has {has}",
                       ko="005에서는 users에 name과 full_name이 모두 있어야 합니다. "
                       f"지금 있는 것: {has or '없음'}")
    missing, differ = lab.query(
        "select count(*) filter (where name is null), "
        "count(*) filter (where name is distinct from full_name) from users")[0]
    if missing:
        return not_yet(
            f"{missing} users have no name: downgrade() must copy full_name back into name "
            '(UPDATE users SET name = full_name); run lab.alembic("upgrade 006"), fix the '
            'file, then lab.alembic("downgrade 005") again',
            ko=f"사용자 {missing}명에게 name이 없습니다. downgrade()는 full_name을 name으로 다시 "
            '복사해야 합니다(UPDATE users SET name = full_name). lab.alembic("upgrade 006")을 실행하고, '
            '파일을 고친 다음, 다시 lab.alembic("downgrade 005")를 실행하세요')
    if differ:
        return not_yet(f"{differ} users have a name that differs from their full_name",
                       ko=f"사용자 {differ}명의 name이 full_name과 다릅니다")
    expected, actual = _schema_at(lab, "005"), _users_schema(lab.engine)
    different = sorted(k for k in expected.keys() | actual.keys() if expected.get(k) != actual.get(k))
    if different:
        key = different[0]
        return not_yet(
            f"users is not as 005 left it: {key} is {actual.get(key, 'missing')} here but "
            f"{expected.get(key, 'missing')} after upgrade 005; make downgrade() put it back "
            '(lab.alembic("upgrade 006"), fix the file, lab.alembic("downgrade 005"))',
            ko=f"users가 005가 남긴 상태와 다릅니다. {key}: 여기서는 {actual.get(key, '없음')}, "
            f"upgrade 005 뒤에는 {expected.get(key, '없음')}입니다. downgrade()가 이것을 되돌려 놓게 "
            '하세요(lab.alembic("upgrade 006"), 파일 수정, lab.alembic("downgrade 005"))')
    broken = _in_step(lab)
    if broken:
        return not_yet(
            f"name and full_name are not kept in step ({broken}): downgrade() must create "
            "the function and the trigger again, as 004 does",
            ko=f"name과 full_name이 서로 맞춰지지 않습니다({broken.ko}). downgrade()는 004처럼 "
            "함수와 트리거를 다시 만들어야 합니다")
    return verdict(
        True,
        right="at 005 every user has a name again, users is as 005 left it, and the trigger "
        "keeps name and full_name in step: v1 can be deployed again",
        not_yet="",
        ko=("005에서 모든 사용자에게 다시 name이 있고, users는 005가 남긴 그대로이며, 트리거가 "
            "name과 full_name을 맞춰 줍니다. v1을 다시 배포할 수 있습니다", ""),
    )


GRACE = "grace@example.com"
RENAMED = "Grace Brewster Hopper"


def exercise_2(lab: Lab) -> Verdict:
    """Grace, created through v2 and renamed through v1, reads the same in both columns."""
    columns = _columns(lab)
    if "name" not in columns or "full_name" not in columns:
        at = ", ".join(lab.versions() or [])
        return not_yet(
            f"the database is at {at or 'no revision'}: v1 and v2 "
            "both work only while users has name and full_name (exercise 1 takes it back to 005)",
            ko=(f"데이터베이스가 {at}에 있습니다" if at else "데이터베이스가 어떤 리비전에도 있지 않습니다")
            + ". v1과 v2는 users에 name과 full_name이 모두 있을 때만 함께 동작합니다"
            "(연습 문제 1에서 005로 되돌립니다)")
    rows = lab.query("select id, name, full_name from users where email = :e", e=GRACE)
    if not rows:
        return not_yet(
            'create her through v2: prod.api("v2").post("/users/", {"email": "grace@example.com", '
            '"full_name": "Grace Hopper"})',
            ko='v2를 통해 Grace를 만드세요: prod.api("v2").post("/users/", {"email": "grace@example.com", '
            '"full_name": "Grace Hopper"})')
    user_id, name, full_name = rows[0]
    if name != RENAMED:
        return not_yet(
            f"her name is {name!r}; rename her through v1 (prod.deploy(\"v1\", lab) if it is not "
            f'running): prod.api("v1").patch("/users/{user_id}", {{"name": "{RENAMED}"}})',
            ko=f"Grace의 name은 {name!r}입니다. v1을 통해 이름을 바꾸세요(v1이 실행 중이 아니면 "
            f'prod.deploy("v1", lab)): prod.api("v1").patch("/users/{user_id}", {{"name": "{RENAMED}"}})')
    if full_name != RENAMED:
        return not_yet(
            f"v1 renamed her, but full_name still says {full_name!r}: v2 reads the old name. "
            "The trigger that copies a new name across is missing (exercise 1 puts it back)",
            ko=f"v1이 이름을 바꿨지만 full_name은 아직 {full_name!r}입니다. v2는 이전 이름을 읽습니다. "
            "새 이름을 다른 컬럼으로 복사하는 트리거가 없습니다(연습 문제 1에서 되살립니다)")
    return verdict(
        True,
        right=f"v1 wrote name, and full_name says {RENAMED!r} too: both versions read the "
        "same user, whichever wrote it",
        not_yet="",
        ko=(f"v1이 name에 썼고, full_name도 {RENAMED!r}입니다. 어느 버전이 썼든 두 버전이 "
            "같은 사용자를 읽습니다", ""),
    )
