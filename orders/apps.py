from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from orders.providers import checks as provider_checks  # noqa: F401 (registers the check)
        from orders.risk import checks  # noqa: F401 (registers the check)
        from orders.temporal import metrics

        metrics.register()
