#!/usr/bin/env bash
# Install what `make bench` needs beyond the dev requirements: wrk (HTTP load
# generator, from Debian). Idempotent and silent when everything is present.
set -euo pipefail

if command -v wrk >/dev/null 2>&1; then
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "bench/setup.sh: wrk is not installed and we are not root;" >&2
    echo "  install it (Debian/Ubuntu: sudo apt-get install -y wrk) and run 'make bench' again." >&2
    exit 1
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "bench/setup.sh: wrk is not installed and apt-get is not available;" >&2
    echo "  install wrk with this system's package manager and run 'make bench' again." >&2
    exit 1
fi

echo "bench/setup.sh: installing wrk from Debian packages"
export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# apt is chatty (debconf notes on stderr); show its output only when it fails.
if ! { apt-get update -qq && apt-get install -y -qq wrk; } >"$log" 2>&1; then
    cat "$log" >&2
    echo "bench/setup.sh: could not install wrk with apt-get" >&2
    exit 1
fi
command -v wrk >/dev/null 2>&1 || { echo "bench/setup.sh: wrk still missing after install" >&2; exit 1; }
