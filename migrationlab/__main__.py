"""Command line: `python -m migrationlab serve -- CMD...` and `python -m migrationlab reap`."""

import argparse
import os
import signal
import subprocess
import sys

from migrationlab.errors import LabError


def serve(command: list[str]) -> int:
    """Start the lab's server, run COMMAND with LAB_SERVER_URL set, stop the server after."""
    from migrationlab.servers import start_server

    server = start_server()
    try:
        env = {**os.environ, "LAB_SERVER_URL": server.url.render_as_string(hide_password=False)}
        print(f"migrationlab: disposable PostgreSQL ready ({type(server).__name__})", flush=True)
        child = subprocess.Popen(command, env=env)
        # Ctrl-C belongs to the child (JupyterLab asks before it shuts down);
        # a TERM is passed on. Either way the server is stopped after the child.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, lambda *_: child.terminate())
        return child.wait()
    finally:
        server.stop()
        print("migrationlab: disposable PostgreSQL stopped", flush=True)


def reap() -> int:
    """Remove servers, scratch copies and containers whose owner is gone."""
    from migrationlab.owner import reap_dirs

    for path in reap_dirs():
        print(f"reaped {path.name}")
    try:
        from migrationlab.docker import reap_containers

        for name in reap_containers():
            print(f"reaped container {name}")
    except ImportError:
        pass
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m migrationlab")
    sub = parser.add_subparsers(dest="cmd", required=True)
    run = sub.add_parser("serve", help="run a command with a disposable PostgreSQL")
    run.add_argument("command", nargs=argparse.REMAINDER)
    sub.add_parser("reap", help="remove what dead owners left behind")
    args = parser.parse_args(argv)
    try:
        if args.cmd == "serve":
            command = args.command[1:] if args.command[:1] == ["--"] else args.command
            if not command:
                raise LabError("serve needs a command: python -m migrationlab serve -- jupyter lab")
            return serve(command)
        return reap()
    except LabError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
