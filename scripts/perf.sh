#!/usr/bin/env bash
# The performance figures of the README (Performance): BenchmarkDecision and
# the load mode of `tssgate simulate`, for the default and the OpenSSL builds
# alternately, 2 rounds each. Needs gcc, libssl-dev and a PostgreSQL at
# TSSGATE_TEST_POSTGRES (the default is the CI one). Prints the raw lines;
# compare x-floor-cpu and the CPU per decision between the builds of a round.
# ROUNDS (default 2) sets the rounds of each part; ONLY=bench or ONLY=load
# runs one part.
set -euo pipefail
rounds=${ROUNDS:-2}
only=${ONLY:-}
cd "$(dirname "$0")/.."
export TSSGATE_TEST_POSTGRES=${TSSGATE_TEST_POSTGRES:-'postgres://postgres@127.0.0.1:5432/test?sslmode=disable'}
out=$(mktemp -d); trap 'rm -rf "$out"' EXIT
go test -c -o $out/server.std ./internal/server
CGO_ENABLED=1 go test -c -tags openssl -o $out/server.ossl ./internal/server
CGO_ENABLED=0 go build -o $out/tssgate.std ./cmd/tssgate
CGO_ENABLED=1 go build -tags openssl -o $out/tssgate.ossl ./cmd/tssgate
if [ "$only" != load ]; then
echo "== BenchmarkDecision"
for r in $(seq "$rounds"); do for b in std ossl; do
  echo "-- round $r $b"
  (cd internal/server && $out/server.$b -test.run '^$' -test.bench 'Decision$' -test.benchtime 300x 2>&1 | grep Bench)
done; done
echo "== RSA floor (cpu of the process via the benchmark)"
(cd internal/server && $out/server.std -test.run '^$' -test.bench 'DecisionFloor' -test.benchtime 1x 2>&1 | grep Bench)
fi
[ "$only" = bench ] && exit 0
# floor prints the CPU time of one RS256 sign + verify in ms, measured by
# BenchmarkDecisionFloor with 16 callers: load-mode rounds measure it just
# before and just after themselves, since the machine's speed drifts.
floor() { (cd internal/server && $out/server.std -test.run '^$' -test.bench 'DecisionFloor/callers=16' -test.benchtime 1x 2>&1 |
  awk '{for (i = 1; i < NF; i++) if ($(i+1) == "floor-cpu-ns/op") printf "%.3f", $i / 1e6}'); }
echo "== load mode"
for r in $(seq "$rounds"); do for b in std ossl; do
  f1=$(floor)
  d=$(mktemp -d)
  cat > "$d/policy.yaml" <<'YAML'
version: 1
default: reject
rules:
  - {name: heartbeat, when: 'request.type == "PING"', action: approve}
  - {name: keysign, when: 'request.type == "KEYSIGN"', action: approve}
limits:
  - {name: per-token, when: 'request.type == "KEYSIGN"', key: [tx.token_id], window: 24h, max_count: 100000000}
YAML
  $out/tssgate.$b serve --dev --data-dir "$d" --listen 127.0.0.1:11077 --metrics-listen '' --policy "$d/policy.yaml" >/dev/null 2>&1 &
  pid=$!
  $out/tssgate.std simulate --data-dir "$d" --url http://127.0.0.1:11077 --type keysign >/dev/null
  before=$(awk '{print $14+$15}' /proc/$pid/stat)
  res=$($out/tssgate.std simulate --data-dir "$d" --url http://127.0.0.1:11077 --type keysign --n 3000 --c 16 2>&1 | tr '\n' ' ')
  after=$(awk '{print $14+$15}' /proc/$pid/stat)
  hwm=$(grep VmHWM /proc/$pid/status)
  kill $pid; wait $pid 2>/dev/null || true
  f2=$(floor)
  echo "-- round $r $b: $(awk -v a=$after -v b=$before -v t=$(getconf CLK_TCK) -v f1=$f1 -v f2=$f2 'BEGIN{c = (a-b)*1000/t/3000; printf "cpu/decision %.3f ms, floor %.3f/%.3f ms, x-floor-cpu %.2f", c, f1, f2, 2*c/(f1+f2)}') $hwm :: $res"
  rm -rf "$d"
done; done
