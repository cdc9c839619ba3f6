-- wrk's summary as one line the bench reads (make bench): completed requests, run time, latency
-- percentiles (microseconds), responses with a status above 399, and socket errors.
function report(summary, latency)
   local errors = summary.errors
   io.write(string.format(
      "BENCH requests=%d duration_us=%d p50_us=%d p99_us=%d status_errors=%d connect=%d read=%d write=%d timeout=%d\n",
      summary.requests, summary.duration, latency:percentile(50.0), latency:percentile(99.0),
      errors.status, errors.connect, errors.read, errors.write, errors.timeout))
end

function done(summary, latency, requests)
   report(summary, latency)
end
