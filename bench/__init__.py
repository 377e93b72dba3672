"""`make bench` (`manage.py bench`): throughput and latency of the whole system through its REST API, beside a bare
Temporal skeleton on a dev server with the project's own flags, measured in the same run. See
docs/performance.md."""
