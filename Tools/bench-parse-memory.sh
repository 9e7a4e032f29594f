#!/usr/bin/env bash
# What one hostile request line costs the server to parse: its peak resident memory (VmHWM)
# before and after the line, and the time to its answer. Each line is at most the line limit
# (16 MiB), sent by an authenticated client (before auth, lines are capped at 64 KiB), each to a
# fresh `tvault serve --threads 1` so that every peak is the line's own. Meanwhile a second
# connection, on the same (only) event loop, sends `system.info` requests one after another:
# the report gives the longest of its round trips while the line was being sent and parsed
# (what a bystander of the hostile client waits).
#
#   inner-array   one message that is an array of 8 million zeros      (refused: not an object)
#   scalars       8 million zeros where the messages go                 (refused: too many values)
#   objects       5.6 million empty messages                            (refused: too many values)
#   metadata      metadata with 1.3 million members                     (refused: metadata too large)
#   message-keys  one message with 1.3 million members                  (refused: message too large)
#   one-message   a well-formed append of one 1 KiB message, for scale  (accepted)
#
#   Tools/bench-parse-memory.sh                      # release build, every shape
#   Tools/bench-parse-memory.sh --bin PATH/tvault    # another build, to compare side by side
#   Tools/bench-parse-memory.sh --shapes scalars,objects
#
# Options: --bin PATH (a tvault binary; default: build the release one), --shapes LIST,
# --dir PATH (temporary directories; default ./.build-socket-tmp). Needs python3
# (Tools/install-deps python3) to write the lines and read the answers.
set -euo pipefail

cd "$(dirname "$0")/.."
scratch="${SCRATCH:-.build}"
bin=""
shapes="inner-array scalars objects metadata message-keys one-message"
base="$(pwd)/.build-socket-tmp"

usage() { awk 'NR == 1 { next } /^#/ { sub(/^# ?/, ""); print; next } { exit }' "$0"; }
while [ $# -gt 0 ]; do
    case "$1" in
        --bin) bin="$2"; shift 2 ;;
        --shapes) shapes="${2//,/ }"; shift 2 ;;
        --dir) base="$2"; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "unknown option: $1 (see --help)" >&2; exit 2 ;;
    esac
done
command -v python3 >/dev/null || { echo "python3 is needed: Tools/install-deps python3" >&2; exit 1; }
if [ -z "$bin" ]; then
    swift build -c release --scratch-path "$scratch" --product tvault >&2
    bin="$(swift build -c release --scratch-path "$scratch" --show-bin-path)/tvault"
fi

mkdir -p "$base"
work="$(mktemp -d "$base/parse.XXXXXX")"
pid=""
cleanup() {
    if [ -n "$pid" ]; then kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

printf '%-13s %9s %12s %11s %8s %14s  %s\n' shape "line MiB" "peak before" "peak after" seconds "bystander ms" answer
for shape in $shapes; do
    dir="$work/$shape"
    mkdir -p "$dir"
    "$bin" serve --data-dir "$dir/data" --rate-limit 0 --log-level warning --threads 1 >"$dir/out" 2>"$dir/err" &
    pid=$!
    for _ in $(seq 100); do grep -q '^Listening on' "$dir/out" 2>/dev/null && break; sleep 0.1; done
    socket="$(sed -n 's/^Listening on //p' "$dir/out")"
    token="$(awk '$1 == "token:" { print $2 }' "$dir/out")"
    [ -n "$socket" ] && [ -n "$token" ] || { echo "tvault serve did not start:" >&2; cat "$dir/out" "$dir/err" >&2; exit 1; }
    python3 - "$socket" "$token" "$pid" "$shape" <<'EOF'
import json, socket, sys, threading, time

path, token, pid, shape = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
limit = (16 << 20) - 400  # room for the envelope under the 16 MiB line limit

def peak_mib():
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024

def zeros(count):
    return ",".join(["0"] * count)

head = '{"jsonrpc":"2.0","id":1,"method":"conversation.append","params":{"conversation_id":"c",'
if shape == "inner-array":
    body = '"messages":[[' + zeros(limit // 2) + "]]"
elif shape == "scalars":
    body = '"messages":[' + zeros(limit // 2) + "]"
elif shape == "objects":
    body = '"messages":[' + ",".join(["{}"] * (limit // 3)) + "]"
elif shape == "metadata":
    body = '"messages":[{}],"metadata":{' + ",".join('"k%07d":0' % i for i in range(limit // 13)) + "}"
elif shape == "message-keys":
    body = '"messages":[{' + ",".join('"k%07d":0' % i for i in range(limit // 13)) + "}]"
elif shape == "one-message":
    body = '"messages":[{"role":"user","content":"' + "x" * 1024 + '"}]'
else:
    sys.exit(f"unknown shape {shape}")
line = (head + body + "}}\n").encode()

def connect():
    connection = socket.socket(socket.AF_UNIX)
    connection.connect(path)
    stream = connection.makefile("rwb")
    stream.write((json.dumps({"jsonrpc": "2.0", "id": 0, "method": "auth", "params": {"token": token}}) + "\n").encode())
    stream.flush()
    stream.readline()
    return stream

stream = connect()
bystander = connect()
done = threading.Event()
longest = [0.0]

def bystand():
    request = b'{"jsonrpc":"2.0","id":1,"method":"system.info"}\n'
    while not done.is_set():
        sent = time.monotonic()
        bystander.write(request)
        bystander.flush()
        bystander.readline()
        longest[0] = max(longest[0], time.monotonic() - sent)

before = peak_mib()
watcher = threading.Thread(target=bystand)
watcher.start()
start = time.monotonic()
stream.write(line)
stream.flush()
answer = json.loads(stream.readline())
elapsed = time.monotonic() - start
done.set()
watcher.join()
outcome = "result" if "result" in answer else "%d %s" % (answer["error"]["code"], answer["error"]["message"])
print("%-13s %9.1f %12.1f %11.1f %8.2f %14.1f  %s" % (shape, len(line) / 2**20, before, peak_mib(), elapsed, longest[0] * 1000, outcome[:70]))
EOF
    kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
    pid=""
done
