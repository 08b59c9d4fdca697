"""The schema view tells the truth (PostgreSQL's own names, INVALID indexes, NOT VALID
and CHECK constraints, enum types), and the schema diff names every change."""

import pytest
import sqlalchemy as sa

from migrationlab.display import SchemaDiff, format_rows, read_schema


@pytest.fixture
def conn(db):
    with db.engine.execution_options(isolation_level="AUTOCOMMIT").connect() as conn:
        yield conn


def run(conn, *statements: str) -> None:
    for statement in statements:
        conn.exec_driver_sql(statement)


def test_the_schema_view_names_types_as_postgresql_does(db, conn):
    run(conn,
        "create type mood as enum ('sad', 'ok', 'glad')",
        "create table t (id bigserial primary key, m mood not null default 'ok', tags text[],"
        " price numeric(10,2), at timestamptz, note varchar(20))")
    shown = read_schema(db.engine).describe("t")
    for expected in ("m      | mood", "tags   | text[]", "price  | numeric(10,2)",
                     "timestamp with time zone", "character varying(20)", "'ok'::mood",
                     "Enum types:\n  mood: sad, ok, glad"):
        assert expected in shown, shown


def test_an_invalid_index_is_flagged(db, conn):
    run(conn, "create table t (id int, name text)", "insert into t values (1, 'a'), (2, 'a')")
    with pytest.raises(sa.exc.IntegrityError):
        conn.exec_driver_sql("create unique index concurrently ix_t_name on t (name)")
    schema = read_schema(db.engine)
    index = next(i for i in schema.tables["t"].indexes if i.name == "ix_t_name")
    assert not index.valid
    assert "ix_t_name UNIQUE, btree (name) INVALID" in schema.describe("t")


def test_check_constraints_are_listed_with_their_validity(db, conn):
    run(conn, "create table t (id int primary key, n int)",
        "alter table t add constraint ck_t_n check (n > 0) not valid",
        "alter table t add constraint ck_t_id check (id > 0)")
    shown = read_schema(db.engine).describe("t")
    assert "Check constraints:\n  ck_t_id CHECK ((id > 0))\n  ck_t_n CHECK ((n > 0)) NOT VALID" in shown


def test_the_diff_names_every_kind_of_change(db, conn):
    run(conn, "create type mood as enum ('sad')",
        "create table t (id int primary key, name varchar(10) not null, gone int)",
        "create table old (id int)")
    before = read_schema(db.engine)
    run(conn, "alter table t alter column name type varchar(20), alter column name drop not null",
        "alter table t drop column gone", "alter table t add column note text default 'x'",
        "create index ix_t_note on t (note)", "alter table t add constraint ck_t check (id > 0) not valid",
        "drop table old", "create table fresh (id int)", "alter type mood add value 'glad'")
    diff = before.diff(read_schema(db.engine))
    assert str(diff).splitlines() == [
        "+ table fresh",
        "    column id integer NULL",
        "- table old",
        "~ t: column name: character varying(10) -> character varying(20); NOT NULL -> NULL",
        "- t: column gone integer NULL",
        "+ t: column note text NULL DEFAULT 'x'::text",
        "+ t: index ix_t_note btree (note)",
        "+ t: constraint ck_t CHECK ((id > 0)) NOT VALID",
        "~ enum type mood: sad -> sad, glad",
    ]
    assert "color: #1a7f37" in diff._repr_html_()


def test_no_change_is_said_so(db):
    schema = read_schema(db.engine)
    assert not schema.diff(read_schema(db.engine))
    assert str(SchemaDiff()) == "schema unchanged"


def test_rows_print_as_psql_prints_them():
    assert format_rows(["a", "bb"], [(1, None), (22, "x")]) == (
        "a  | bb\n---+-----\n1  | NULL\n22 | x\n(2 rows)"
    )


def test_pictures_are_the_same_bytes_every_time(db):
    from migrationlab import Lab

    lab = Lab(scratch=True)
    try:
        lab.alembic("upgrade 002")
        lab.write_revision("004", "add bio", parent="002")
        lab.write_revision("005", "merge", parent=None)  # a second base: two roots
        graph, again = lab.graph(), lab.graph()
        assert graph == again and graph.svg.startswith("<svg ")
        lines = set(graph.text.splitlines())
        assert {"001 -> 002 ◀ database, Create posts table", "002 -> 004 (head), add bio",
                "002 -> 003 (head), Add is_active to users", "<base> -> 005 (head), merge"} <= lines
        diagram = lab.diagram()
        assert diagram == lab.diagram()
        assert "user_id integer FK -> users" in diagram.text and "stroke=" in diagram.svg
        assert set(diagram._repr_mimebundle_()) == {"image/svg+xml", "text/plain"}
    finally:
        lab.close()


def test_triggers_are_shown_and_diffed(db, conn):
    run(conn, "create table t (id int)")
    before = read_schema(db.engine)
    run(conn, "create function f() returns trigger language plpgsql as $$ begin return new; end $$",
        "create trigger t_sync before insert on t for each row execute function f()")
    after = read_schema(db.engine)
    assert "Triggers:\n  t_sync BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION f()" in after.describe("t")
    trigger = "t_sync BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION f()"
    assert str(before.diff(after)) == f"+ t: trigger {trigger}"
