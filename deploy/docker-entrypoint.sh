#!/bin/sh
# The image's entry point: `neo-events ARGS`, with two container conveniences.
#  - `serve` binds $HOST:$PORT with $WEB_CONCURRENCY workers (flags given after it win).
#  - Without SECRET_KEY, the key is read from $SECRET_KEY_FILE; `migrate`, the one-shot that runs
#    before any server, creates that file with a random key when it does not exist yet, so
#    replicas sharing its volume sign and verify with one key.
set -eu

if [ -z "${SECRET_KEY:-}" ] && [ -n "${SECRET_KEY_FILE:-}" ]; then
  if [ ! -s "$SECRET_KEY_FILE" ] && [ "${1:-}" = migrate ]; then
    tmp="$SECRET_KEY_FILE.$$"
    (umask 077 && python3 -c 'import secrets; print(secrets.token_urlsafe(48))' > "$tmp")
    # ln refuses to replace an existing file: of two racing writers, one key wins.
    ln "$tmp" "$SECRET_KEY_FILE" 2>/dev/null || true
    rm -f "$tmp"
    echo "docker-entrypoint: generated a signing key in $SECRET_KEY_FILE" >&2
  fi
  if [ -s "$SECRET_KEY_FILE" ]; then
    SECRET_KEY=$(cat "$SECRET_KEY_FILE")
    export SECRET_KEY
  fi
fi

if [ "${1:-}" = serve ]; then
  shift
  set -- serve --host "${HOST:-0.0.0.0}" --port "${PORT:-8000}" --workers "${WEB_CONCURRENCY:-1}" "$@"
fi
exec neo-events "$@"
