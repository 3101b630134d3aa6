#!/usr/bin/env bash
# Runs every libFuzzer harness in BUILD for SECONDS each, from the corpus in
# fuzz/corpus/<name>/ (read, never written); prints one line per harness and
# fails on the first crash, leaving the input in fuzz/crashes/.
#   scripts/fuzz.sh build-fuzz 60
set -euo pipefail
BUILD=${1:-build-fuzz}
SECONDS_EACH=${2:-60}
cd "$(dirname "$0")/.."
mkdir -p fuzz/crashes
status=0
for bin in "$BUILD"/fuzz_*; do
    [[ -x "$bin" ]] || continue
    name=$(basename "$bin"); short=${name#fuzz_}
    work="$BUILD/corpus-$short"
    mkdir -p "$work"
    log="$BUILD/$name.log"
    if "$bin" -max_total_time="$SECONDS_EACH" -max_len=4096 -timeout=10 -rss_limit_mb=1024 \
        -artifact_prefix=fuzz/crashes/"$name"- "$work" "fuzz/corpus/$short" >"$log" 2>&1; then
        runs=$(grep -Eo 'Done [0-9]+ runs' "$log" | grep -Eo '[0-9]+' || echo "?")
        cov=$(grep -Eo 'cov: [0-9]+' "$log" | tail -1 | grep -Eo '[0-9]+' || echo "?")
        printf 'fuzz: %-10s %8s runs in %ss, coverage %s, no crash\n' "$short" "$runs" "$SECONDS_EACH" "$cov"
    else
        echo "fuzz: $short FOUND A CRASH (input in fuzz/crashes/, log $log):"
        grep -E "ERROR|SUMMARY|==[0-9]+==" "$log" | head -5
        status=1
    fi
done
exit $status
