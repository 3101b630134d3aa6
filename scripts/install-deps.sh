#!/usr/bin/env bash
# Installs the Debian packages Shopkeeper needs to build, run and test.
# The only set-up step: safe to run again, installs only what is missing.
#   scripts/install-deps.sh          build + run dependencies
#   scripts/install-deps.sh --test   also the test tools (cmocka, pytest, requests,
#                                    Chromium, Node.js and playwright-core, the
#                                    PostgreSQL server, nats-server)
#   scripts/install-deps.sh --bench  also R and r-cran-dslabs (MovieLens for the
#                                    suggestion benchmark) and wrk
#   scripts/install-deps.sh --cluster  also what `make cluster` runs: the
#                                    PostgreSQL server, nats-server, haproxy
set -euo pipefail

# python3-aiosmtpd: the SMTP sink that catches the demo's and the tests' mail
# libpq-dev: the PostgreSQL client library the PostgreSQL driver is built on
# libnats-dev: nats.c, the NATS client the bus between serve nodes is built on
#   (src/service/bus.c: live card events, cache invalidations, presence)
RUNTIME=(build-essential cmake pkg-config libmicrohttpd-dev libjansson-dev
         libsqlite3-dev libssl-dev libcurl4-openssl-dev libpq-dev libnats-dev sqlite3
         python3-aiosmtpd)
# postgresql: the server, for the PostgreSQL driver's tests on throwaway
# clusters (its postgresql-common brings pg_virtualenv: scripts/with-pg.sh);
# python3-psycopg2: the API tests' look at the rows of a PostgreSQL server
# nats-server: test_bus starts a real one (and kills and restarts it) to test
#   the bus's delivery, reconnects and buffering
# python3-jsonschema: the API tests check every JSON answer against the
#   OpenAPI document's schemas (JSON Schema 2020-12, tests/api/openapi_check.py)
TESTING=(libcmocka-dev python3-pytest python3-requests python3-cryptography chromium clang
         fonts-dejavu-core postgresql python3-psycopg2 nats-server python3-jsonschema)

# wrk: the HTTP load of bench/bench_engines.py (PostgreSQL beside SQLite)
BENCH=(r-base-core r-cran-dslabs wrk)
# haproxy: the load balancer in front of the nodes of `make cluster`
CLUSTER=(postgresql nats-server haproxy)

want=("${RUNTIME[@]}")
if [[ "${1:-}" == "--bench" ]]; then
    want+=("${BENCH[@]}")
fi
if [[ "${1:-}" == "--cluster" ]]; then
    want+=("${CLUSTER[@]}")
fi
if [[ "${1:-}" == "--test" ]]; then
    want+=("${TESTING[@]}")
fi
# Node.js and npm: npm brings Redoc, which renders the API reference page
# (/docs/api), and the browser and contract tests' packages; an image that
# already has node from elsewhere keeps it.
command -v node >/dev/null && command -v npm >/dev/null || want+=(nodejs npm)

missing=()
for p in "${want[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done

install_browser_tools() {
    # Redoc (npm, pinned by web/package-lock.json): the server serves its
    # standalone bundle for the API reference page; nothing from a CDN.
    if [[ ! -s web/node_modules/redoc/bundles/redoc.standalone.js ]]; then
        echo "install-deps: installing npm packages for the pages (redoc)"
        (cd web && npm ci --no-audit --no-fund --loglevel=error)
    fi
    # playwright-core (npm, pinned by tests/browser/package-lock.json); no
    # browser download: the tests use /usr/bin/chromium.
    if [[ "${1:-}" == "--test" && ! -d tests/browser/node_modules/playwright-core ]]; then
        echo "install-deps: installing npm packages for the browser tests (playwright-core)"
        (cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)
    fi
    # the contract tests: Redocly CLI (the OpenAPI linter), openapi-typescript
    # and openapi-fetch (a typed client generated from the document) and
    # TypeScript (type-checks the client story against it)
    if [[ "${1:-}" == "--test" && ! -d tests/contract/node_modules/@redocly/cli ]]; then
        echo "install-deps: installing npm packages for the contract tests (redocly, openapi-typescript)"
        (cd tests/contract && npm ci --no-audit --no-fund --loglevel=error)
    fi
}
cd "$(dirname "$0")/.."

if [[ ${#missing[@]} -eq 0 ]]; then
    install_browser_tools "${1:-}"
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
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
install_browser_tools "${1:-}"
