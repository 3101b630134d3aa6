#!/usr/bin/env bash
# Installs the Debian packages Shopkeeper needs to build, run and test.
# The only set-up step: safe to run again, installs only what is missing.
#   scripts/install-deps.sh          build + run dependencies
#   scripts/install-deps.sh --test   also the test tools (cmocka, pytest, requests)
set -euo pipefail

RUNTIME=(build-essential cmake pkg-config libmicrohttpd-dev libjansson-dev
         libsqlite3-dev libssl-dev sqlite3)
TESTING=(libcmocka-dev python3-pytest python3-requests)

want=("${RUNTIME[@]}")
if [[ "${1:-}" == "--test" ]]; then
    want+=("${TESTING[@]}")
fi

missing=()
for p in "${want[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
    exit 0
fi

echo "install-deps: installing Debian packages: ${missing[*]}"
SUDO=""
if [[ $(id -u) -ne 0 ]]; then
    if command -v sudo >/dev/null; then SUDO="sudo"; else
        echo "install-deps: need root (or sudo) to run apt-get install ${missing[*]}" >&2
        exit 1
    fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "install-deps: done"
