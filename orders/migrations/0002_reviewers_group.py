from django.db import migrations

from orders.migrations._groups import group_with_permissions, remove_group

REVIEWERS = "Reviewers"
PERMISSIONS = ["review_order", "view_order", "view_payment", "view_orderevent"]


class Migration(migrations.Migration):
    dependencies = [("orders", "0001_initial"), ("auth", "0012_alter_user_first_name_max_length")]

    operations = [
        migrations.RunPython(
            lambda apps, _: group_with_permissions(apps, REVIEWERS, PERMISSIONS),
            lambda apps, _: remove_group(apps, REVIEWERS),
        )
    ]
