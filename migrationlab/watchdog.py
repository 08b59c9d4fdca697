"""The watchdog process: `python -m migrationlab.watchdog OWNER [--dir D] [--container C]`.

Waits for OWNER to die, then stops the server in D and removes D, and/or
removes the Docker container C. Kept free of heavy imports: it starts with
every server.
"""

import argparse
import subprocess
from pathlib import Path

from migrationlab.owner import Owner, clean_dir, wait_for_death


def main() -> None:
    parser = argparse.ArgumentParser(prog="migrationlab.watchdog")
    parser.add_argument("owner")
    parser.add_argument("--dir", type=Path)
    parser.add_argument("--container")
    args = parser.parse_args()
    owner = Owner.parse(args.owner)
    if owner is None:
        raise SystemExit("watchdog: OWNER must be the JSON of migrationlab.owner.Owner")
    wait_for_death(owner)
    if args.dir is not None and args.dir.exists():
        clean_dir(args.dir)
    if args.container:
        subprocess.run(["docker", "rm", "-f", "-v", args.container], capture_output=True)


if __name__ == "__main__":
    main()
