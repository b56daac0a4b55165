-- wrk: GET one assistant by id with a bearer token.
-- env: TOKEN, ASSISTANT_PATH (e.g. /v1/assistants/<id>)
local token = os.getenv("TOKEN") or ""
local path = os.getenv("ASSISTANT_PATH") or "/"
wrk.method = "GET"
wrk.path = path
wrk.headers["Authorization"] = "Bearer " .. token

function response(status, headers, body)
  if status ~= 200 then
    io.stderr:write("unexpected status " .. status .. "\n")
  end
end
