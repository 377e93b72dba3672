"""The API routes, spelled out (see the table in docs/api.md)."""

from django.urls import path

from orders.api.fraud import FraudViewSet
from orders.api.views import OrderViewSet
from orders.api.waits import status_view

order = "orders/<str:pk>"

urlpatterns = [
    path("orders/", OrderViewSet.as_view({"get": "list"}), name="order-list"),
    path("orders/bulk/approve", OrderViewSet.as_view({"post": "bulk_approve"}), name="order-bulk-approve"),
    path("orders/bulk/cancel", OrderViewSet.as_view({"post": "bulk_cancel"}), name="order-bulk-cancel"),
    path(f"{order}/", OrderViewSet.as_view({"get": "retrieve"}), name="order-detail"),
    path(f"{order}/start", OrderViewSet.as_view({"post": "start"}), name="order-start"),
    path(f"{order}/signals/approve", OrderViewSet.as_view({"post": "approve"}), name="order-approve"),
    path(f"{order}/signals/cancel", OrderViewSet.as_view({"post": "cancel"}), name="order-cancel"),
    path(f"{order}/signals/update-address", OrderViewSet.as_view({"post": "update_address"}), name="order-update-address"),
    path(f"{order}/claim", OrderViewSet.as_view({"post": "claim"}), name="order-claim"),
    path(f"{order}/release", OrderViewSet.as_view({"post": "release"}), name="order-release"),
    path(f"{order}/status", status_view, name="order-status"),  # async: a ?wait holds no thread
    path(f"{order}/fraud", FraudViewSet.as_view({"post": "mark"}), name="order-fraud"),
    path(f"{order}/events", OrderViewSet.as_view({"get": "events"}), name="order-events"),
]
