"""Every model module, imported in one place so the metadata is always complete.

alembic/env.py and the app import this module; a feature whose models are not
imported here is invisible to `alembic revision --autogenerate`.
"""

from app.api.posts.models import Post
from app.api.users.models import User
from app.core.metadata import metadata

__all__ = ["Post", "User", "metadata"]
