"""The kit's own settings, from LAB_* environment variables.

A value that can't be used is reported as one line naming the variable and the
fix (a LabError), never as pydantic's ValidationError.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from migrationlab.errors import LabError

Backend = Literal["auto", "docker", "embedded", "server"]


class LabSettings(BaseSettings):
    """Which PostgreSQL the sandboxes run on, and where the kit keeps its runtime files.

    LAB_BACKEND        auto (Docker if an engine answers, else embedded), docker, embedded, server
    LAB_SERVER_URL     a server to create sandbox databases on: a shared team server
                       (backend "server"), or one an owner started and handed down
    LAB_DOCKER_IMAGE   the image the docker backend runs
    LAB_EMBEDDED_PORT  also serve the embedded server on 127.0.0.1:PORT, password required
                       (it always has a private Unix socket), for a GUI client
    LAB_RUNTIME_DIR    where servers and scratch copies live (default: /dev/shm, else the
                       temporary directory)
    LAB_PRACTICE_DIR   the practice copy terminals start in (default: notebooks/practice)
    """

    # An empty variable (LAB_BACKEND=) means "not set", as in a shell.
    model_config = SettingsConfigDict(env_prefix="LAB_", extra="ignore", env_ignore_empty=True)

    backend: Backend = "auto"
    server_url: str | None = None
    docker_image: str = "postgres:17-alpine"
    embedded_port: int | None = Field(default=None, ge=1, le=65535)
    runtime_dir: Path | None = None
    practice_dir: Path | None = None


# What to say about each variable when its value is unusable. The value is shown
# for every variable but LAB_SERVER_URL, which may hold a password.
FIXES = {
    "backend": "is not a backend; use auto, docker, embedded or server (or unset LAB_BACKEND)",
    "embedded_port": "is not a port; use a free port from 1024 to 65535 "
    "(or unset LAB_EMBEDDED_PORT: the private socket needs no port)",
    "runtime_dir": "is not a directory path; give a private directory (or unset LAB_RUNTIME_DIR)",
    "practice_dir": "is not a directory path (or unset LAB_PRACTICE_DIR)",
    "docker_image": "is not an image name; use e.g. postgres:17-alpine",
}


def lab_settings() -> LabSettings:
    """The settings as the environment holds them now."""
    try:
        return LabSettings()
    except ValidationError as error:
        first = error.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else "?"
        shown = "" if field == "server_url" else f"={first.get('input')!r}"
        raise LabError(
            f"LAB_{field.upper()}{shown} {FIXES.get(field, 'is not valid: ' + first['msg'])}"
        ) from None
