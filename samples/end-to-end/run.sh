#!/usr/bin/env bash
# From nothing to a streamed answer, through the llmux CLI only:
#   1. start llmux (nats-server, router, limiter, gateway, two workers with engine simulators) whose
#      workers wait for a function named "summarize" that does not exist yet;
#   2. create the function and a version, set its routing method and token limit, deploy it;
#   3. create an API key for a tenant;
#   4. stream an answer with that key, then read the tenant's usage from the ledger.
# The test suite runs this script (test/sample.e2e.test.ts), so it cannot rot.
# Run from the repository root after `npm install`: bash samples/end-to-end/run.sh
set -euo pipefail

LLMUX=(node "$(dirname "$0")/../../bin/llmux.js")
WORK=$(mktemp -d)
export LLMUX_ADMIN_KEY="sample-admin-$RANDOM$RANDOM"   # the CLI and the gateway both read it
MODEL=llama-sim-8b

cleanup() { [[ -n "${UP_PID:-}" ]] && kill "$UP_PID" 2>/dev/null && wait "$UP_PID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT

echo "== 1. llmux up (workers serve function 'summarize', which does not exist yet)"
"${LLMUX[@]}" up --port 0 --workers 2 --function summarize --model "$MODEL" --ttft-ms 5 --itl-ms 2 >"$WORK/up.out" 2>"$WORK/up.err" &
UP_PID=$!
for _ in $(seq 1 150); do grep -q 'llmux is up' "$WORK/up.out" 2>/dev/null && break; sleep 0.2; done
grep -q 'llmux is up' "$WORK/up.out" || { cat "$WORK/up.err" >&2; echo "llmux up did not start" >&2; exit 1; }
export LLMUX_URL=$(grep -o 'http://127.0.0.1:[0-9]*' "$WORK/up.out" | head -1)
NATS=$(grep -o 'nats://127.0.0.1:[0-9]*' "$WORK/up.out" | head -1)
SEED=$(grep -o -- '--nkey-seed-file [^ ]*' "$WORK/up.out" | head -1 | cut -d' ' -f2)
echo "gateway at $LLMUX_URL"

echo "== 2. create, configure and deploy the function"
"${LLMUX[@]}" functions create summarize --name "Summarizer"
"${LLMUX[@]}" functions versions create summarize v1 --model "$MODEL" --tokenizer llama3
"${LLMUX[@]}" functions update-model summarize v1 "$MODEL" --routing-method least-busy --token-rate-limit 100000-M
"${LLMUX[@]}" functions deploy summarize v1 --replicas 2
"${LLMUX[@]}" functions status summarize v1
"${LLMUX[@]}" functions list

echo "== 3. an API key for tenant acme"
KEY=$("${LLMUX[@]}" keys create --tenant acme --functions summarize --name sample --json | node -pe 'JSON.parse(require("fs").readFileSync(0, "utf8")).key')
"${LLMUX[@]}" keys list

echo "== 4. a streamed answer"
BODY="{\"model\":\"summarize/$MODEL\",\"stream\":true,\"max_tokens\":8,\"messages\":[{\"role\":\"user\",\"content\":\"Summarize llmux in one line.\"}]}"
if command -v curl >/dev/null; then
  curl -sSN "$LLMUX_URL/v1/chat/completions" -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' -d "$BODY" | tee "$WORK/stream.txt"
else # the same request with Node's fetch, for machines without curl
  node -e 'fetch(process.argv[1], {method: "POST", headers: {authorization: `Bearer ${process.argv[2]}`, "content-type": "application/json"}, body: process.argv[3]})
    .then(async (r) => { for await (const c of r.body) process.stdout.write(c); })' "$LLMUX_URL/v1/chat/completions" "$KEY" "$BODY" | tee "$WORK/stream.txt"
fi
grep -q 'data: \[DONE\]' "$WORK/stream.txt"

sleep 0.5 # the usage record lands when the request ends
echo "== usage by tenant and model"
"${LLMUX[@]}" usage --nats "$NATS" --nkey-seed-file "$SEED" --since 10m
echo "== done"
