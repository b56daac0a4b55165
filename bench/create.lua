-- wrk: create assistants (a durable write: the row, its sync job and its audit entry,
-- acknowledged after the group commit's WAL flush).
-- env: TOKEN, CREATE_PATH (default /v1/assistants)
local token = os.getenv("TOKEN") or ""
wrk.method = "POST"
wrk.path = os.getenv("CREATE_PATH") or "/v1/assistants"
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
