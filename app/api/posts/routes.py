"""CRUD routes for posts."""

from fastapi import APIRouter, HTTPException
from sqlmodel import col, select

from app.api.deps import SessionDep
from app.api.posts.models import Post, PostCreate, PostPublic, PostUpdate
from app.api.users.models import User

router = APIRouter(prefix="/posts", tags=["posts"])


def _get_or_404(session: SessionDep, post_id: int) -> Post:
    post = session.get(Post, post_id)
    if post is None:
        raise HTTPException(status_code=404, detail="Post not found")
    return post


@router.post("/", response_model=PostPublic, status_code=201)
def create_post(post_in: PostCreate, session: SessionDep) -> Post:
    if session.get(User, post_in.user_id) is None:
        raise HTTPException(status_code=422, detail="User does not exist")
    post = Post.model_validate(post_in)
    session.add(post)
    session.commit()
    session.refresh(post)
    return post


@router.get("/", response_model=list[PostPublic])
def list_posts(
    session: SessionDep, user_id: int | None = None, offset: int = 0, limit: int = 100
) -> list[Post]:
    query = select(Post).order_by(col(Post.id))
    if user_id is not None:
        query = query.where(Post.user_id == user_id)
    return list(session.exec(query.offset(offset).limit(limit)))


@router.get("/{post_id}", response_model=PostPublic)
def get_post(post_id: int, session: SessionDep) -> Post:
    return _get_or_404(session, post_id)


@router.patch("/{post_id}", response_model=PostPublic)
def update_post(post_id: int, post_in: PostUpdate, session: SessionDep) -> Post:
    post = _get_or_404(session, post_id)
    post.sqlmodel_update(post_in.model_dump(exclude_unset=True))
    session.add(post)
    session.commit()
    session.refresh(post)
    return post


@router.delete("/{post_id}", status_code=204)
def delete_post(post_id: int, session: SessionDep) -> None:
    session.delete(_get_or_404(session, post_id))
    session.commit()
