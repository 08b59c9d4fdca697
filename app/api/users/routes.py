"""CRUD routes for users."""

from fastapi import APIRouter, HTTPException
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from app.api.deps import SessionDep
from app.api.users.models import User, UserCreate, UserPublic, UserUpdate

router = APIRouter(prefix="/users", tags=["users"])


def _get_or_404(session: SessionDep, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise HTTPException(status_code=404, detail="User not found")
    return user


def _commit(session: SessionDep, user: User) -> User:
    session.add(user)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise HTTPException(status_code=409, detail="Email already registered") from None
    session.refresh(user)
    return user


@router.post("/", response_model=UserPublic, status_code=201)
def create_user(user_in: UserCreate, session: SessionDep) -> User:
    return _commit(session, User.model_validate(user_in))


@router.get("/", response_model=list[UserPublic])
def list_users(session: SessionDep, offset: int = 0, limit: int = 100) -> list[User]:
    return list(session.exec(select(User).order_by(col(User.id)).offset(offset).limit(limit)))


@router.get("/{user_id}", response_model=UserPublic)
def get_user(user_id: int, session: SessionDep) -> User:
    return _get_or_404(session, user_id)


@router.patch("/{user_id}", response_model=UserPublic)
def update_user(user_id: int, user_in: UserUpdate, session: SessionDep) -> User:
    user = _get_or_404(session, user_id)
    user.sqlmodel_update(user_in.model_dump(exclude_unset=True))
    return _commit(session, user)


@router.delete("/{user_id}", status_code=204)
def delete_user(user_id: int, session: SessionDep) -> None:
    session.delete(_get_or_404(session, user_id))
    session.commit()
