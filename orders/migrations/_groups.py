"""Helpers for the data migrations that create the permission groups (the loader skips files named _*)."""

from django.contrib.auth.management import create_permissions


def group_with_permissions(apps, name: str, codenames: list[str]) -> None:
    # Permissions are normally created after migrate; the group needs them now.
    app_config = apps.get_app_config("orders")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=name)
    group.permissions.add(*Permission.objects.filter(content_type__app_label="orders", codename__in=codenames))


def remove_group(apps, name: str) -> None:
    apps.get_model("auth", "Group").objects.filter(name=name).delete()
