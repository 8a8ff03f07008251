-- wrk -s bench/wrk_chat.lua: every request is the same small OpenAI chat completion POST.
-- WRK_CHAT_BODY, when set, replaces the body (bench/overhead.py sets it per scenario);
-- add headers with wrk's -H.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = os.getenv("WRK_CHAT_BODY")
    or '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hello there"}]}'
