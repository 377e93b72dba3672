"""The codec endpoint of the Temporal Web UI (`POST /temporal-codec/decode`): staff and reviewers, signed in to
the admin or with an API token, read the orders' payloads decoded in the UI; everyone else sees ciphertext.

Decoding changes nothing, and CORS (django-cors-headers) lets only TEMPORAL_UI_URL read the answer, so the
endpoint needs no CSRF token (the UI has none to send)."""

import asyncio
import base64
import json

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from google.protobuf import json_format
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed
from temporalio.api.common.v1 import Payload

from orders.temporal.connection import payload_codec
from workflows.codec import KeyringError


def _user(request):
    if request.user.is_authenticated:
        return request.user
    scheme, _, key = request.headers.get("Authorization", "").partition(" ")
    if scheme not in ("Token", "Bearer") or not key.strip():
        return None
    try:
        user, _ = TokenAuthentication().authenticate_credentials(key.strip())  # the API's own token check
    except AuthenticationFailed:
        return None
    return user


def _strict(item: dict) -> dict:
    """The payload as sent, once its bytes are known to be base64 (protobuf's JSON parser skips what is not)."""
    for value in [item.get("data", ""), *item.get("metadata", {}).values()]:
        base64.b64decode(value, validate=True)  # binascii.Error is a ValueError
    return item


def _error(status: int, code: str, detail: str) -> JsonResponse:
    return JsonResponse({"error": code, "detail": detail}, status=status)


@csrf_exempt
@require_POST
def decode(request):
    user = _user(request)
    if user is None:
        return _error(401, "not_authenticated", "Sign in to the admin or send an API token.")
    if not (user.is_staff or user.has_perm("orders.review_order")):
        return _error(403, "permission_denied", "Only staff and reviewers read decoded payloads.")
    try:
        body = json.loads(request.body)
        payloads = [json_format.ParseDict(_strict(item), Payload()) for item in body["payloads"]]
    except (ValueError, KeyError, TypeError, AttributeError, json_format.ParseError):
        return _error(400, "invalid", 'Send {"payloads": [...]} in the proto JSON form, bytes in base64.')
    codec = payload_codec()
    try:
        decoded = asyncio.run(codec.decode(payloads)) if codec else payloads
    except KeyringError as exc:
        return _error(400, "undecodable", str(exc))
    return JsonResponse({"payloads": [json_format.MessageToDict(p) for p in decoded]})
