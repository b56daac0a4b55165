-- POST /auth/v1/token?grant_type=password with the account bench/run.sh signed up
-- (EMAIL, PASSWORD): each request runs one argon2id verification and starts a session.
local body = string.format('{"email":"%s","password":"%s"}', os.getenv("EMAIL"), os.getenv("PASSWORD"))
wrk.method = "POST"
wrk.path = "/auth/v1/token?grant_type=password"
wrk.body = body
wrk.headers["Content-Type"] = "application/json"

function response(status, headers, body)
  if status ~= 200 then
    io.stderr:write("unexpected status " .. status .. "\n")
  end
end
