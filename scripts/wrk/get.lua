-- wrk script: a GET with or without keep-alive (KEEP=1), for the HTTP layer's own cost.
if os.getenv("KEEP") == "1" then
  wrk.headers["Connection"] = "keep-alive"
end
