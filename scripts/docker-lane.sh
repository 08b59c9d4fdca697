#!/bin/bash
# A local Docker lane for the kit's docker backend, on a machine with no engine and
# no image registry (as on these machines and in CI).
#
#   scripts/docker-lane.sh [up]     an engine that answers, and the image; prints the
#                                   `export DOCKER_HOST=...` to use:  eval "$(scripts/docker-lane.sh)"
#                                   then e.g.  LAB_DOCKER_IMAGE=postgres:15-local make bench
#   scripts/docker-lane.sh env      print that line again (nothing when another engine is used)
#   scripts/docker-lane.sh stop     stop the engine this script started, and nothing else
#   scripts/docker-lane.sh status
#
# up: an engine that already answers (DOCKER_HOST, or the default socket) is used as
# it is. Otherwise, as root: Debian's docker.io is installed if dockerd is missing,
# and a dockerd of the lane's own is started in the background (vfs storage, or
# LANE_STORAGE_DRIVER; its own socket, data root and pid file), so that it is known to be ours and is the only one
# `stop` stops, and so that nothing else on the machine (another session's `auto`
# backend) starts using an engine it did not ask for. The image (LANE_IMAGE, default
# postgres:15-local) is built once from Debian's packages (docker/postgres-local/) and
# reused; it is rebuilt only when its recipe there changes.
#
# Exit status: 0 ready; 3 no engine can run here (one line says why: callers skip);
# 1 anything else failed.
set -Eeuo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
RUN=${LANE_RUN:-/run/migrationlab-docker}
DATA=${LANE_DATA:-/var/lib/migrationlab-docker}
IMAGE=${LANE_IMAGE:-postgres:15-local}
SOCK=unix://$RUN/docker.sock
PIDFILE=$RUN/dockerd.pid
DRIVER=${LANE_STORAGE_DRIVER:-vfs}  # overlay2 starts containers faster, where the kernel has it
CANNOT=3

say() { echo "docker-lane: $*" >&2; }
fail() { say "error: $*"; exit 1; }
# The reason goes to stdout as a shell comment: `eval` ignores it, callers show it.
cannot() { echo "# cannot run a Docker engine here: $*"; exit "$CANNOT"; }

answers() {  # [HOST]: true if an engine answers there (default: DOCKER_HOST or the default socket)
	command -v docker >/dev/null || return 1
	if [ -n "${1:-}" ]; then
		DOCKER_HOST=$1 timeout 10 docker version --format '{{.Server.Version}}' >/dev/null 2>&1
	else
		timeout 10 docker version --format '{{.Server.Version}}' >/dev/null 2>&1
	fi
}

our_pid() {  # the pid of the dockerd this script started, if it runs
	local pid
	pid=$(cat "$PIDFILE" 2>/dev/null) || return 1
	[ -n "$pid" ] && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "dockerd .*--host=$SOCK" \
		&& echo "$pid"
}

kill_leftovers() {  # after our dockerd ended: its containerd and shims, had it left them; its bridge
	for proc in /proc/[0-9]*; do
		if tr '\0' ' ' <"$proc/cmdline" 2>/dev/null | grep -q -- "$RUN/exec/"; then
			kill -KILL "${proc#/proc/}" 2>/dev/null || true
		fi
	done
	if [ -e "$RUN/bridge.ours" ]; then
		ip link delete docker0 2>/dev/null || true
		rm -f "$RUN/bridge.ours"
	fi
}

lock() {
	mkdir -p "$RUN"
	exec 9>"$RUN/lane.lock"
	flock -w 600 9 || fail "another docker-lane.sh holds $RUN/lane.lock"
}

apt_install() {  # PACKAGE...: install with apt, starting no service
	command -v apt-get >/dev/null || return 1
	local policy=/usr/sbin/policy-rc.d ours=
	if [ ! -e "$policy" ]; then
		printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && ours=1
	fi
	local status=0 log="$RUN/apt.log"
	mkdir -p "$RUN"
	{ DEBIAN_FRONTEND=noninteractive apt-get update -qq \
		&& DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"; } \
		>"$log" 2>&1 || status=$?
	[ -z "$ours" ] || rm -f "$policy"
	if [ "$status" -ne 0 ]; then
		say "apt-get install $* failed: $(grep -E '^(E|Err):' "$log" | tail -n1)"
	fi
	return "$status"
}

start_engine() {
	if ! command -v dockerd >/dev/null; then
		say "installing Debian's docker.io..."
		local t0=$SECONDS
		apt_install docker.io || cannot "no engine answers, and installing docker.io failed"
		say "installed docker.io in $((SECONDS - t0)) s"
		command -v docker >/dev/null || fail "docker.io installed no docker command"
	fi
	mkdir -p "$DATA"
	local bridge_was_there=
	! ip link show docker0 >/dev/null 2>&1 || bridge_was_there=1
	say "starting dockerd ($DRIVER storage, socket $SOCK)..."
	# No iptables rules and no forwarding: published ports reach containers through
	# docker-proxy, and the host's firewall is left as it was.
	setsid dockerd --host="$SOCK" --data-root="$DATA" --exec-root="$RUN/exec" \
		--pidfile="$PIDFILE" --storage-driver="$DRIVER" --iptables=false --ip-forward=false \
		</dev/null >"$RUN/dockerd.log" 2>&1 9>&- &  # 9: the lock, not for dockerd to keep
	local pid=$! deadline=$((SECONDS + 60))
	until answers "$SOCK"; do
		if ! kill -0 "$pid" 2>/dev/null; then
			kill_leftovers
			cannot "dockerd exited: $(grep -iE 'level=(fatal|error)|failed' "$RUN/dockerd.log" \
				| tail -n1 | sed 's/.*msg="\([^"]*\)".*/\1/')"
		fi
		if [ "$SECONDS" -ge "$deadline" ]; then
			kill -KILL "$pid" 2>/dev/null || true
			kill_leftovers
			cannot "dockerd did not answer within 60 s (log: $RUN/dockerd.log)"
		fi
		sleep 0.2
	done
	[ -n "$bridge_was_there" ] || touch "$RUN/bridge.ours"  # `stop` removes it
	say "dockerd $(DOCKER_HOST=$SOCK docker version --format '{{.Server.Version}}') started (pid $pid)"
}

ensure_image() {
	local want have old
	want=$(bash docker/postgres-local/build.sh --recipe)
	have=$(docker image inspect -f '{{index .Config.Labels "migrationlab.recipe"}}' "$IMAGE" 2>/dev/null) \
		|| have=missing
	if [ "$have" = "$want" ]; then
		say "image $IMAGE is ready (reused)"
		return
	fi
	if [ "$have" = "<no value>" ] || [ "$have" = "" ]; then
		say "image $IMAGE exists and was not built here: using it as it is"
		return
	fi
	if [ "$(id -u)" != 0 ]; then
		[ "$have" != missing ] || fail "building $IMAGE needs root (debootstrap)"
		say "image $IMAGE is from an older recipe, and rebuilding it needs root: using it as it is"
		return
	fi
	if ! command -v debootstrap >/dev/null; then
		apt_install debootstrap || fail "debootstrap is needed to build $IMAGE"
	fi
	old=$(docker image inspect -f '{{.Id}}' "$IMAGE" 2>/dev/null || true)
	local t0=$SECONDS
	bash docker/postgres-local/build.sh "$IMAGE"
	say "built $IMAGE ($(docker image inspect -f '{{.Size}}' "$IMAGE" | numfmt --to=si)B) in $((SECONDS - t0)) s"
	[ -z "$old" ] || docker image rm "$old" >/dev/null 2>&1 || true  # the old recipe's, if unused
}

up() {
	local ours=
	if answers; then
		say "using the Docker engine that answers${DOCKER_HOST:+ at $DOCKER_HOST}"
	elif [ "$(id -u)" != 0 ]; then
		answers "$SOCK" || cannot "no engine answers, and starting one needs root"
		say "using the lane's dockerd (socket $SOCK)"
		ours=1
		export DOCKER_HOST=$SOCK
	else
		lock
		if answers "$SOCK"; then
			say "the lane's dockerd already runs (socket $SOCK)"
		else
			start_engine
		fi
		ours=1
		export DOCKER_HOST=$SOCK
	fi
	ensure_image
	[ -z "$ours" ] || exports
}

exports() {
	# The lane's engine is this machine's: clients connect to published ports on loopback.
	echo "export DOCKER_HOST=$SOCK TESTCONTAINERS_HOST_OVERRIDE=\${TESTCONTAINERS_HOST_OVERRIDE:-127.0.0.1}"
}

stop() {
	local pid
	if ! pid=$(our_pid); then
		say "no dockerd started by docker-lane.sh runs; nothing to stop"
		return
	fi
	lock
	kill -TERM "$pid"
	local deadline=$((SECONDS + 30))
	while kill -0 "$pid" 2>/dev/null; do
		if [ "$SECONDS" -ge "$deadline" ]; then
			kill -KILL "$pid" 2>/dev/null || true
		fi
		sleep 0.2
	done
	kill_leftovers
	rm -f "$PIDFILE"
	say "stopped the lane's dockerd (pid $pid)"
}

case "${1:-up}" in
	up) up ;;
	env) if answers; then :; elif our_pid >/dev/null; then exports; fi ;;
	stop) stop ;;
	status)
		if answers; then echo "engine: answers${DOCKER_HOST:+ at $DOCKER_HOST}"; fi
		if pid=$(our_pid); then echo "lane dockerd: running (pid $pid, DOCKER_HOST=$SOCK)"
		else echo "lane dockerd: not running"; fi
		;;
	*) echo "usage: $0 [up|env|stop|status]" >&2; exit 2 ;;
esac
