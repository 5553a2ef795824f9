#!/usr/bin/env bash
# The whole benchmark suite, one command: criterion benches, then the load runs (HTTP, Redis,
# Redis Cluster, strategies). Writes benches/strategies.md and benches/strategies.svg; prints the rest.
# Takes about 8 minutes on the 2-core machines here (7 min measured, before the strategies
# criterion groups covered every tier).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${CARGO_TARGET_DIR:-}" ]; then
  export CARGO_TARGET_DIR="${HOME:-/root}/.cache/typed-cache-target"
fi
cargo bench -p benches --bench near_hit --bench codecs --bench redis_get --bench http_hit --bench strategies -- --warm-up-time 1 --measurement-time 3
cargo build --release -p benches --bins
"$CARGO_TARGET_DIR/release/http_load" 3 3 64
"$CARGO_TARGET_DIR/release/redis_load" 9
"$CARGO_TARGET_DIR/release/cluster_load" 5
"$CARGO_TARGET_DIR/release/strategies" 3 3
