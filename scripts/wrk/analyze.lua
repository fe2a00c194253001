-- wrk script: POST /api/analyze with one customer turn (docs/LOAD.md "HTTP API").
-- TOKEN: a token of the shop (the one `huashu serve` prints); KEEP=1 asks for keep-alive.
wrk.method = "POST"
wrk.body = '{"role":"customer","text":"快递怎么还没到，订单号2023112245678"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. (os.getenv("TOKEN") or "")
if os.getenv("KEEP") == "1" then
  wrk.headers["Connection"] = "keep-alive"
end
