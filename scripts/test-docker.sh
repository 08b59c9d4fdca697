#!/bin/bash
# `make test-docker`: the sandbox tests, the docker tests and three notebooks (09 runs
# pg_dump and psql against the container) with the docker backend forced, on the
# engine and image scripts/docker-lane.sh provides.
#
# Where no engine can run, one line says so ("SKIPPED: docker lane: <why>") and the
# run ends with status 0: it is reported, not passed, and it does not fail the main
# suite. Afterwards no container of the kit may remain, and a dockerd this run
# started is stopped.
set -Euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
lane=scripts/docker-lane.sh
image=${LAB_DOCKER_IMAGE:-postgres:15-local}

lane_was_running=$(bash "$lane" status | grep -c '^lane dockerd: running' || true)
exports=$(LANE_IMAGE=$image bash "$lane" up)
rc=$?
if [ "$rc" -eq 3 ]; then
	echo "SKIPPED: docker lane: ${exports#\# }"
	exit 0
elif [ "$rc" -ne 0 ]; then
	echo "FAILED: docker lane: scripts/docker-lane.sh exited with $rc" >&2
	exit "$rc"
fi
eval "$exports"

finish() {
	if [ "$lane_was_running" = 0 ]; then
		bash "$lane" stop
	fi
}
trap finish EXIT

export LAB_BACKEND=docker LAB_DOCKER_IMAGE=$image
export TESTCONTAINERS_HOST_OVERRIDE=127.0.0.1 TESTCONTAINERS_RYUK_DISABLED=true
unset LAB_SERVER_URL

.venv/bin/python -m pytest \
	tests/test_sandbox.py \
	tests/test_docker.py \
	notebooks/02_Where_Am_I.ipynb \
	notebooks/03_Moving_Through_History.ipynb \
	notebooks/09_Production.ipynb
status=$?

# Nothing of the kit's may remain (a killed owner's watchdog needs a moment).
left=""
for _ in $(seq 50); do
	left=$(docker ps -aq --filter label=migrationlab.kit)
	[ -z "$left" ] && break
	sleep 0.2
done
if [ -n "$left" ]; then
	echo "FAILED: containers left behind: $(echo $left)" >&2
	docker rm -f -v $left >/dev/null
	status=1
fi
exit "$status"
