-- The contact form sent for real (make bench): each request is one rendered form, with its own
-- session cookie, CSRF token and submission token, read from a file the bench fetched beforehand
-- (a line: the Cookie header, a tab, the urlencoded body). Thread n of t sends lines n, n+t, n+2t...
-- It counts the answers: 303 (stored, thanks page) and anything else. Loaded after summary.lua.

local threads = {}

function setup(thread)
   table.insert(threads, thread)
   thread:set("id", #threads)
end

function init(args)
   local path, count = args[1], tonumber(args[2])
   requests_ready = {}
   local line_number = 0
   for line in io.lines(path) do
      if line_number % count == id - 1 then
         local cookie, body = line:match("^([^\t]*)\t(.*)$")
         table.insert(requests_ready, wrk.format("POST", "/contact", {
            ["Content-Type"] = "application/x-www-form-urlencoded",
            ["Cookie"] = cookie,
         }, body))
      end
      line_number = line_number + 1
   end
   available, sent, see_other, other, ran_out = #requests_ready, 0, 0, 0, 0
end

function request()
   sent = sent + 1
   local ready = requests_ready[sent]
   if ready == nil then
      -- Every form has been sent: stop rather than send one twice (a second send is no new inquiry).
      ran_out = 1
      wrk.thread:stop()
      return wrk.format("GET", "/contact/thanks")
   end
   return ready
end

function response(status, headers, body)
   if status == 303 then
      see_other = see_other + 1
   else
      other = other + 1
   end
end

function done(summary, latency, requests)
   report(summary, latency)
   local totals = {sent = 0, see_other = 0, other = 0, ran_out = 0}
   for _, thread in ipairs(threads) do
      totals.sent = totals.sent + math.min(thread:get("sent"), thread:get("available"))
      totals.see_other = totals.see_other + thread:get("see_other")
      totals.other = totals.other + thread:get("other")
      totals.ran_out = totals.ran_out + thread:get("ran_out")
   end
   io.write(string.format("BENCH-POST sent=%d see_other=%d other=%d ran_out=%d\n",
      totals.sent, totals.see_other, totals.other, totals.ran_out))
end
