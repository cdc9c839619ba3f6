"""`make bench` (python -m tests.bench): the site under gunicorn as production runs it, measured with wrk
against a bare Flask "hello" in the same run. Not a test: pytest collects nothing here, and nothing fails."""
