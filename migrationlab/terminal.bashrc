# Startup file of a `make lab` terminal: bash --rcfile THIS -i (see migrationlab/terminal.py).
# The learner's own ~/.bashrc first, as in any terminal of theirs...
[ -f ~/.bashrc ] && . ~/.bashrc
# ...which may put pyenv, conda or nvm first on PATH: the lab's virtualenv and client
# tools come first again, so `alembic`, `python` and `psql` are the lab's.
export PATH="$LAB_PATH_FIRST:$PATH"
cd "$LAB_PRACTICE_DIR" || true
printf '%s\n' "$LAB_BANNER"
unset LAB_BANNER
