"""The API through TestClient, on a database migrated with `alembic upgrade head`."""

import logging

import pytest
import sqlalchemy as sa
from alembic import command
from fastapi.testclient import TestClient

from migrationlab.project import Project


@pytest.fixture
def client(migrations, database_url, monkeypatch):
    monkeypatch.setenv("ENVIRONMENT", "production")  # the app must not create tables itself
    command.upgrade(migrations, "head")
    migrations.attributes["connection"].commit()
    # Imported afresh: another test in this process may have read other models since.
    app = Project.repo().import_app("app.main").app
    with TestClient(app) as client:
        yield client


def new_user(client, email="ada@example.com", name="Ada"):
    response = client.post("/users/", json={"email": email, "name": name})
    assert response.status_code == 201, response.text
    return response.json()


def test_user_crud(client):
    user = new_user(client)
    assert user["is_active"] is True and user["created_at"]
    assert client.get(f"/users/{user['id']}").json()["email"] == "ada@example.com"
    assert [u["id"] for u in client.get("/users/").json()] == [user["id"]]

    updated = client.patch(f"/users/{user['id']}", json={"name": "Ada L.", "is_active": False})
    assert updated.status_code == 200
    assert updated.json()["name"] == "Ada L." and updated.json()["is_active"] is False

    assert client.delete(f"/users/{user['id']}").status_code == 204
    assert client.get(f"/users/{user['id']}").status_code == 404


def test_duplicate_email_is_a_conflict(client):
    new_user(client)
    response = client.post("/users/", json={"email": "ada@example.com", "name": "Other"})
    assert response.status_code == 409


def test_post_crud_and_cascade(client):
    user = new_user(client)
    post = client.post("/posts/", json={"title": "Hello", "content": "first", "user_id": user["id"]})
    assert post.status_code == 201
    post_id = post.json()["id"]
    assert client.get("/posts/", params={"user_id": user["id"]}).json()[0]["title"] == "Hello"
    assert client.patch(f"/posts/{post_id}", json={"title": "Hi"}).json()["title"] == "Hi"

    client.delete(f"/users/{user['id']}")  # ON DELETE CASCADE, from migration 002
    assert client.get(f"/posts/{post_id}").status_code == 404


def test_post_needs_an_existing_user(client):
    response = client.post("/posts/", json={"title": "Orphan", "user_id": 999})
    assert response.status_code == 422


def test_missing_post_is_404(client):
    assert client.delete("/posts/12345").status_code == 404


def test_production_never_creates_tables(db, database_url, monkeypatch, caplog):
    monkeypatch.setenv("ENVIRONMENT", "production")
    app = Project.repo().import_app("app.main").app
    with caplog.at_level(logging.INFO, logger="app"), TestClient(app) as client:
        assert client.get("/health").json() == {"status": "ok", "environment": "production"}
    assert sa.inspect(db.engine).get_table_names() == []
    assert "Use 'alembic upgrade head' to apply migrations" in caplog.text


def test_development_creates_tables_from_models(db, database_url, monkeypatch):
    monkeypatch.setenv("ENVIRONMENT", "development")
    with TestClient(Project.repo().import_app("app.main").app):
        pass
    tables = set(sa.inspect(db.engine).get_table_names())
    assert tables == {"users", "posts"}  # no alembic_version: nothing was migrated


def test_settings_read_dotenv_at_the_repository_root(tmp_path, monkeypatch):
    from app.core.config import REPO_ROOT, Settings

    monkeypatch.chdir(tmp_path)  # the working directory must not matter
    monkeypatch.delenv("ENVIRONMENT", raising=False)
    assert Settings.model_config["env_file"] == REPO_ROOT / ".env"
    (tmp_path / "other.env").write_text("ENVIRONMENT=staging\n")
    assert Settings(_env_file=tmp_path / "other.env").ENVIRONMENT == "staging"


def test_settings_reject_an_unknown_environment(monkeypatch):
    from pydantic import ValidationError

    from app.core.config import Settings

    monkeypatch.setenv("ENVIRONMENT", "prod")
    with pytest.raises(ValidationError):
        Settings()


def test_uvicorn_shows_the_production_log_line(db, database_url):
    """Served for real, the app's own INFO line reaches the console beside uvicorn's."""
    import os
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    from tests.conftest import REPO

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1", "--port", str(port)],
        cwd=REPO, env={**os.environ, "ENVIRONMENT": "production"},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
                    assert response.status == 200
                    break
            except OSError:
                time.sleep(0.1)
    finally:
        server.terminate()
        output = server.communicate(timeout=10)[0]
    assert "Production: the app does not create tables. Use 'alembic upgrade head'" in output, output
