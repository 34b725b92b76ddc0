-- wrk: one KubeArmor alert per POST, the body given in the ALERT environment variable.
wrk.method = "POST"
wrk.body = os.getenv("ALERT")
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. (os.getenv("TOKEN") or "")
