"""The watchdog: a detached process that cleans up after an owner however it dies.

``watch(directory=..., container=..., process=...)`` starts one for the calling
process; it runs ``python -m migrationlab.infra.watchdog OWNER [--dir D]
[--container C] [--process P]``, waits for OWNER to die, then

* stops the server in D and removes D,
* removes the Docker container C,
* ends process P (a command the owner ran, such as JupyterLab under `serve`) and
  what P started.

Kept free of heavy imports: one starts with every server.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import psutil

from migrationlab.infra.ownership import Owner, clean_dir, wait_for_death


def watch(
    *, directory: Path | None = None, container: str | None = None, process: int | None = None
) -> subprocess.Popen:
    """Start a watchdog that cleans up after this process when it dies."""
    args = [sys.executable, "-m", "migrationlab.infra.watchdog", Owner.me().dump()]
    args += ["--dir", str(directory)] if directory else []
    args += ["--container", container] if container else []
    args += ["--process", Owner.of(process).dump()] if process else []
    return subprocess.Popen(
        args,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # out of the owner's process group: a killpg spares it
        close_fds=True,
    )


def end_process(owner: Owner, grace: float = 10.0) -> None:
    """Terminate OWNER's process (if it is still that process) and, after GRACE
    seconds, kill it and everything it started."""
    if not owner.is_alive():
        return
    try:
        proc = psutil.Process(owner.pid)
        family = [proc, *proc.children(recursive=True)]
        proc.terminate()
        proc.wait(grace)
    except psutil.TimeoutExpired:
        pass
    except psutil.Error:
        return
    for member in family:
        try:
            member.kill()
        except psutil.Error:
            pass


def main() -> None:
    parser = argparse.ArgumentParser(prog="migrationlab.infra.watchdog")
    parser.add_argument("owner")
    parser.add_argument("--dir", type=Path)
    parser.add_argument("--container")
    parser.add_argument("--process")
    args = parser.parse_args()
    owner = Owner.parse(args.owner)
    child = Owner.parse(args.process) if args.process else None
    if owner is None or (args.process and child is None):
        raise SystemExit("watchdog: OWNER and --process are the JSON of an Owner")
    wait_for_death(owner)
    if child is not None:
        end_process(child)
    if args.dir is not None and args.dir.exists():
        clean_dir(args.dir)
    if args.container:
        subprocess.run(["docker", "rm", "-f", "-v", args.container], capture_output=True)


if __name__ == "__main__":
    main()
