#!/usr/bin/env bash
# Run CI (.ci/run) from a clean clone while two busy loops keep both cores at 100 %: a test
# that passes only on an idle or fast machine fails here. Prints the result and the time taken.
# Usage: bash scripts/ci_busy.sh [LOG]   (the clone goes beside this checkout, so ../shared
# resolves as in CI; the log, by default, to build/ci-busy.log)
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
clone="$root/../busy-check"
log=${1:-$root/build/ci-busy.log}
mkdir -p "$(dirname "$log")"
rm -rf "$clone" && git clone -q "$root" "$clone" || exit 1
loops=()
for _ in 1 2; do
  python3 -c "while True: pass" & loops+=($!)
done
trap 'kill "${loops[@]}" 2>/dev/null' EXIT
echo "busy loops: ${loops[*]} on $(nproc) cores; $(lscpu | sed -n 's/^Model name: *//p')," \
     "AVX-512: $(lscpu | grep -o 'avx512[a-z_0-9]*' | sort -u | tr '\n' ' ')" | tee "$log"
start=$(date +%s)
(cd "$clone" && CI=true bash .ci/run) >>"$log" 2>&1
code=$?
echo "exit $code after $(( $(date +%s) - start )) s under two busy loops; last lines:" | tee -a "$log"
tail -n 5 "$log" | grep -E "passed|failed|error" || true
exit $code
