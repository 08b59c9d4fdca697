"""User models: the table and the shapes the API reads and writes."""

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

import app.core.metadata  # noqa: F401  (naming convention before any table)


class UserBase(SQLModel):
    email: str = Field(max_length=255, unique=True, index=True)
    name: str = Field(max_length=100)
    is_active: bool = Field(default=True, sa_column_kwargs={"server_default": sa.true()})


class User(UserBase, table=True):
    __tablename__ = "users"

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime | None = Field(
        default=None, nullable=False, sa_column_kwargs={"server_default": sa.func.now()}
    )


class UserCreate(UserBase):
    pass


class UserUpdate(SQLModel):
    email: str | None = Field(default=None, max_length=255)
    name: str | None = Field(default=None, max_length=100)
    is_active: bool | None = None


class UserPublic(UserBase):
    id: int
    created_at: datetime
