from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from orders import codec_server, health

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("orders.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("temporal-codec/decode", codec_server.decode, name="temporal-codec-decode"),
    path("", include("django_prometheus.urls")),
]
