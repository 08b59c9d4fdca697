"""The kit's own settings, from LAB_* environment variables."""

from pathlib import Path
from typing import Literal

from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parents[1]

Backend = Literal["auto", "docker", "embedded", "server"]


class LabSettings(BaseSettings):
    """Which PostgreSQL the sandboxes run on.

    LAB_BACKEND     auto (Docker if an engine answers, else embedded), docker, embedded, server
    LAB_SERVER_URL  a server to create sandbox databases on: a shared team server
                    (backend "server"), or one an owner started and handed down
    LAB_DOCKER_IMAGE  the image the docker backend runs
    LAB_EMBEDDED_PORT also serve the embedded server on 127.0.0.1:PORT (it always has
                    a private Unix socket), for psql or a GUI client
    """

    model_config = SettingsConfigDict(env_prefix="LAB_", extra="ignore")

    backend: Backend = "auto"
    server_url: str | None = None
    docker_image: str = "postgres:17-alpine"
    embedded_port: int | None = None
