-- wrk -s bench/wrk_chat.lua: every request is a small OpenAI chat completion POST.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hello there"}]}'
