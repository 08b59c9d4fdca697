"""Settings read from the environment (and `.env` at the repository root)."""

from pathlib import Path
from typing import Literal

from pydantic import field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Anchored to the repository, not the working directory: `alembic` run from a
# sub-folder, a notebook kernel in notebooks/ and uvicorn all read the same file.
REPO_ROOT = Path(__file__).resolve().parents[2]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=REPO_ROOT / ".env", extra="ignore")

    # A database URL. Special characters in the password are percent-encoded,
    # e.g. p%40ss%25word for "p@ss%word".
    DATABASE_URL: str = "postgresql://postgres@localhost:5432/app"
    ENVIRONMENT: Literal["development", "staging", "production"] = "development"

    @field_validator("DATABASE_URL")
    @classmethod
    def use_psycopg2(cls, url: str) -> str:
        """postgresql://... is the form psql, pg_dump and hosting providers use; for
        SQLAlchemy it means the psycopg2 driver, the one this app installs."""
        for scheme in ("postgresql://", "postgres://"):
            if url.startswith(scheme):
                return "postgresql+psycopg2://" + url[len(scheme):]
        return url


def get_settings() -> Settings:
    """Read the settings now (tests and notebooks change the environment between calls)."""
    return Settings()
