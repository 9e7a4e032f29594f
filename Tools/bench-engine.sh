#!/bin/sh
# Engine benchmark: durable 1 KiB appends (1, 16, 128 appenders) and 100-message page reads
# (1, 2 threads), engine vs. a raw LMDB + AEAD baseline with the same group commit, measured
# side by side in one run. Prints a Markdown table (medians, ranges, engine/raw ratios, peak RSS).
#
#   Tools/bench-engine.sh                      # 3 runs x 3 s per side and configuration (~2-3 min)
#   Tools/bench-engine.sh --runs 5 --seconds 5 --json bench.json
#   SCRATCH=.build-bench Tools/bench-engine.sh # build in another scratch path
#
# Every argument is passed to `tvault-bench engine` (see `--help`). The data directories go
# under ./.build-bench-tmp (or --dir PATH): the file system there is the one measured.
set -eu

cd "$(dirname "$0")/.."
scratch="${SCRATCH:-.build}"

echo "bench-engine: building tvault-bench (release, scratch path $scratch)" >&2
swift build -c release --scratch-path "$scratch" --product tvault-bench >&2
bin="$(swift build -c release --scratch-path "$scratch" --show-bin-path)/tvault-bench"

echo "bench-engine: $(nproc) CPUs, $(uname -sr)" >&2
exec "$bin" engine --runs 3 --seconds 3 --warmup 0.5 "$@"
