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

# the demo's mail (password resets, staff invitations) goes to a local SMTP
# sink that writes each message under var/mail/; nothing leaves the machine
MAIL_DIR="$(dirname "$SHOPKEEPER_DB")/mail"
MAIL_PORT=${SHOPKEEPER_DEMO_SMTP_PORT:-8025}
/usr/bin/python3 scripts/mail_sink.py --port "$MAIL_PORT" --dir "$MAIL_DIR" >/dev/null &
SINK=$!
trap 'kill $SINK 2>/dev/null' EXIT
for _ in $(seq 50); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$MAIL_PORT") 2>/dev/null; then break; fi
    kill -0 $SINK 2>/dev/null || { echo "the demo's mail sink did not start (port $MAIL_PORT taken? set SHOPKEEPER_DEMO_SMTP_PORT)"; exit 1; }
    sleep 0.1
done
export SHOPKEEPER_SMTP_URL=${SHOPKEEPER_SMTP_URL:-smtp://127.0.0.1:$MAIL_PORT}
export SHOPKEEPER_MAIL_FROM=${SHOPKEEPER_MAIL_FROM:-shopkeeper@demo.example}
# request lines would bury the URLs below; SHOPKEEPER_LOG_LEVEL=info shows them
export SHOPKEEPER_LOG_LEVEL=${SHOPKEEPER_LOG_LEVEL:-warn}
host=${SHOPKEEPER_LISTEN%:*}; port=${SHOPKEEPER_LISTEN##*:}
[[ -z "$host" || "$host" == "0.0.0.0" ]] && host=127.0.0.1
host=${host#[}; host=${host%]}
url="http://$SHOPKEEPER_LISTEN"
[[ "$host" == *:* ]] && url="http://[$host]:$port"
export SHOPKEEPER_PUBLIC_URL=${SHOPKEEPER_PUBLIC_URL:-$url}
"$BIN" serve &
SERVER=$!
SIM=
trap 'kill $SIM $SERVER $SINK 2>/dev/null; wait $SERVER 2>/dev/null' INT TERM EXIT

for _ in $(seq 50); do
    if (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; then break; fi
    kill -0 $SERVER 2>/dev/null || { echo "shopkeeper did not start (see the log above)"; exit 1; }
    sleep 0.1
done
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
    brand console    $url/console   (staff: sign in as admin@pike-pine.example)
    counter display  $counter_url
                     ($counter_store; demo shoppers arrive every few seconds)
    API reference    $url/docs/api   (the OpenAPI document: $url/openapi.json)
    API              $url/v1/brands   (docs/api.md)
    health           $url/healthz
    demo mail: $MAIL_DIR/ (password resets and staff invitations land here)

  Demo credentials (every password: shopkeeper-demo)
    shopper          jeff@example.com, anna@example.com, ravi@example.com, ...
    staff            admin@pike-pine.example (the whole brand),
                     manager@pike-pine.example, counter@pike-pine.example
                     (the brand's first store); also at marlowe-books, harrow-vale
    operator token   $(cat "$TOKEN_FILE" 2>/dev/null || echo "(in $TOKEN_FILE)")

  Try:  curl $url/v1/brands
  Stop with Ctrl-C.
MSG
wait $SERVER
