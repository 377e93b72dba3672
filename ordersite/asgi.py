"""The web tier's application: Django under ASGI, served by gunicorn's asgi worker (ordersite/gunicorn.conf.py),
its threads assigned by ordersite/web_threads.py."""

import os

import django

from ordersite import tracing  # noqa: E402

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ordersite.settings")
tracing.configure("orders-web")  # before Django loads its middleware
django.setup(set_prefix=False)

from django.conf import settings  # noqa: E402 (after setup)

from orders.risk.checks import refuse_unusable_policy  # noqa: E402
from ordersite.web_threads import ThreadedASGIHandler  # noqa: E402

refuse_unusable_policy()

application = ThreadedASGIHandler(web_threads=settings.WEB_THREADS)
