#!/usr/bin/env bash
# `make cluster`: the chain deployment of docs/scaling.md on one machine —
# a throwaway PostgreSQL 15 cluster (pg_virtualenv), a 3-node NATS cluster
# with JetStream (each node its own ports and store directory), 3
# `shopkeeper serve` nodes sharing the database over NATS, and haproxy in
# front on the usual port, with the demo and the simulator. Prints the URLs;
# Ctrl-C stops it all (and drops the database: it is a demonstration).
#   scripts/cluster.sh [BIN]          (SHOPKEEPER_CLUSTER_PORT, default 8080)
set -euo pipefail
BIN=${1:-build/shopkeeper}
cd "$(dirname "$0")/.."
BIN=$(realpath "$BIN")

# PostgreSQL first: pg_virtualenv runs this script again inside a fresh
# cluster (PGHOST, PGPORT, PGUSER, PGPASSWORD exported) and drops it after.
if [[ -z "${SHOPKEEPER_CLUSTER_INSIDE:-}" ]]; then
    command -v pg_virtualenv >/dev/null || { echo "cluster: run scripts/install-deps.sh --cluster" >&2; exit 1; }
    export SHOPKEEPER_CLUSTER_INSIDE=1
    exec pg_virtualenv -t "$0" "$BIN"
fi

PORT=${SHOPKEEPER_CLUSTER_PORT:-8080}
VAR=var/cluster
rm -rf "$VAR"
mkdir -p "$VAR/log"
PIDS=()
stop() {
    trap - INT TERM EXIT
    echo
    echo "cluster: stopping"
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap stop INT TERM EXIT

wait_port() { # host port what pid
    for _ in $(seq 100); do
        if (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; then return 0; fi
        kill -0 "$4" 2>/dev/null || { echo "cluster: $3 did not start (see $VAR/log/)" >&2; exit 1; }
        sleep 0.1
    done
    echo "cluster: $3 did not open port $2" >&2
    exit 1
}

# ---- the database and its key store --------------------------------------
createdb shopkeeper
createdb shopkeeper_keys
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$VAR/master.key"
echo >> "$VAR/master.key"
chmod 600 "$VAR/master.key"
DB="dbname=shopkeeper"
"$BIN" demo --db "$DB" --master-key "$VAR/master.key" --token-file "$VAR/operator.token" \
    > "$VAR/log/demo.log"

# ---- NATS: three servers in one cluster, JetStream on each -----------------
ROUTES="nats://127.0.0.1:6231,nats://127.0.0.1:6232,nats://127.0.0.1:6233"
NATS_URLS=""
for i in 1 2 3; do
    mkdir -p "$VAR/nats$i"
    nats-server --server_name "n$i" -a 127.0.0.1 -p $((4230 + i)) -m $((8230 + i)) \
        --cluster_name shopkeeper --cluster "nats://127.0.0.1:$((6230 + i))" --routes "$ROUTES" \
        -js -sd "$VAR/nats$i" > "$VAR/log/nats$i.log" 2>&1 &
    PIDS+=($!)
    wait_port 127.0.0.1 $((4230 + i)) "nats-server n$i" $!
    NATS_URLS+="${NATS_URLS:+,}nats://127.0.0.1:$((4230 + i))"
done

# ---- three serve nodes --------------------------------------------------------
export SHOPKEEPER_VISIT_QUIET=${SHOPKEEPER_VISIT_QUIET:-60}
export SHOPKEEPER_PUBLIC_URL="http://127.0.0.1:$PORT"
for i in 1 2 3; do
    SHOPKEEPER_LOG_LEVEL=${SHOPKEEPER_LOG_LEVEL:-warn} \
    "$BIN" serve --db "$DB" --master-key "$VAR/master.key" --listen "127.0.0.1:$((8180 + i))" \
        --nats "$NATS_URLS" --node "node-$i" --max-per-address 0 \
        > "$VAR/log/node$i.log" 2>&1 &
    PIDS+=($!)
    wait_port 127.0.0.1 $((8180 + i)) "serve node-$i" $!
done

# ---- haproxy in front -----------------------------------------------------------
SK_HAPROXY_BIND=127.0.0.1:$PORT SK_NODE_1=127.0.0.1:8181 SK_NODE_2=127.0.0.1:8182 \
    SK_NODE_3=127.0.0.1:8183 haproxy -f scripts/haproxy.cfg -db > "$VAR/log/haproxy.log" 2>&1 &
PIDS+=($!)
wait_port 127.0.0.1 "$PORT" haproxy $!

# ---- the simulator, through the load balancer ------------------------------------
url="http://127.0.0.1:$PORT"
"$BIN" simulate --url "$url" --state "$VAR/simulator.json" --display-file "$VAR/display.txt" \
    --quiet > "$VAR/log/simulate.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do [[ -s "$VAR/display.txt" ]] && break; sleep 0.1; done
counter_url=$(head -1 "$VAR/display.txt" 2>/dev/null || echo "(the simulator did not start)")
cat <<MSG

  A Shopkeeper chain is running on this machine: haproxy at $url/ in front of
  3 nodes (127.0.0.1:8181-8183, node-1..3) on one PostgreSQL, talking over a
  3-server NATS cluster ($NATS_URLS).
    customer portal  $url/me        (jeff@example.com / shopkeeper-demo)
    brand console    $url/console   (admin@pike-pine.example / shopkeeper-demo)
    counter display  $counter_url
                     (the simulator's sightings reach whichever node haproxy picks;
                     the cards reach the display on whichever node it streams from)
    each node        http://127.0.0.1:8181/healthz  (…8182, …8183)
    metrics          curl -H "Authorization: Bearer \$(cat $VAR/operator.token)" $url/metrics
    logs             $VAR/log/
  Stop with Ctrl-C.
MSG
wait "${PIDS[@]}"
