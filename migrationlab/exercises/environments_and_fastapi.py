"""Checks for 10_Environments_and_FastAPI."""

from __future__ import annotations

from migrationlab.exercises import verdict

STAGING = {"username": "app", "password": "Sp@ce%2024", "host": "staging-host", "port": 5432,
           "database": "staging_db"}


def exercise_1(url: str) -> bool:
    """The URL parses back into staging's parts, the password intact (never printed)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    if not url.strip():
        return verdict(False, right="", not_yet="write the URL between the quotes")
    try:
        parsed = make_url(url)
    except ArgumentError:
        return verdict(False, right="", not_yet="SQLAlchemy cannot parse that as a URL")
    wrong = [key for key, value in STAGING.items() if getattr(parsed, key) != value]
    if not parsed.drivername.startswith("postgresql"):
        wrong.insert(0, "scheme (postgresql://)")
    return verdict(
        not wrong,
        right=f"{parsed.render_as_string(hide_password=True)}: every part, password included, "
        "reads back intact",
        not_yet=f"SQLAlchemy reads a different {', '.join(wrong)}"
        + ("; percent-encode the password (quote_plus)" if "password" in wrong else ""),
    )


def exercise_2(prod) -> bool:
    """you@example.com exists in prod with at least two posts."""
    tables = {row[0] for row in prod.query("select tablename from pg_tables")}
    if not {"users", "posts"} <= tables:
        return verdict(False, right="", not_yet="prod has no users and posts tables; migrate it first")
    rows = prod.query(
        "select u.id, count(p.id) from users u left join posts p on p.user_id = u.id "
        "where u.email = 'you@example.com' group by u.id"
    )
    posts = rows[0][1] if rows else 0
    return verdict(
        bool(rows) and posts >= 2,
        right=f"you@example.com is in prod with {posts} posts",
        not_yet="there is no user you@example.com in prod yet" if not rows
        else f"you@example.com has {posts} post{'' if posts == 1 else 's'}; give them two",
    )
