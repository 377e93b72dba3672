"""Create (or refresh) the demo users without prompts: a superuser, two reviewers (four-eyes orders need two), a lead
reviewer who may take reviews over and mark decided orders as fraud or not, and an order client with an API token.
For local runs and demos; never for production."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.management.base import BaseCommand
from rest_framework.authtoken.models import Token

from orders.roles import ORDER_CLIENTS, REVIEWERS, ensure_roles


class Command(BaseCommand):
    help = "Create the demo superuser, a reviewer and an order client (idempotent, no prompts)."

    def add_arguments(self, parser):
        parser.add_argument("--admin", default="admin:admin", help="USERNAME:PASSWORD of the superuser")
        parser.add_argument("--reviewer", default="reviewer:reviewer", help="USERNAME:PASSWORD of the reviewer")
        parser.add_argument("--second-reviewer", default="reviewer2:reviewer2", help="USERNAME:PASSWORD of a second reviewer")
        parser.add_argument(
            "--lead", default="lead:lead", help="USERNAME:PASSWORD of a reviewer who may take reviews over and mark fraud"
        )
        parser.add_argument("--client", default="shop:shop", help="USERNAME:PASSWORD of the order client")
        parser.add_argument("--no-superuser", action="store_true", help="skip the superuser")

    def handle(self, *args, **options):
        groups = ensure_roles()
        if not options["no_superuser"]:
            self._user(options["admin"], "superuser", is_staff=True, is_superuser=True)
        self._user(options["reviewer"], "reviewer", is_staff=True, group=groups[REVIEWERS])
        self._user(options["second_reviewer"], "second reviewer", is_staff=True, group=groups[REVIEWERS])
        lead = self._user(
            options["lead"], "lead reviewer (may take reviews over and mark fraud)", is_staff=True, group=groups[REVIEWERS]
        )
        lead.user_permissions.add(
            *Permission.objects.filter(content_type__app_label="orders", codename__in=["take_over_review", "mark_fraud"])
        )
        shop = self._user(options["client"], "order client", group=groups[ORDER_CLIENTS])
        token, _ = Token.objects.get_or_create(user=shop)
        self.stdout.write(f"  API token of {shop.username}: {token.key}")

    def _user(self, credentials: str, role: str, group=None, **flags):
        username, _, password = credentials.partition(":")
        user, _ = get_user_model().objects.get_or_create(username=username)
        for flag, value in flags.items():
            setattr(user, flag, value)
        user.set_password(password)
        user.save()
        if group:
            user.groups.add(group)
        self.stdout.write(f"  {role}: {username} / {password}")
        return user
