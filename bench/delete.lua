-- wrk: DELETE assistants, each request a different one (ids from IDS_FILE, one per line,
-- shared out between wrk's threads so none is deleted twice).
-- env: TOKEN, IDS_FILE, WRK_THREADS
local token = os.getenv("TOKEN") or ""
local counter = 0

function setup(thread)
  thread:set("index", counter)
  counter = counter + 1
end

function init(args)
  ids = {}
  local n = 0
  for line in io.lines(os.getenv("IDS_FILE")) do
    if n % tonumber(os.getenv("WRK_THREADS") or "2") == index then table.insert(ids, line) end
    n = n + 1
  end
  next_id = 1
end

function request()
  local id = ids[next_id]
  next_id = next_id + 1
  if id == nil then id = "00000000-0000-4000-8000-000000000000" end
  return wrk.format("DELETE", "/v1/assistants/" .. id,
                    {["Authorization"] = "Bearer " .. token})
end

function response(status, headers, body)
  if status ~= 204 then
    io.stderr:write("unexpected status " .. status .. "\n")
  end
end
