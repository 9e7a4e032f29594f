#!/usr/bin/env bash
# Socket load benchmark: tvault serve vs. redis-server, both on a Unix socket, same machine,
# same connection counts, 1 KiB values, closed loop with one request in flight per connection.
# Reports throughput and p50/p99 latency of each side, and each server's peak resident memory.
# Each run's line also gives the share of processor time the host gave other guests meanwhile
# ("steal" in /proc/stat; 0 on a machine of its own), and the summary their median: a run with
# much of it says more about the host than about the server.
#
#   workload "append": tvault conversation.append of one 1 KiB message (durable: answered after
#                      fsync) vs. redis SET of a 1 KiB value (redis-benchmark -t set -d 1024)
#   workload "read":   tvault conversation.read of a 100-message page at a random offset in a
#                      1,000-message conversation vs. redis LRANGE mylist 0 99 on a list of
#                      1,000 1 KiB values
#
# Redis runs in two configurations: "always" (--appendonly yes --appendfsync always, durable
# like tvault) and "none" (no persistence at all). A second tvault runs with --unsafe-no-sync
# (commits not flushed; appends only), to set against Redis without persistence: what the
# request path costs apart from the flush. For each connection count the four servers start
# fresh in temporary directories and the runs interleave (tvault, tvault no-sync, redis always,
# redis none), so background noise hits every side alike. Each measured run starts after `sync`:
# the write-back of another side's dirty pages (the no-sync tvault leaves hundreds of MiB, which
# the kernel writes out some 30 s later) would otherwise land in whichever run comes then.
# Each cell is the median of --runs runs.
#
#   Tools/bench-socket.sh                          # 1, 16, 64 connections; 3 runs x 4 s (~5 min)
#   Tools/bench-socket.sh --seconds 5 --runs 2 --connections 1,16
#   SCRATCH=.build-load Tools/bench-socket.sh      # build in another scratch path
#
# Options: --seconds S, --runs R, --connections LIST, --dir PATH (temporary directories; its
# file system is the one measured; default ./.build-socket-tmp), --raw PATH (every run, TSV),
# --no-build, --client poll|posix|typed (tvault-load's client: poll, the default, one thread
# driving every connection through poll(2) with pre-encoded lines, as redis-benchmark's
# single-threaded event loop does, so both servers are driven alike; posix, the same with a
# blocking socket per connection thread; typed, TranscriptClient, what a Swift application
# pays), --decode full|none (typed client only: decoding every response, the default, or raw
# lines only checked for a result; see tvault-load --help). Needs redis-server and
# redis-benchmark (installed through Tools/install-deps).
set -euo pipefail

cd "$(dirname "$0")/.."
root="$(pwd)"
scratch="${SCRATCH:-.build}"
seconds=4
runs=3
connections="1 16 64"
base="$root/.build-socket-tmp"
raw=""
build=1
client=poll
decode=full

usage() { awk 'NR == 1 { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "$0"; }
while [ $# -gt 0 ]; do
    case "$1" in
        --seconds) seconds="$2"; shift 2 ;;
        --runs) runs="$2"; shift 2 ;;
        --connections) connections="${2//,/ }"; shift 2 ;;
        --dir) base="$2"; shift 2 ;;
        --raw) raw="$2"; shift 2 ;;
        --no-build) build=0; shift ;;
        --client) client="$2"; shift 2 ;;
        --decode) decode="$2"; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "bench-socket: unknown option $1" >&2; usage >&2; exit 2 ;;
    esac
done

say() { echo "bench-socket: $*" >&2; }

# --- dependencies and build ---------------------------------------------------------------
if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-benchmark >/dev/null 2>&1; then
    say "installing redis-server"
    Tools/install-deps redis-server
fi
if [ "$build" = 1 ]; then
    say "building tvault and tvault-load (release, scratch path $scratch)"
    swift build -c release --scratch-path "$scratch" --product tvault >&2
    swift build -c release --scratch-path "$scratch" --product tvault-load >&2
fi
bin="$(swift build -c release --scratch-path "$scratch" --show-bin-path)"
for tool in tvault tvault-load; do
    [ -x "$bin/$tool" ] || { say "missing $bin/$tool (run without --no-build)"; exit 1; }
done

mkdir -p "$base"
base="$(cd "$base" && pwd)"
work="$(mktemp -d "$base/run.XXXXXX")"
results="$work/results.tsv"      # workload N side run ops_per_sec p50_ms p99_ms
: > "$results"
pids=()

cleanup() {
    for pid in "${pids[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    pids=()
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_for() { # wait_for SECONDS COMMAND...: retries COMMAND every 0.1 s
    local tries=$(( $1 * 10 )); shift
    while [ "$tries" -gt 0 ]; do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 0.1
        tries=$(( tries - 1 ))
    done
    return 1
}

stop() { # stop PID: SIGTERM and wait (graceful: tvault answers what it read, redis exits)
    kill -TERM "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
    local kept=()
    for pid in "${pids[@]}"; do [ "$pid" = "$1" ] || kept+=("$pid"); done
    pids=("${kept[@]+"${kept[@]}"}")
}

start_tvault() { # start_tvault DIR NAME [SERVE ARGS...]: sets tv_pid, tv_sock, tv_token
    local dir="$1/$2"; shift 2
    mkdir -p "$dir"
    "$bin/tvault" serve --data-dir "$dir/data" --rate-limit 0 --log-level warning "$@" >"$dir/serve.out" 2>"$dir/serve.err" &
    tv_pid=$!
    pids+=("$tv_pid")
    if ! wait_for 60 grep -q '^Listening on' "$dir/serve.out"; then
        say "tvault serve did not start:"; cat "$dir/serve.out" "$dir/serve.err" >&2; exit 1
    fi
    tv_sock="$(sed -n 's/^Listening on //p' "$dir/serve.out")"
    tv_token="$(awk '$1 == "token:" { print $2 }' "$dir/serve.out")"
    [ -n "$tv_token" ] || { say "no token in tvault serve's output"; cat "$dir/serve.out" >&2; exit 1; }
}

start_redis() { # start_redis DIR NAME ARGS...: sets rd_pid; socket DIR/NAME.sock
    local dir="$1" name="$2"; shift 2
    mkdir -p "$dir/$name"
    redis-server --port 0 --unixsocket "$dir/$name.sock" --unixsocketperm 700 --dir "$dir/$name" \
        --save '' --daemonize no --logfile "$dir/$name.log" "$@" &
    rd_pid=$!
    pids+=("$rd_pid")
    if ! wait_for 30 redis-cli -s "$dir/$name.sock" ping; then
        say "redis-server ($name) did not start:"; cat "$dir/$name.log" >&2; exit 1
    fi
}

record() { echo "$1	$2	$3	$4	$5	$6	$7" >> "$results"; }

memory="$work/memory.tsv"       # N side peak_rss_kib anon_rss_kib
: > "$memory"
# peak_rss PID: the peak resident set (VmHWM) and the anonymous part now (RssAnon: the heap,
# without the store's mapped file pages), in KiB.
peak_rss() { awk '$1 == "VmHWM:" { p = $2 } $1 == "RssAnon:" { a = $2 } END { print (p == "" ? "n/a" : p) "\t" (a == "" ? "n/a" : a) }' "/proc/$1/status" 2>/dev/null || printf 'n/a\tn/a\n'; }

steals="$work/steal.tsv"          # side run steal_percent
: > "$steals"
# On a virtual machine the host may run other guests on this one's processors: that time,
# "steal" in /proc/stat, slows whichever side runs then. Each run reports its share, so that a
# disturbed run can be told from a slow server.
# steal_mark: the stolen and the total processor time so far, in clock ticks.
steal_mark() { awk '$1 == "cpu" { print $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat; }
# steal_since MARK SIDE RUN: the share of processor time stolen since MARK, in %; recorded.
steal_since() {
    local share
    share="$(steal_mark | awk -v m="$1" 'BEGIN { split(m, a, " ") } { d = $2 - a[2]; printf "%.0f", (d > 0 ? ($1 - a[1]) * 100 / d : 0) }')"
    echo "$2	$3	$share" >> "$steals"
    echo "$share"
}

# settle: writes out every dirty page first, so that no run pays for an earlier one's.
settle() { sync; }

tvault_run() { # tvault_run WORKLOAD N RUN SIDE SOCK TOKEN
    local side="$4" out mark
    settle
    mark="$(steal_mark)"
    if ! out="$("$bin/tvault-load" --socket "$5" --token "$6" --connections "$2" \
            --seconds "$seconds" --warmup 0.5 --mode "$1" --message-bytes 1024 --page 100 --prefill 1000 \
            --client "$client" --decode "$decode" --label "run $3" --quiet)"; then
        say "tvault-load $1 -c $2 failed"; return 0
    fi
    local ops p50 p99 errors
    ops="$(sed -n 's/.*"ops_per_sec":\([0-9.]*\).*/\1/p' <<<"$out")"
    p50="$(sed -n 's/.*"p50_ms":\([0-9.]*\).*/\1/p' <<<"$out")"
    p99="$(sed -n 's/.*"p99_ms":\([0-9.]*\).*/\1/p' <<<"$out")"
    errors="$(sed -n 's/.*"errors":\([0-9]*\).*/\1/p' <<<"$out")"
    [ "${errors:-0}" = 0 ] || say "$side $1 -c $2: $errors errors"
    say "  $(printf '%-15s' "$side")$1 c=$2 run $3: $ops ops/s, p50 $p50 ms, p99 $p99 ms, steal $(steal_since "$mark" "$side" "$3") %"
    record "$1" "$2" "$side" "$3" "$ops" "$p50" "$p99"
}

# redis-benchmark runs a request count, not a duration: a short calibration run (which is also
# the warmup) sizes the count so that a measured run lasts about --seconds.
declare -A redis_count
redis_bench() { # redis_bench SOCK N ARGS... → prints "rps p50 p99"
    local sock="$1" n="$2"; shift 2
    local line
    line="$(timeout $(( seconds * 6 + 30 )) redis-benchmark -s "$sock" -c "$n" --csv "$@" | tail -n 1 | tr -d '"')" || return 1
    awk -F, '{ print $2, $5, $7 }' <<<"$line"
}

redis_run() { # redis_run WORKLOAD N SIDE SOCK RUN
    local workload="$1" n="$2" side="$3" sock="$4" run="$5"
    local args
    if [ "$workload" = append ]; then args=(-d 1024 -t set); else args=(LRANGE mylist 0 99); fi
    local key="$workload/$n/$side"
    if [ -z "${redis_count[$key]:-}" ]; then
        local count=$(( n * 20 > 500 ? n * 20 : 500 ))
        local result rps
        for _ in 1 2 3; do
            result="$(redis_bench "$sock" "$n" -n "$count" "${args[@]}")" || { say "redis-benchmark failed"; return 0; }
            rps="${result%% *}"
            # Long enough to trust (≥ 0.4 s)? Otherwise size the next calibration at ~1 s.
            if awk -v r="$rps" -v c="$count" 'BEGIN { exit !(c / r >= 0.4) }'; then break; fi
            count="$(awk -v r="$rps" 'BEGIN { printf "%d", r }')"
        done
        redis_count[$key]="$(awk -v r="$rps" -v s="$seconds" -v n="$n" \
            'BEGIN { c = int(r * s); if (c < n * 10) c = n * 10; print c }')"
    fi
    local result mark
    settle
    mark="$(steal_mark)"
    if ! result="$(redis_bench "$sock" "$n" -n "${redis_count[$key]}" "${args[@]}")"; then
        say "redis-benchmark $workload -c $n ($side) failed or timed out"; return 0
    fi
    read -r rps p50 p99 <<<"$result"
    say "  $(printf '%-15s' "redis-$side")$workload c=$n run $run: $rps ops/s, p50 $p50 ms, p99 $p99 ms, steal $(steal_since "$mark" "redis-$side" "$run") %"
    record "$workload" "$n" "redis-$side" "$run" "$rps" "$p50" "$p99"
}

say "$(nproc) CPUs, $(uname -sr), $(redis-server --version | cut -d' ' -f1-3), load:$(uptime | sed 's/.*load average://')"
say "temporary directories under $base ($(df -T "$base" | awk 'NR == 2 { print $2 }'))"
started_at=$SECONDS

for n in $connections; do
    dir="$work/c$n"
    mkdir -p "$dir"
    say "$n connection(s): starting tvault serve, tvault serve --unsafe-no-sync, redis (appendfsync always), redis (no persistence)"
    start_tvault "$dir" durable; td_pid=$tv_pid; td_sock=$tv_sock; td_token=$tv_token
    start_tvault "$dir" nosync --unsafe-no-sync; tn_pid=$tv_pid; tn_sock=$tv_sock; tn_token=$tv_token
    start_redis "$dir" always --appendonly yes --appendfsync always; ra_pid=$rd_pid
    start_redis "$dir" none --appendonly no; rn_pid=$rd_pid
    ra_sock="$dir/always.sock"; rn_sock="$dir/none.sock"

    for run in $(seq 1 "$runs"); do
        tvault_run append "$n" "$run" tvault "$td_sock" "$td_token"
        tvault_run append "$n" "$run" tvault-nosync "$tn_sock" "$tn_token"
        redis_run append "$n" always "$ra_sock" "$run"
        redis_run append "$n" none "$rn_sock" "$run"
    done

    # The read lists: 1,000 values of 1 KiB (the LPUSH test pushes -d sized values to mylist).
    for sock in "$ra_sock" "$rn_sock"; do
        redis-cli -s "$sock" del mylist >/dev/null
        redis-benchmark -s "$sock" -c 16 -n 1000 -d 1024 -t lpush -q >/dev/null
        [ "$(redis-cli -s "$sock" llen mylist)" = 1000 ] || say "warning: mylist is not 1000 long on $sock"
    done
    for run in $(seq 1 "$runs"); do
        tvault_run read "$n" "$run" tvault "$td_sock" "$td_token"
        redis_run read "$n" always "$ra_sock" "$run"
        redis_run read "$n" none "$rn_sock" "$run"
    done

    # Peak resident memory of each server over its runs at this connection count.
    for side in tvault:$td_pid tvault-nosync:$tn_pid redis-always:$ra_pid redis-none:$rn_pid; do
        echo "$n	${side%%:*}	$(peak_rss "${side#*:}")" >> "$memory"
    done
    stop "$td_pid"; stop "$tn_pid"; stop "$ra_pid"; stop "$rn_pid"
    rm -rf "$dir"
done

[ -n "$raw" ] && cp "$results" "$raw"

# --- the table ---------------------------------------------------------------------------------
median() { # median WORKLOAD N SIDE COLUMN(5=ops, 6=p50, 7=p99)
    awk -F'\t' -v w="$1" -v n="$2" -v s="$3" -v c="$4" '$1 == w && $2 == n && $3 == s { print $c }' "$results" |
        sort -g | awk '{ v[NR] = $1 } END {
            if (NR == 0) print "n/a"
            else if (NR % 2) print v[(NR + 1) / 2]
            else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "n/a" || b == "n/a" || b + 0 == 0) print "n/a"; else printf "%.2f", a / b }'; }
num() { awk -v v="$1" -v d="$2" 'BEGIN { if (v == "n/a") print v; else printf "%.*f", d, v }'; }

echo
tool="tvault-load --client $client"
[ "$client" = typed ] && tool+=" --decode $decode"
echo "Socket benchmark: $(nproc) CPUs, $tool, medians of $runs run(s) x ${seconds} s, 1 KiB values, closed loop (1 request in flight per connection), latencies in ms; load:$(uptime | sed 's/.*load average://')"
echo
echo "| workload | conns | tvault ops/s | tvault p50 | tvault p99 | redis always ops/s | p50 | p99 | redis none ops/s | p50 | p99 | ops/s tvault ÷ always | p50 tvault ÷ always | ops/s tvault ÷ none | p50 tvault ÷ none |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
for workload in append read; do
    for n in $connections; do
        tv_ops="$(median "$workload" "$n" tvault 5)"; tv_p50="$(median "$workload" "$n" tvault 6)"; tv_p99="$(median "$workload" "$n" tvault 7)"
        ra_ops="$(median "$workload" "$n" redis-always 5)"; ra_p50="$(median "$workload" "$n" redis-always 6)"; ra_p99="$(median "$workload" "$n" redis-always 7)"
        rn_ops="$(median "$workload" "$n" redis-none 5)"; rn_p50="$(median "$workload" "$n" redis-none 6)"; rn_p99="$(median "$workload" "$n" redis-none 7)"
        label="$workload"
        [ "$workload" = append ] && label="append 1 KiB / SET"
        [ "$workload" = read ] && label="read 100 / LRANGE 0 99"
        echo "| $label | $n | $(num "$tv_ops" 0) | $(num "$tv_p50" 3) | $(num "$tv_p99" 3) | $(num "$ra_ops" 0) | $(num "$ra_p50" 3) | $(num "$ra_p99" 3) | $(num "$rn_ops" 0) | $(num "$rn_p50" 3) | $(num "$rn_p99" 3) | $(ratio "$tv_ops" "$ra_ops") | $(ratio "$tv_p50" "$ra_p50") | $(ratio "$tv_ops" "$rn_ops") | $(ratio "$tv_p50" "$rn_p50") |"
    done
done

# What the flush costs: both sides without it (tvault --unsafe-no-sync; redis, no persistence).
echo
echo "Appends without a flush (tvault serve --unsafe-no-sync; redis with no persistence): what the rest of the request path costs."
echo
echo "| conns | tvault no-sync ops/s | p50 | p99 | redis none ops/s | p50 | p99 | ops/s ÷ | p50 ÷ | tvault no-sync ÷ redis always, ops/s |"
echo "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
for n in $connections; do
    ns_ops="$(median append "$n" tvault-nosync 5)"; ns_p50="$(median append "$n" tvault-nosync 6)"; ns_p99="$(median append "$n" tvault-nosync 7)"
    rn_ops="$(median append "$n" redis-none 5)"; rn_p50="$(median append "$n" redis-none 6)"; rn_p99="$(median append "$n" redis-none 7)"
    ra_ops="$(median append "$n" redis-always 5)"
    echo "| $n | $(num "$ns_ops" 0) | $(num "$ns_p50" 3) | $(num "$ns_p99" 3) | $(num "$rn_ops" 0) | $(num "$rn_p50" 3) | $(num "$rn_p99" 3) | $(ratio "$ns_ops" "$rn_ops") | $(ratio "$ns_p50" "$rn_p50") | $(ratio "$ns_ops" "$ra_ops") |"
done

# Memory: each server's peak resident set (VmHWM) over all its runs at a connection count, and
# its anonymous resident memory (RssAnon, the heap) after them. tvault's peak includes the pages
# of its memory-mapped store that the runs touched; Redis keeps its data on the heap.
echo
echo "Memory of each server over its runs at each connection count, MiB: peak resident (VmHWM) / heap at the end (RssAnon)."
echo
echo "| conns | tvault | tvault no-sync | redis always | redis none |"
echo "| ---: | ---: | ---: | ---: | ---: |"
mib() { awk -F'\t' -v n="$1" -v s="$2" '$1 == n && $2 == s {
    if ($3 == "n/a") print "n/a"; else printf "%.1f / %s", $3 / 1024, ($4 == "n/a" ? "n/a" : sprintf("%.1f", $4 / 1024)) }' "$memory"; }
for n in $connections; do
    echo "| $n | $(mib "$n" tvault) | $(mib "$n" tvault-nosync) | $(mib "$n" redis-always) | $(mib "$n" redis-none) |"
done

# How disturbed the runs were (see steal_mark).
echo
sort -t "$(printf '\t')" -k3,3n "$steals" | awk -F'\t' '{ v[NR] = $3 } END {
    if (NR == 0) exit
    m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
    high = 0; for (i = 1; i <= NR; i++) if (v[i] > 10) high++
    printf "Processor time the host gave other guests during the runs (steal): median %s %%, highest %s %%; %d of %d runs above 10 %%.\n", m, v[NR], high, NR }'

# The issue's targets, where their connection counts were measured.
echo
verdict() { awk -v r="$1" -v t="$2" -v dir="$3" 'BEGIN { if (r == "n/a") print "n/a"; else if ((dir == "ge" && r >= t) || (dir == "le" && r <= t)) print "met"; else print "MISSED" }'; }
case " $connections " in *" 16 "*)
    r="$(ratio "$(median append 16 tvault 5)" "$(median append 16 redis-always 5)")"
    echo "- durable appends at 16 connections: tvault ÷ redis (appendfsync always) = $r (target ≥ 1.0: $(verdict "$r" 1.0 ge))" ;;
esac
case " $connections " in *" 1 "*)
    r="$(ratio "$(median append 1 tvault 6)" "$(median append 1 redis-always 6)")"
    echo "- p50 round trip at 1 connection, append vs SET (appendfsync always): ratio $r (target ≤ 2: $(verdict "$r" 2 le))"
    # Not targets of their own: for comparison only.
    r="$(ratio "$(median append 1 tvault 6)" "$(median append 1 redis-none 6)")"
    echo "- for comparison, p50 round trip at 1 connection, append vs SET (no persistence): ratio $r"
    r="$(ratio "$(median read 1 tvault 6)" "$(median read 1 redis-none 6)")"
    echo "- for comparison, p50 round trip at 1 connection, read 100 vs LRANGE 0 99 (no persistence): ratio $r" ;;
esac
say "done in $(( SECONDS - started_at )) s"
