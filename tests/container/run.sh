#!/usr/bin/env bash
# The container test (not part of `make test`; .ci/run runs it after): builds the API image and
# stand-ins for PostgreSQL, Redis and HAProxy FROM a local Debian base, then test_stack.py runs
# compose.yaml's stack and checks it end to end. No container registry is needed: the base is
# made with debootstrap (cached as a tarball in $NEO_CI_CACHE, outside the repository) and
# turned into an image with `docker import`.
#
# Needs root, Debian's docker.io, docker-compose and debootstrap (.ci/run installs them). Where
# they are missing or dockerd cannot start it says so and skips, except under CI (CI set),
# where that fails. It starts its own dockerd (private socket and data root) unless one already
# answers, and afterwards removes every container, volume, network and image it made, stops
# its dockerd and takes away the bridges, iptables rules and chains, FORWARD policy and
# ip_forward setting dockerd changed.
#
#   make install && sudo tests/container/run.sh     # or: make container-test
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD

CACHE=${NEO_CI_CACHE:-/var/cache/neo-events-ci}
STATE=${NEO_CI_STATE:-/var/lib/neo-events-ci}
RUNDIR=/run/neo-events-ci
BASE_PACKAGES=python3,python3-venv,python3-pip,ca-certificates
# Named by what went into it, so a change of packages makes a new one.
BASE_TARBALL=$CACHE/bookworm-minbase-$(echo "$BASE_PACKAGES" | md5sum | cut -c1-8).tar
# The proxy's port on the host's loopback: a free one (never 8000, 5432 or 6379, which the
# machine's own services and other developers use).
NEO_CONTAINER_TEST_PORT=${NEO_CONTAINER_TEST_PORT:-$(python3 -c \
  'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}
export NEO_CONTAINER_TEST_PORT
export COMPOSE_PROJECT_NAME=neo-events-ci
export NEO_IMAGE=neo-events:ci
STARTED=$(date +%s)

say() { echo "container test: $*"; }
skip() {
  if [ -n "${CI:-}" ]; then
    say "FAILED: $* (CI machines can run containers; this must not skip there)"
    exit 1
  fi
  say "skipped: $*"
  exit 0
}

[ -x "$ROOT/.venv/bin/pytest" ] || { say "run \`make install\` first"; exit 1; }
[ "$(id -u)" = 0 ] || skip "needs root (it starts dockerd)"
for tool in dockerd docker docker-compose debootstrap iptables; do
  command -v "$tool" >/dev/null ||
    skip "$tool is missing (apt-get install docker.io docker-compose debootstrap)"
done

# --- dockerd: ours, on a private socket, unless one already answers --------------------------
OWN_DOCKERD=0
if ! docker info >/dev/null 2>&1; then
  OWN_DOCKERD=1
  mkdir -p "$STATE" "$RUNDIR"
  FORWARD_BEFORE=$(cat /proc/sys/net/ipv4/ip_forward)
  # dockerd sets the FORWARD chain's policy to DROP when it turns forwarding on.
  FORWARD_POLICY_BEFORE=$(iptables -S FORWARD | awk '$1 == "-P" {print $3}')
  LINKS_BEFORE=$(ip -o link show | awk -F': ' '{print $2}' | cut -d@ -f1 | sort)
  export DOCKER_HOST=unix://$RUNDIR/docker.sock
  dockerd --host "$DOCKER_HOST" --data-root "$STATE/docker" --exec-root "$RUNDIR/exec" \
    --pidfile "$RUNDIR/dockerd.pid" >"$STATE/dockerd.log" 2>&1 &
  DOCKERD_PID=$!
fi

remove_docker_iptables() {
  local table rule chain
  for table in filter nat; do
    # Rules in the built-in chains that jump to or name dockerd's chains and bridges...
    iptables -t "$table" -S | grep -E '^-A (INPUT|FORWARD|OUTPUT|PREROUTING|POSTROUTING) ' |
      grep -E 'DOCKER|docker0|br-[0-9a-f]{12}' | while read -r rule; do
        # shellcheck disable=SC2086  # the rule's words, as iptables -S printed them
        iptables -t "$table" -D ${rule#-A } 2>/dev/null || true
      done
    # ...then dockerd's own chains.
    for chain in $(iptables -t "$table" -S | awk '$1 == "-N" && $2 ~ /^DOCKER/ {print $2}'); do
      iptables -t "$table" -F "$chain" 2>/dev/null || true
    done
    for chain in $(iptables -t "$table" -S | awk '$1 == "-N" && $2 ~ /^DOCKER/ {print $2}'); do
      iptables -t "$table" -X "$chain" 2>/dev/null || true
    done
  done
}

cleanup() {
  local status=$?
  set +e
  say "cleaning up"
  if docker info >/dev/null 2>&1; then
    compose down --volumes --remove-orphans --timeout 5 >/dev/null 2>&1
    # (On a daemon of our own everything goes with its data root below; on someone else's,
    # only the build stage's untagged image stays behind.)
    docker image rm -f neo-events:ci neo-ci/services:local local/bookworm-py:ci \
      local/bookworm-py:base >/dev/null 2>&1
  fi
  if [ "$OWN_DOCKERD" = 1 ]; then
    kill "$DOCKERD_PID" 2>/dev/null && wait "$DOCKERD_PID" 2>/dev/null
    # The links dockerd made (docker0, br-*, veths left behind), its iptables, ip_forward.
    for link in $(ip -o link show | awk -F': ' '{print $2}' | cut -d@ -f1 | sort); do
      grep -qx "$link" <<<"$LINKS_BEFORE" || ip link delete "$link" 2>/dev/null
    done
    remove_docker_iptables
    iptables -P FORWARD "${FORWARD_POLICY_BEFORE:-ACCEPT}"
    echo "$FORWARD_BEFORE" >/proc/sys/net/ipv4/ip_forward
    rm -rf "$STATE/docker" "$RUNDIR"
  fi
  say "took $(($(date +%s) - STARTED)) s in all"
  exit "$status"
}
trap cleanup EXIT

compose() {
  docker-compose -f "$ROOT/compose.yaml" -f "$ROOT/tests/container/compose.local.yaml" "$@"
}

for _ in $(seq 100); do
  docker info >/dev/null 2>&1 && break
  if [ "$OWN_DOCKERD" = 1 ] && ! kill -0 "$DOCKERD_PID" 2>/dev/null; then
    tail -20 "$STATE/dockerd.log"
    skip "dockerd did not start on this machine (its log is above)"
  fi
  sleep 0.2
done
docker info >/dev/null 2>&1 || skip "dockerd did not answer within 20 s"

# --- the base image: debootstrap once, then the cached tarball --------------------------------
if [ ! -s "$BASE_TARBALL" ]; then
  # The Debian mirror apt uses here (comments left out: they may name unreachable ones).
  mirror=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/* 2>/dev/null | grep -v '^\s*#' |
    grep -oE 'https?://[^ ]+/debian/?' | grep -v security | head -1 || true)
  mirror=${mirror:-http://deb.debian.org/debian}
  say "debootstrap bookworm from $mirror (once; cached in $BASE_TARBALL)"
  t0=$(date +%s)
  rootfs=$CACHE/rootfs.tmp
  # A run that died inside debootstrap may have left /proc mounted in the tree.
  { findmnt -R -n -o TARGET "$rootfs" 2>/dev/null || true; } | sort -r | xargs -r -n1 umount -l
  rm -rf --one-file-system "$rootfs"
  mkdir -p "$CACHE"
  debootstrap --variant=minbase --include="$BASE_PACKAGES" bookworm "$rootfs" "$mirror" \
    >"$CACHE/debootstrap.log" 2>&1 || { tail -20 "$CACHE/debootstrap.log"; exit 1; }
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  tar -C "$rootfs" -cf "$BASE_TARBALL.tmp" .  # uncompressed: imports faster, made faster
  mv "$BASE_TARBALL.tmp" "$BASE_TARBALL"
  rm -rf --one-file-system "$rootfs"
  say "debootstrap took $(($(date +%s) - t0)) s"
fi
t0=$(date +%s)
docker import -c 'CMD ["/bin/bash"]' "$BASE_TARBALL" local/bookworm-py:base >/dev/null
# This machine's certificate authorities (its package index is reached through one the Debian
# base does not know), so the Dockerfile's own network install from uv.lock runs unchanged.
ctx=$(mktemp -d)
cp /etc/ssl/certs/ca-certificates.crt "$ctx/"
printf 'FROM local/bookworm-py:base\nCOPY ca-certificates.crt /etc/ssl/certs/\n' >"$ctx/Dockerfile"
docker build -q -t local/bookworm-py:ci "$ctx" >/dev/null
rm -rf "$ctx"
say "base image imported in $(($(date +%s) - t0)) s"

# --- the images: the API's from the repository's Dockerfile, the stand-ins beside it ----------
t0=$(date +%s)
say "building the API image and the service stand-ins"
docker build --build-arg BASE_IMAGE=local/bookworm-py:ci -t neo-ci/services:local \
  tests/container/services >"$STATE/build-services.log" 2>&1 &
services_pid=$!
if ! docker build --build-arg BASE_IMAGE=local/bookworm-py:ci -t "$NEO_IMAGE" . \
  >"$STATE/build-api.log" 2>&1; then
  tail -40 "$STATE/build-api.log"
  exit 1
fi
wait "$services_pid" || { tail -40 "$STATE/build-services.log"; exit 1; }
say "images built in $(($(date +%s) - t0)) s; $NEO_IMAGE is" \
  "$(docker image inspect -f '{{.Size}}' "$NEO_IMAGE" | awk '{printf "%.0f MB", $1 / 1e6}')" \
  "(its base $(docker image inspect -f '{{.Size}}' local/bookworm-py:ci |
    awk '{printf "%.0f MB", $1 / 1e6}'))"

# --- the stack, end to end --------------------------------------------------------------------
export NEO_COMPOSE="docker-compose -f $ROOT/compose.yaml -f $ROOT/tests/container/compose.local.yaml"
export NEO_CONTAINER_STACK=1
t0=$(date +%s)
# Neither tests/conftest.py nor the plugins (hypothesis, schemathesis, anyio) are needed here;
# loading them costs half a minute on a busy 2-core machine.
PYTEST_DISABLE_PLUGIN_AUTOLOAD=1 "$ROOT/.venv/bin/pytest" --noconftest -p no:cacheprovider \
  "$ROOT/tests/container" "$@"
say "the stack test took $(($(date +%s) - t0)) s"
