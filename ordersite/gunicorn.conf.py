"""Gunicorn settings for every place that runs the web tier (`make run`, the Dockerfile, docker-compose).

Threaded workers: a request that waits on Temporal (a start, an approval) holds one thread, not a whole process,
so reads go on being served meanwhile. WEB_CONCURRENCY processes (gunicorn reads it itself) x WEB_THREADS threads;
keep WEB_CONCURRENCY x WEB_THREADS within the database pool (DB_POOL_MAX_SIZE per process).
"""

import os

worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("WEB_THREADS", "8"))
keepalive = 5
accesslog = "-"
