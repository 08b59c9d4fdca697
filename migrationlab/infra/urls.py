"""Server URLs: read strictly, handed to tools in the forms they take, never shown
with their password.

    server_url(text)       a PostgreSQL URL for SQLAlchemy (psycopg2), or a LabError line
    libpq_url(url)         the same as psql, pg_dump and the app take it: postgresql://...
    libpq_env(url)         PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE
    redact(text, url)      TEXT with the password hidden in every encoding it may take
"""

from __future__ import annotations

import re
from urllib.parse import quote

import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url

from migrationlab.errors import LabError

FORM = "postgresql://USER:PASSWORD@HOST:5432/postgres"
# Characters that end the password part of a URL early unless percent-encoded.
RESERVED = "@/?#[]"


def server_url(text: str | URL, source: str = "LAB_SERVER_URL") -> URL:
    """TEXT as a URL SQLAlchemy connects with through psycopg2 (the driver this kit
    installs; SQLAlchemy 2.1 would pick psycopg 3 for a plain postgresql://).
    SOURCE names where TEXT came from, for the message."""
    if isinstance(text, URL):
        url = text
    else:
        _check_password_encoding(text, source)
        try:
            url = make_url(text.strip())
        except sa.exc.ArgumentError:
            raise LabError(f"{source} is not a database URL; use the form {FORM}") from None
    if url.get_backend_name() not in ("postgresql", "postgres"):
        raise LabError(
            f"{source} names a {url.get_backend_name()} database; this kit needs PostgreSQL: "
            f"use the form {FORM}"
        )
    if not (url.host or url.query.get("host")):
        raise LabError(f"{source} names no server; use the form {FORM}")
    return url.set(drivername="postgresql+psycopg2")


def _check_password_encoding(text: str, source: str) -> None:
    """A password with @ # / ? unencoded splits the URL in the wrong place; say which
    characters to encode, and how, without showing the password."""
    match = re.match(r"^[\w+.-]+://(?P<userinfo>.*)@[^@]*$", text.strip(), flags=re.S)
    if not match or ":" not in match["userinfo"]:
        return
    password = match["userinfo"].split(":", 1)[1]
    bad = {c for c in password if c in RESERVED}
    if re.search(r"%(?![0-9A-Fa-f]{2})", password):
        bad.add("%")
    if bad:
        codes = ", ".join(f"{c} as {quote(c, safe='')}" for c in sorted(bad))
        raise LabError(
            f"the password in {source} must be percent-encoded: write {codes} "
            "(in Python, urllib.parse.quote(password, safe='') encodes a whole password)"
        )


def libpq_url(url: URL) -> str:
    """The URL as libpq tools (psql, pg_dump) and the app's settings take it, password included."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def libpq_env(url: URL) -> dict[str, str]:
    """The libpq environment variables that make `psql` with no arguments reach URL."""
    values = {
        "PGHOST": url.host or url.query.get("host"),
        "PGPORT": str(url.port) if url.port else None,
        "PGUSER": url.username,
        "PGPASSWORD": url.password,
        "PGDATABASE": url.database,
    }
    return {key: str(value) for key, value in values.items() if value}


def shown(url: URL) -> str:
    """The URL as it may be printed: the password as ***."""
    return url.render_as_string(hide_password=True)


def redact(text: str, *urls: URL | None) -> str:
    """TEXT with each URL's password replaced by ***: as typed, percent-encoded (either
    case, once or more, + for a space), escaped as in JSON or a repr, or any mix."""
    for url in urls:
        password = url.password if url is not None else None
        if password:
            text = re.sub(_any_encoding(str(password)), "***", text)
    return text


def _any_encoding(password: str) -> str:
    parts = []
    for char in password:
        encoded = "".join(f"%(?:25)*{b:02x}" for b in char.encode())  # %40, %2540, ...
        forms = [re.escape(char), f"(?i:{encoded})"]
        if char == " ":
            forms.append(r"\+")
        if char in "\\\"'":
            forms.append(re.escape("\\" + char))
        parts.append("(?:" + "|".join(forms) + ")")
    return "".join(parts)
