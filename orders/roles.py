"""The two roles, as groups: reviewers (approve or cancel any order) and order clients (service accounts that start
orders and manage their own). Data migrations create them; ensure_roles() recreates them (tests, demo setup)."""

from django.contrib.auth.models import Group, Permission

REVIEWERS = "Reviewers"
ORDER_CLIENTS = "Order clients"
ROLE_PERMISSIONS = {
    REVIEWERS: ["review_order", "view_order", "view_payment", "view_orderevent"],
    ORDER_CLIENTS: ["place_order"],
}


def ensure_roles() -> dict[str, Group]:
    groups = {}
    for name, codenames in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(*Permission.objects.filter(content_type__app_label="orders", codename__in=codenames))
        groups[name] = group
    return groups
