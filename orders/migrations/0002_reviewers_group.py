from django.contrib.auth.management import create_permissions
from django.db import migrations

REVIEWERS = "Reviewers"
PERMISSIONS = ["review_order", "view_order", "view_payment", "view_orderevent"]


def create_reviewers(apps, schema_editor):
    # Permissions are normally created after migrate; the group needs them now.
    app_config = apps.get_app_config("orders")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=REVIEWERS)
    group.permissions.add(*Permission.objects.filter(content_type__app_label="orders", codename__in=PERMISSIONS))


def remove_reviewers(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=REVIEWERS).delete()


class Migration(migrations.Migration):
    dependencies = [("orders", "0001_initial"), ("auth", "0012_alter_user_first_name_max_length")]

    operations = [migrations.RunPython(create_reviewers, remove_reviewers)]
