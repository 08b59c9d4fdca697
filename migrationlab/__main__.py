"""Command line.

    python -m migrationlab serve -- CMD...   a disposable PostgreSQL for CMD (make lab)
    python -m migrationlab reap              remove what dead owners left behind (make reap)
    python -m migrationlab practice --reset  start the practice copy over (make practice-reset)
    python -m migrationlab terminal          a shell in the practice copy (JupyterLab terminals)

Every mistake is one line on stderr, naming the problem and the fix; exit code 2.
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys

from migrationlab.errors import LabError


def serve(command: list[str]) -> int:
    """Start the lab's server and a practice database, run COMMAND with them in its
    environment, and stop both after. COMMAND also ends if this process is killed."""
    from migrationlab import terminal
    from migrationlab.infra.sandbox import Sandbox
    from migrationlab.infra.servers import start_server
    from migrationlab.infra.watchdog import watch

    server = start_server()
    practice = None
    try:
        practice = Sandbox.create(server.url)
        terminal.practice_copy()
        env = {
            **terminal.environment(practice.url),
            "LAB_SERVER_URL": server.url.render_as_string(hide_password=False),
        }
        print(
            f"migrationlab: disposable PostgreSQL ready ({type(server).__name__}); "
            f"practice database {practice.name}",
            flush=True,
        )
        try:
            child = subprocess.Popen(command, env=env)
        except OSError as error:
            raise LabError(f"cannot run {command[0]}: {error.strerror}; check the command after --") from None
        watchdog = watch(process=child.pid)  # a SIGKILLed serve takes its command along
        # Ctrl-C belongs to the child (JupyterLab asks before it shuts down);
        # a TERM is passed on. Either way the server is stopped after the child.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, lambda *_: child.terminate())
        code = child.wait()
        watchdog.kill()
        watchdog.wait()
        return code
    finally:
        if practice is not None:
            practice.close()
        server.stop()
        print("migrationlab: disposable PostgreSQL stopped", flush=True)


def reap() -> int:
    """Remove servers, scratch copies and containers whose owner is gone, and, on the
    server LAB_SERVER_URL names, this role's databases whose owner on this host is gone."""
    from migrationlab.infra.ownership import reap_dirs
    from migrationlab.infra.settings import lab_settings

    for path in reap_dirs():
        print(f"reaped {path.name}")
    server_url = lab_settings().server_url
    if server_url:
        from migrationlab.infra.sandbox import reap_databases
        from migrationlab.infra.servers import ExternalServer, admin_engine

        server = ExternalServer(server_url).start()
        for name in reap_databases(admin_engine(server.url)):
            print(f"reaped database {name}")
        server.stop()
    try:
        from migrationlab.infra.container import reap_containers
    except ImportError:
        return 0
    for name in reap_containers():
        print(f"reaped container {name}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m migrationlab")
    sub = parser.add_subparsers(dest="cmd", required=True)
    run = sub.add_parser("serve", help="run a command with a disposable PostgreSQL")
    run.add_argument("command", nargs=argparse.REMAINDER)
    sub.add_parser("reap", help="remove what dead owners left behind")
    practice = sub.add_parser("practice", help="the practice copy of the project")
    practice.add_argument("--reset", action="store_true", help="start it over from the repository")
    sub.add_parser("terminal", help="a shell in the practice copy (for JupyterLab terminals)")
    args = parser.parse_args(argv)
    try:
        if args.cmd == "serve":
            command = args.command[1:] if args.command[:1] == ["--"] else args.command
            if not command:
                raise LabError("serve needs a command: python -m migrationlab serve -- jupyter lab")
            return serve(command)
        if args.cmd == "practice":
            from migrationlab.terminal import practice_copy

            root = practice_copy(reset=args.reset)
            print(f"practice copy {'made anew' if args.reset else 'ready'}: {root}")
            return 0
        if args.cmd == "terminal":
            from migrationlab.terminal import start_shell

            start_shell()
        return reap()
    except LabError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
