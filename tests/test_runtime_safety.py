"""The runtime directory is trusted only if it is the user's own, and the kit signals only
a process it can prove it started: another local user can't make it kill anything."""

from __future__ import annotations

import os
import pwd
import subprocess
import sys

import psutil
import pytest

from migrationlab.errors import LabError
from migrationlab.infra.ownership import OWNER_FILE, Owner, reap_dirs, runtime_root
from tests.conftest import REPO


@pytest.fixture
def private_runtime(tmp_path, monkeypatch):
    monkeypatch.setenv("LAB_RUNTIME_DIR", str(tmp_path))
    return tmp_path / f"migrationlab-{os.getuid()}"


def dead_owner() -> Owner:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    owner = Owner.of(proc.pid)
    proc.wait()
    return owner


def plant(root, victim_pid: int, data_dir_name: str = "data") -> None:
    """What an attacker leaves: a dead owner, and a pid file naming a live process whose
    command line even mentions the data directory."""
    planted = root / "srv-planted"
    (planted / data_dir_name).mkdir(parents=True)
    (planted / OWNER_FILE).write_text(dead_owner().dump())
    (planted / data_dir_name / "postmaster.pid").write_text(f"{victim_pid}\n{planted / 'data'}\n")


def test_reaping_never_signals_a_process_it_did_not_start(private_runtime):
    root = runtime_root()
    # A victim whose arguments contain the data directory's path, as the old check accepted.
    victim = subprocess.Popen([sys.executable, "-c", "import time, sys; time.sleep(60)", "-D",
                               str(root / "srv-planted" / "data")])
    try:
        plant(root, victim.pid)
        assert root / "srv-planted" in reap_dirs()
        assert victim.poll() is None and psutil.Process(victim.pid).status() != psutil.STATUS_ZOMBIE
    finally:
        victim.kill()
        victim.wait()


@pytest.mark.parametrize("mode", [0o777, 0o775, 0o757])
def test_a_runtime_directory_others_can_write_is_refused(private_runtime, mode):
    private_runtime.mkdir()
    private_runtime.chmod(mode)
    with pytest.raises(LabError, match="is not the kit's own"):
        runtime_root()


def test_a_symlink_in_place_of_the_runtime_directory_is_refused(private_runtime, tmp_path_factory):
    private_runtime.symlink_to(tmp_path_factory.mktemp("elsewhere"))
    with pytest.raises(LabError, match="is not the kit's own"):
        runtime_root()


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can prepare a directory as another user")
def test_a_runtime_directory_prepared_by_another_user_is_refused_and_nothing_is_killed(private_runtime):
    """The attack as seen: another user pre-creates root's runtime directory with a dead
    owner and a pid file naming a root process; root's `make reap` must refuse it."""
    nobody = pwd.getpwnam("nobody")
    private_runtime.mkdir(mode=0o700)
    victim = subprocess.Popen(["sleep", "60"])
    try:
        plant(private_runtime, victim.pid)
        for path in [private_runtime, *private_runtime.rglob("*")]:
            os.chown(path, nobody.pw_uid, nobody.pw_gid)
        result = subprocess.run([sys.executable, "-m", "migrationlab", "reap"], cwd=REPO,
                                env=dict(os.environ), capture_output=True, text=True)
        assert result.returncode == 2 and "is not the kit's own" in result.stderr, result.stderr
        assert victim.poll() is None
    finally:
        victim.kill()
        victim.wait()


def test_the_runtime_directory_is_private(private_runtime):
    root = runtime_root()
    assert root.stat().st_uid == os.getuid()
    assert root.stat().st_mode & 0o077 in (0, 0o011)  # as root: others may pass, not look
