#!/usr/bin/env bash
# Replays Plano's model routing service demo against a running gateway (`make run`).
# Decision endpoints only: no provider is called and no API key is needed.
set -euo pipefail
cd "$(dirname "$0")"

URL="${PLANO_URL:-http://localhost:12000}"
REQUESTS=demo/requests

call() {  # call TITLE API_PATH REQUEST_FILE [HEADER...]
    local title=$1 path=$2 file=$3
    shift 3
    local headers=(-H "Content-Type: application/json")
    for header in "$@"; do headers+=(-H "$header"); done
    echo "--- $title ---"
    curl -sS "${headers[@]}" --data-binary "@$REQUESTS/$file" "$URL/routing/v1/$path" |
        python3 -m json.tool
}

echo "=== Model Routing Service Demo ($URL) ==="
call "1. Code generation query (OpenAI format)" chat/completions 1_code_generation.chat.json
call "2. Complex reasoning query (OpenAI format)" chat/completions 2_complex_reasoning.chat.json
call "3. Simple query - no routing match (OpenAI format)" chat/completions 3_no_match.chat.json
call "4. Code generation query (Anthropic format)" messages 4_code_generation.messages.json
call "5. Code generation query (Responses format)" responses 5_code_generation.responses.json
call "6. Inline routing preferences replace the config's routes" chat/completions 6_inline_routing.chat.json
call "7. Session pinning - first call (fresh routing decision)" chat/completions \
    1_code_generation.chat.json "X-Model-Affinity: demo-session-001"
echo 'Notice: same model returned with "pinned": true, routing was skipped'
call "8. Session pinning - second call (same session, pinned)" chat/completions \
    8_follow_up.chat.json "X-Model-Affinity: demo-session-001"
call "9. Different session gets its own fresh routing" chat/completions \
    2_complex_reasoning.chat.json "X-Session-Id: demo-session-002"
echo "=== Demo Complete ==="
