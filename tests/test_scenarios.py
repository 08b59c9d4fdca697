"""Tools for what-if experiments: seeding at scale, comparing data across a change, and
watching a migration wait behind a lock."""

import pytest

from migrationlab import Lab
from migrationlab.errors import LabError


@pytest.fixture
def lab():
    lab = Lab(scratch=True)
    lab.alembic("upgrade head")
    yield lab
    lab.close()


def test_seed_fills_parents_first_and_keeps_every_foreign_key(lab, capsys):
    lab.seed(posts=3000, users=1000)
    out = capsys.readouterr().out
    assert out.index("seeded users: 1,000 rows") < out.index("seeded posts: 3,000 rows")
    assert lab.query("select count(*) from users") == [(1000,)]
    orphans = lab.query(
        "select count(*) from posts p left join users u on u.id = p.user_id where u.id is null")
    assert orphans == [(0,)]
    lab.seed(users=10)  # a second round adds rows whose unique emails don't collide
    assert lab.query("select count(*), count(distinct email) from users") == [(1010, 1010)]


def test_seed_names_a_table_that_does_not_exist(lab):
    with pytest.raises(LabError, match="no table nope to seed; the tables are: posts, users"):
        lab.seed(nope=1)


def test_a_round_trip_that_keeps_the_data_compares_identical(lab, capsys):
    lab.seed(users=500, posts=500)
    before = lab.fingerprint()
    lab.alembic("downgrade 002")
    lab.alembic("upgrade head")
    capsys.readouterr()
    assert lab.compare(before)
    assert capsys.readouterr().out.startswith("identical: yes\n")


def test_the_comparison_names_rows_changed_gone_and_new(lab, capsys):
    lab.seed(users=20, posts=0)
    before = lab.fingerprint("users")
    lab.sql("update users set name = 'changed' where id in (3, 5)")
    lab.sql("delete from users where id = 7")
    lab.sql("insert into users (email, name) values ('new@example.com', 'New')")
    capsys.readouterr()
    assert not lab.compare(before)
    assert capsys.readouterr().out.splitlines() == [
        "identical: NO, these differ:",
        "  users: 20 -> 20 rows; rows with keys 2 changed (3, 5), 1 gone (7), 1 new (21)",
    ]


def test_a_migration_queues_behind_a_report_and_an_app_query_behind_it(lab, capsys):
    """The classic outage, deterministic: no sleeps, every wait observed in pg_stat_activity."""
    lab.seed(users=10, posts=0)
    report = lab.session("report")
    report.sql("begin")
    report.sql("select count(*) from users")
    lab.write_revision("004", "add nickname", parent="003",
                       upgrade='op.add_column("users", sa.Column("nickname", sa.String(50)))',
                       downgrade='op.drop_column("users", "nickname")')
    migration = lab.start("upgrade head")
    migration.wait_until_blocked()
    app = lab.session("app")
    app.start("select count(*) from users")
    app.wait_until_blocked()
    capsys.readouterr()
    lab.locks()
    assert capsys.readouterr().out.splitlines() == [
        "session   | table           | lock                | granted",
        "----------+-----------------+---------------------+--------",
        "app       | users           | AccessShareLock     | WAITING",
        "migration | alembic_version | AccessShareLock     | yes",
        "migration | users           | AccessExclusiveLock | WAITING",
        "report    | users           | AccessShareLock     | yes",
        "(4 rows)",
        "app waits (relation), blocked by migration",
        "migration waits (relation), blocked by report",
    ]
    report.commit()
    assert migration.finish().ok
    app.finish()
    assert "app: count\n-----\n10\n(1 row)" in capsys.readouterr().out
    for session in (report, app):
        session.close()


def test_measure_tells_a_rewrite_a_scan_and_the_lock(lab, capsys):
    lab.seed(users=1000, posts=1000)
    constant = lab.measure("alter table users add column score int not null default 0")
    assert constant.locks == {"users": "AccessExclusiveLock"} and constant.rewrote == []
    volatile = lab.measure("alter table users add column seen timestamptz default clock_timestamp()")
    assert volatile.rewrote == ["users"] and 'rewriting table "users"' in volatile.said
    scan = lab.measure("alter table posts alter column content set not null")
    assert scan.said == ['verifying table "posts"'] and scan.rewrote == []
    index = lab.measure("create index ix_users_name on users (name)")
    assert index.locks == {"users": "ShareLock"}
    out = capsys.readouterr().out
    assert "  lock:      ShareLock on users\n  rewrote:   no table\n" in out
    assert "(then rolled back)" in out and lab.query(
        "select count(*) from information_schema.columns where column_name in ('score', 'seen')") == [(0,)]


def test_a_port_taken_before_uvicorn_binds_it_is_retried(lab, capsys, monkeypatch):
    """Another process can take the port _free_port() found before uvicorn binds it (a
    notebook beside this one serving its app): the app is served on another port."""
    import socket

    from migrationlab import scenarios

    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    ports = iter([taken.getsockname()[1]])
    real = scenarios._free_port
    monkeypatch.setattr(scenarios, "_free_port", lambda: next(ports, None) or real())
    with taken, lab.serve_app("production") as app:
        assert app.status("GET", "/health") == 200
    out = capsys.readouterr().out
    assert "serving: uvicorn answers on 127.0.0.1" in out
    assert out.rstrip().endswith("server stopped")


@pytest.fixture
def neighbour():
    """A second learner's lab on the same server, holding a session named "report" and
    one named "replica 2" that waits behind it: what a notebook beside ours does."""
    other = Lab(scratch=True)
    other.alembic("upgrade head")
    report = other.session("report")
    report.sql("begin")
    report.sql("select count(*) from users")
    waiting = other.session("replica 2")
    waiting.sql("begin")
    waiting.start("lock table users")
    waiting.wait_until_blocked()
    yield other
    report.rollback()
    waiting.finish()
    waiting.rollback()
    for session in (report, waiting):
        session.close()
    other.close()


def test_locks_shows_this_database_only(lab, neighbour, capsys):
    capsys.readouterr()
    lab.locks()
    assert capsys.readouterr().out.splitlines() == [
        "session | table | lock | granted",
        "--------+-------+------+--------",
        "(0 rows)",
    ]


def test_a_replica_is_watched_in_this_database_only(lab, neighbour, capsys):
    """Our "replica 2" meets no lock; the neighbour's, of the same name, waits."""
    from migrationlab.lessons import safe_deploys

    two = safe_deploys.replica(lab, "replica 2")
    two.wait_until_blocked()
    two.finish()
    assert two.waited is False
    assert "replica 2 did not wait: it has ended already (exit code 0)" in capsys.readouterr().out
