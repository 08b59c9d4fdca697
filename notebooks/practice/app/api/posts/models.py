"""Post models: each post belongs to a user and goes when its user goes."""

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

import app.core.metadata  # noqa: F401  (naming convention before any table)


class PostBase(SQLModel):
    title: str = Field(max_length=200)
    content: str | None = Field(default=None, sa_type=sa.Text)


class Post(PostBase, table=True):
    __tablename__ = "posts"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", ondelete="CASCADE", index=True)
    created_at: datetime | None = Field(
        default=None, nullable=False, sa_column_kwargs={"server_default": sa.func.now()}
    )


class PostCreate(PostBase):
    user_id: int


class PostUpdate(SQLModel):
    title: str | None = Field(default=None, max_length=200)
    content: str | None = None


class PostPublic(PostBase):
    id: int
    user_id: int
    created_at: datetime
