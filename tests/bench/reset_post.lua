-- wrk script for tests/bench/reset_bench.py: POST /request with a valid CSRF
-- pair (field and cookie: one value serves every request, it is per form
-- and valid for an hour) and a rotating address.
--
--   wrk -t2 -c50 -d10s --latency -s reset_post.lua URL -- CSRF unknown
--   wrk ... -- CSRF known PREFIX COUNT   (PREFIX0001..PREFIXCOUNT @example.org)
--
-- Each request carries its own X-Forwarded-For (10.T.x.y, T the thread):
-- the daemon runs with reset_trusted_proxies 127.0.0.1, so the per-address
-- throttle (10 requests per address in 10 minutes) sees many clients, as
-- behind a proxy, and does not cut in. Any answer but 200 shows up as
-- wrk's "Non-2xx or 3xx responses".
local n_threads = 0

function setup(thread)
	thread:set("tid", n_threads)
	n_threads = n_threads + 1
end

function init(args)
	csrf = args[1]
	mode = args[2]
	prefix = args[3] or "bench-r"
	count = tonumber(args[4] or "1")
	counter = 0
end

function request()
	counter = counter + 1
	local email
	if mode == "known" then
		email = string.format("%s%04d%%40example.org", prefix, ((tid * 7919 + counter) % count) + 1)
	else
		email = string.format("nobody-%d-%d%%40example.org", tid, counter)
	end
	local ip = string.format("10.%d.%d.%d", tid + 1, math.floor(counter / 250) % 250,
		counter % 250 + 1)
	local body = "csrf=" .. csrf .. "&email=" .. email .. "&email_confirm=" .. email
	return wrk.format("POST", "/request", {
		["Content-Type"] = "application/x-www-form-urlencoded",
		["Cookie"] = "mailotp_csrf=" .. csrf,
		["X-Forwarded-For"] = ip,
	}, body)
end
