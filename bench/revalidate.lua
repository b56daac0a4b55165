-- wrk: revalidate one assistant with If-None-Match (a client polling for changes).
-- env: TOKEN, ASSISTANT_PATH, ETAG (the assistant's current ETag). Each answer must be 304.
local token = os.getenv("TOKEN") or ""
local path = os.getenv("ASSISTANT_PATH") or "/"
wrk.method = "GET"
wrk.path = path
wrk.headers["Authorization"] = "Bearer " .. token
wrk.headers["If-None-Match"] = os.getenv("ETAG") or ""

function response(status, headers, body)
  if status ~= 304 then
    io.stderr:write("unexpected status " .. status .. "\n")
  end
end
