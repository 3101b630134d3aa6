#!/usr/bin/env bash
# `make run`: create the database under var/ if absent, add the demo to an
# empty one, start the service and print where to go.
set -euo pipefail
BIN=${1:-build/shopkeeper}
cd "$(dirname "$0")/.."
export SHOPKEEPER_DB=${SHOPKEEPER_DB:-var/shopkeeper.db}
export SHOPKEEPER_LISTEN=${SHOPKEEPER_LISTEN:-127.0.0.1:8080}
mkdir -p "$(dirname "$SHOPKEEPER_DB")"
TOKEN_FILE="$(dirname "$SHOPKEEPER_DB")/demo-operator.token"

"$BIN" demo --token-file "$TOKEN_FILE" >/dev/null

# visits close after a minute without presence, so the demo keeps moving
export SHOPKEEPER_VISIT_QUIET=${SHOPKEEPER_VISIT_QUIET:-60}
# request lines would bury the URLs below; SHOPKEEPER_LOG_LEVEL=info shows them
export SHOPKEEPER_LOG_LEVEL=${SHOPKEEPER_LOG_LEVEL:-warn}
"$BIN" serve &
SERVER=$!
SIM=
trap 'kill $SIM $SERVER 2>/dev/null; wait $SERVER 2>/dev/null' INT TERM EXIT

host=${SHOPKEEPER_LISTEN%:*}; port=${SHOPKEEPER_LISTEN##*:}
[[ -z "$host" || "$host" == "0.0.0.0" ]] && host=127.0.0.1
host=${host#[}; host=${host%]}
for _ in $(seq 50); do
    if (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; then break; fi
    kill -0 $SERVER 2>/dev/null || { echo "shopkeeper did not start (see the log above)"; exit 1; }
    sleep 0.1
done
url="http://$SHOPKEEPER_LISTEN"
[[ "$host" == *:* ]] && url="http://[$host]:$port"
DISPLAY_FILE="$(dirname "$SHOPKEEPER_DB")/demo-display.txt"
rm -f "$DISPLAY_FILE"
# the demo's devices and scanners: shoppers walk in and out of the stores
"$BIN" simulate --url "$url" --state "$(dirname "$SHOPKEEPER_DB")/simulator.json" \
    --display-file "$DISPLAY_FILE" --quiet &
SIM=$!
for _ in $(seq 100); do [[ -s "$DISPLAY_FILE" ]] && break; sleep 0.1; done
counter_url=$(head -1 "$DISPLAY_FILE" 2>/dev/null || echo "(the simulator did not start)")
counter_store=$(sed -n 2p "$DISPLAY_FILE" 2>/dev/null)
cat <<MSG

  Shopkeeper is running at $url/
    home page        $url/
    customer portal  $url/me   (sign in as jeff@example.com)
    counter display  $counter_url
                     ($counter_store; demo shoppers arrive every few seconds)
    API              $url/v1/brands   (docs/api.md)
    health           $url/healthz

  Demo credentials (every password: shopkeeper-demo)
    shopper          jeff@example.com, anna@example.com, ravi@example.com, ...
    staff            admin@pike-pine.example, manager@pike-pine.example,
                     counter@pike-pine.example (also marlowe-books, harrow-vale)
    operator token   $(cat "$TOKEN_FILE" 2>/dev/null || echo "(in $TOKEN_FILE)")

  Try:  curl $url/v1/brands
  Stop with Ctrl-C.
MSG
wait $SERVER
