import os

from django.core.wsgi import get_wsgi_application

from ordersite import tracing

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ordersite.settings")
tracing.configure("orders-web")  # before Django loads its middleware
application = get_wsgi_application()

from orders.risk.checks import refuse_unusable_policy  # noqa: E402 (after setup)

refuse_unusable_policy()
