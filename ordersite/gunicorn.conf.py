"""Gunicorn settings for every place that runs the web tier (`make run`, the Dockerfile, docker-compose, the
benchmark and the chaos suite): `gunicorn --config ordersite/gunicorn.conf.py --bind HOST:PORT`.

The asgi worker: each process serves its requests on an event loop, so a request that waits (GET
/orders/{id}/status?wait=N, up to a minute) holds no thread; synchronous views run on WEB_THREADS threads per process
(ordersite/web_threads.py). WEB_CONCURRENCY processes (gunicorn reads it itself); keep WEB_THREADS + max(2,
WEB_THREADS / 2) within the database pool (DB_POOL_MAX_SIZE per process): 12 by default.
"""

import os

wsgi_app = "ordersite.asgi:application"
worker_class = "asgi"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# Django does not speak the ASGI lifespan protocol.
asgi_lifespan = "off"
keepalive = 5
accesslog = "-"
