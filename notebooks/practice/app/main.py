"""The FastAPI application.

In development the tables may be created straight from the models; in staging
and production the schema belongs to Alembic, and the app never touches it.
"""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from app.api.posts.routes import router as posts_router
from app.api.users.routes import router as users_router
from app.core.config import get_settings
from app.core.db import create_db_and_tables

logger = logging.getLogger("app")


def _log_to_console() -> None:
    """uvicorn configures only its own loggers; without this the app's INFO lines
    (the one below, in production) would go nowhere. Whoever already listens to the
    app's logger (a test, a notebook) keeps it to themselves."""
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s:     %(message)s"))
        logger.addHandler(handler)
    if logger.level == logging.NOTSET:
        logger.setLevel(logging.INFO)


@asynccontextmanager
async def lifespan(_: FastAPI) -> AsyncIterator[None]:
    _log_to_console()
    settings = get_settings()
    if settings.ENVIRONMENT == "development":
        create_db_and_tables()
        logger.info("Development: tables created from the models (create_db_and_tables)")
    else:
        logger.info(
            "%s: the app does not create tables. Use 'alembic upgrade head' to apply migrations",
            settings.ENVIRONMENT.capitalize(),
        )
    yield


app = FastAPI(title="Migration Lab app", lifespan=lifespan)
app.include_router(users_router)
app.include_router(posts_router)


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok", "environment": get_settings().ENVIRONMENT}
