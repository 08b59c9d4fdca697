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


@asynccontextmanager
async def lifespan(_: FastAPI) -> AsyncIterator[None]:
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
