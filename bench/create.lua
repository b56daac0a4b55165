-- wrk: create assistants (a durable write: SQLite commit with synchronous=FULL).
-- env: TOKEN
local token = os.getenv("TOKEN") or ""
wrk.method = "POST"
wrk.path = "/v1/assistants"
wrk.headers["Authorization"] = "Bearer " .. token
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"name":"Bench bot","firstMessage":"Hello!","model":{"provider":"openai",' ..
           '"model":"gpt-4o","messages":[{"role":"system","content":"Be brief."}]},' ..
           '"voice":{"provider":"vapi","voiceId":"Elliot"},"maxDurationSeconds":600}'

function response(status, headers, body)
  if status ~= 201 then
    io.stderr:write("unexpected status " .. status .. "\n")
  end
end
