-- wrk: PATCH one assistant's name (a durable write: the row, its sync job and its audit
-- entry in one transaction, acknowledged after the group commit's WAL flush).
-- env: TOKEN, ASSISTANT_PATH
local token = os.getenv("TOKEN") or ""
wrk.method = "PATCH"
wrk.path = os.getenv("ASSISTANT_PATH") or "/"
wrk.headers["Authorization"] = "Bearer " .. token
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"name":"Bench bot (patched)","maxDurationSeconds":900}'

function response(status, headers, body)
  if status ~= 200 then
    io.stderr:write("unexpected status " .. status .. "\n")
  end
end
