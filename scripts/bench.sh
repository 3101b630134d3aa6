#!/usr/bin/env bash
# `make bench`: the speed and memory figures, each printed with its target.
#   scripts/bench.sh BUILD_DIR [DEVICES]
# The seeded database is kept in BUILD_DIR/bench/ and reused by later runs.
set -euo pipefail
BUILD=${1:-build}
DEVICES=${2:-${BENCH_DEVICES:-1000000}}
MEMBERS=${BENCH_MEMBERS:-1000}
cd "$(dirname "$0")/.."
OUT="$BUILD/bench"
mkdir -p "$OUT"
echo "== Shopkeeper benchmarks on $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ) =="

echo
"$BUILD/bench_resolver" "$DEVICES"

# v2: 5000 stores with two displays each and one with 1000 (bench_seed.c)
SEED="$OUT/seed-v2-$DEVICES"
DB="$SEED.db"
if [[ ! -s "$SEED.keys" || ! -s "$DB" ]]; then
    echo
    echo "seeding $DEVICES devices ($MEMBERS members) into $DB (once; reused later)..."
    rm -f "$DB" "$DB"-* "$DB.master.key"
    SHOPKEEPER_SQLITE_SYNC=OFF "$BUILD/bench_seed" "$DB" "$MEMBERS" $((DEVICES - MEMBERS)) \
        "$SEED.keys" "$SEED.tokens"
fi

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
LOG="$OUT/serve.log"
start=$(date +%s.%N)
"$BUILD/shopkeeper" serve --db "$DB" --master-key "$DB.master.key" --listen "127.0.0.1:$PORT" \
    --log-level warn --max-connections 12000 --max-per-address 0 2>"$LOG" &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 600); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then break; fi
    kill -0 $SERVER 2>/dev/null || { cat "$LOG"; exit 1; }
    sleep 0.1
done
ready=$(date +%s.%N)
rss_kb=$(awk '/VmRSS/ {print $2}' /proc/$SERVER/status)
echo
echo "server: start with $DEVICES devices (decrypt keys, build index) in $(python3 -c "print(round($ready-$start,1))") s"
python3 - "$rss_kb" "$DEVICES" <<'PY'
import sys
rss = int(sys.argv[1]) * 1024; n = int(sys.argv[2])
per = rss / n
print(f"  resident size      {rss/2**20:.0f} MiB = {per:.0f} bytes/device   (target < 256)   {'ok' if per < 256 else 'MISSED'}")
PY

echo
BENCH_SERVER_PID=$SERVER "$BUILD/bench_http" "$PORT" "$SEED.keys" "$SEED.tokens" 10 4 100

# ---- suggestion engine (bench/bench_suggest.c) ------------------------------
# Basket completion on ../shared/data/groceries when present; MovieLens next
# item when Debian's r-cran-dslabs and r-base-core are installed (the data is
# extracted to a temporary directory and deleted afterwards: its licence
# forbids redistribution, so it is never stored in the tree).
GROCERIES=../shared/data/groceries/groceries_long.csv
if [[ -x "$BUILD/bench_suggest" && -s "$GROCERIES" ]]; then
    echo
    (
        ML_ARGS=()
        DSLABS=/usr/lib/R/site-library/dslabs/data/Rdata
        if command -v Rscript >/dev/null && [[ -e "$DSLABS.rdb" ]]; then
            ML_TMP=$(mktemp -d)
            trap 'rm -rf "$ML_TMP"' EXIT
            if Rscript -e 'e <- new.env(); lazyLoad(commandArgs(TRUE)[1], envir = e);
                           m <- get("movielens", e);
                           write.csv(m[, c("userId", "movieId", "timestamp")], commandArgs(TRUE)[2], row.names = FALSE)' \
                   "$DSLABS" "$ML_TMP/ratings.csv" >/dev/null 2>&1; then
                ML_ARGS=("$ML_TMP/ratings.csv")
            else
                echo "MovieLens: extraction with Rscript failed; skipped"
            fi
        else
            echo "MovieLens: skipped (apt-get install r-base-core r-cran-dslabs to run it)"
        fi
        "$BUILD/bench_suggest" "$GROCERIES" "${ML_ARGS[@]}"
    )
fi

# ---- suggestions through the service (bench/bench_suggest_svc.c) ------------
# The card's path on a real store: a fresh SQLite database in a temporary
# directory (removed at exit) with a 10 000-item catalogue, 50 000 anonymous
# baskets and 800 members (800 more for the concurrent run, 800 more for the
# diagnosis after ANALYZE); about 40 s on 2 cores, half of it seeding.
# BENCH_SUGGEST_MEMBERS and BENCH_SUGGEST_BASKETS change the seed; each
# timed phase stops after BENCH_SUGGEST_SECONDS (60).
if [[ -x "$BUILD/bench_suggest_svc" ]]; then
    echo
    "$BUILD/bench_suggest_svc" "${BENCH_SUGGEST_MEMBERS:-800}" "${BENCH_SUGGEST_BASKETS:-50000}" \
        "${BENCH_SUGGEST_SECONDS:-60}"
fi
