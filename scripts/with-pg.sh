#!/usr/bin/env bash
# Runs a command against a throwaway PostgreSQL cluster, for the tests of
# the PostgreSQL driver and the store on it (issue 12):
#   scripts/with-pg.sh ctest --output-on-failure -R '^(test_db|test_recog|test_limiter)$'
# pg_virtualenv (postgresql-common) creates a cluster of the newest
# installed server in a temporary directory (-t: also as root, so nothing
# lands in /etc/postgresql), on the first free port from 5432, exports
# PGHOST, PGPORT, PGUSER, PGPASSWORD and PGDATABASE, runs the command and
# drops the cluster. SHOPKEEPER_TEST_PG="" tells the unit tests to connect
# with exactly those variables (test_recog and test_limiter make databases
# per test on that server: tests/unit/pgtest.h). It costs about 4 s
# (creating the cluster).
set -euo pipefail
if ! command -v pg_virtualenv >/dev/null; then
    echo "with-pg: pg_virtualenv not found: run scripts/install-deps.sh --test" >&2
    exit 1
fi
exec pg_virtualenv -t env SHOPKEEPER_TEST_PG= "$@"
