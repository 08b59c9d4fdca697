#!/bin/bash
# Entrypoint of the kit's locally built PostgreSQL image (see build.sh here).
#
# Honours the interface of the official `postgres` image, so the kit (and
# testcontainers' PostgresContainer) can use either one:
#   POSTGRES_PASSWORD          required, unless POSTGRES_HOST_AUTH_METHOD=trust
#   POSTGRES_USER              superuser to create (default: postgres)
#   POSTGRES_DB                database to create (default: $POSTGRES_USER)
#   POSTGRES_INITDB_ARGS       extra initdb arguments (e.g. --no-sync)
#   POSTGRES_HOST_AUTH_METHOD  auth for TCP connections (default: scram-sha-256)
#   PGDATA                     the data directory (default: /var/lib/postgresql/data)
#   /docker-entrypoint-initdb.d/*.sh|*.sql|*.sql.gz  run once, after initdb
# Arguments: `postgres [-c name=value ...]`, or only `-c ...` options; anything
# else is run as is.
set -Eeuo pipefail

if [ "${1:0:1}" = '-' ]; then
	set -- postgres "$@"
fi
if [ "${1:-}" != postgres ]; then
	exec "$@"
fi

: "${PGDATA:=/var/lib/postgresql/data}"
export PGDATA

# As root: own the directories, then start again as the postgres user.
if [ "$(id -u)" = 0 ]; then
	mkdir -p "$PGDATA" /var/run/postgresql
	chown postgres:postgres "$PGDATA" /var/run/postgresql
	chmod 0700 "$PGDATA"
	chmod 2775 /var/run/postgresql
	exec setpriv --reuid=postgres --regid=postgres --init-groups -- "${BASH_SOURCE[0]}" "$@"
fi

if [ ! -s "$PGDATA/PG_VERSION" ]; then
	user=${POSTGRES_USER:-postgres}
	db=${POSTGRES_DB:-$user}
	auth=${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}
	if [ -z "${POSTGRES_PASSWORD:-}" ] && [ "$auth" != trust ]; then
		echo "error: the database is uninitialized and POSTGRES_PASSWORD is not set" \
			"(set it, or POSTGRES_HOST_AUTH_METHOD=trust to allow all connections without one)" >&2
		exit 1
	fi
	initdb_() {
		# shellcheck disable=SC2086  # POSTGRES_INITDB_ARGS is a list of words, as in the official image
		initdb --username="$user" --encoding=UTF8 --locale=C.UTF-8 --auth-local=trust \
			--auth-host="$auth" --no-instructions ${POSTGRES_INITDB_ARGS:-} "$@" >/dev/null
	}
	if [ -n "${POSTGRES_PASSWORD:-}" ]; then
		initdb_ --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD")  # a pipe, never a command line
	else
		initdb_
	fi
	printf '\nhost all all all %s\n' "$auth" >>"$PGDATA/pg_hba.conf"
	printf "\nlisten_addresses = '*'\n" >>"$PGDATA/postgresql.conf"

	scripts=(/docker-entrypoint-initdb.d/*)
	[ -e "${scripts[0]}" ] || scripts=()
	if [ "$db" != postgres ] || [ "${#scripts[@]}" -gt 0 ]; then
		# A private server (Unix socket only) for the set-up: a client can't connect
		# over TCP until the real server runs.
		pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w -s start
		psql=(psql -v ON_ERROR_STOP=1 --no-psqlrc --quiet --username "$user" --no-password)
		if [ "$db" != postgres ]; then
			"${psql[@]}" --dbname postgres --set db="$db" <<<'CREATE DATABASE :"db";'
		fi
		for f in "${scripts[@]}"; do
			case "$f" in
				*.sh) echo "running $f"; . "$f" ;;
				*.sql) echo "running $f"; "${psql[@]}" --dbname "$db" -f "$f" ;;
				*.sql.gz) echo "running $f"; gzip -dc "$f" | "${psql[@]}" --dbname "$db" ;;
				*) echo "ignoring $f" ;;
			esac
		done
		pg_ctl -D "$PGDATA" -m fast -w -s stop
	fi
	echo "PostgreSQL init process complete; ready for start up."
fi

exec "$@"
