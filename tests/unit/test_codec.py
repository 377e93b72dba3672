"""Encrypted payloads (workflows/codec.py): the codec itself, the raw history of a real order, key rotation, an
order started before encryption was on, and the Temporal UI's codec endpoint."""

import asyncio
import base64
import json
import subprocess

import pytest
from django.contrib.auth.models import User
from google.protobuf import json_format
from rest_framework.authtoken.models import Token
from temporalio.api.common.v1 import Payload
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from orders.models import Order, Payment
from orders.temporal import client as order_client
from tests.conftest import wait_for_status
from tests.e2e.test_e2e import order_request
from workflows.binaries import temporal_cli
from workflows.codec import ENCODING, EncryptionCodec, KeyringError, codec_from, data_converter, new_key, parse_keyring
from workflows.order import OrderWorkflow
from workflows.shipping import ShippingWorkflow

OLD, NEW = new_key(), new_key()


def plain(data: bytes) -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=data)


async def test_round_trip_with_the_key_id_in_the_metadata():
    codec = codec_from(f"k1:{OLD}", "k1")
    [sealed] = await codec.encode([plain(b'{"customer_name": "Ada"}')])

    assert sealed.metadata["encoding"] == ENCODING and sealed.metadata["encryption-key-id"] == b"k1"
    assert b"Ada" not in sealed.data
    assert await codec.decode([sealed]) == [plain(b'{"customer_name": "Ada"}')]


async def test_rotation_decrypts_with_any_listed_key_and_encrypts_with_the_active_one():
    [old] = await codec_from(f"k1:{OLD}", "k1").encode([plain(b"1")])
    rotated = codec_from(f"k1:{OLD},k2:{NEW}", "k2")
    [new] = await rotated.encode([plain(b"2")])

    assert new.metadata["encryption-key-id"] == b"k2"
    assert await rotated.decode([old, new]) == [plain(b"1"), plain(b"2")]
    with pytest.raises(KeyringError, match="k1"):
        await codec_from(f"k2:{NEW}", "k2").decode([old])  # k1 dropped too early


async def test_unencrypted_payloads_pass_and_altered_ones_are_refused():
    codec = codec_from(f"k1:{OLD}", "k1")
    [sealed] = await codec.encode([plain(b"x")])
    altered = Payload(metadata=sealed.metadata, data=sealed.data[:-1] + bytes([sealed.data[-1] ^ 1]))
    relabelled = Payload(metadata={**sealed.metadata, "encryption-key-id": b"k2"}, data=sealed.data)

    assert await codec.decode([plain(b"old")]) == [plain(b"old")]
    with pytest.raises(KeyringError, match="does not decrypt"):
        await codec.decode([altered])
    with pytest.raises(KeyringError, match="does not decrypt"):
        await EncryptionCodec({"k1": base64.b64decode(OLD), "k2": base64.b64decode(OLD)}, "k1").decode([relabelled])


@pytest.mark.parametrize(
    "keys, active, problem",
    [("k1:short", "k1", "not id:<32 bytes"), (f"k1:{OLD}", "k2", "not in TEMPORAL_PAYLOAD_KEYS"), (OLD, "", "not id:")],
)
def test_a_bad_keyring_is_refused(keys, active, problem):
    with pytest.raises(KeyringError, match=problem):
        parse_keyring(keys, active)


def readable(history: str) -> str:
    """The history as anyone with access to Temporal reads it: its JSON, and every payload's data decoded from
    base64 (which is how plain JSON payloads appear in it)."""
    found = [history]

    def walk(node):
        if isinstance(node, dict):
            if "metadata" in node and isinstance(node.get("data"), str):
                found.append(base64.b64decode(node["data"]).decode("utf-8", errors="replace"))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(json.loads(history))
    return "\n".join(found)


def raw_history(live_temporal, order_id: str) -> str:
    return subprocess.run(
        [temporal_cli(), "workflow", "show", "--workflow-id", f"order-{order_id}", "--address", live_temporal.TEMPORAL_ADDRESS, "-o", "json"],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout


def use_keys(live_temporal, keys: str, active: str) -> None:
    live_temporal.TEMPORAL_PAYLOAD_KEYS, live_temporal.TEMPORAL_PAYLOAD_KEY_ID = keys, active
    order_client._runner._client = None  # the next call connects with this keyring


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_the_raw_history_of_a_completed_order_holds_no_customer_data(live_temporal, start_worker):
    use_keys(live_temporal, f"k1:{OLD}", "k1")
    start_worker(TEMPORAL_PAYLOAD_KEYS=f"k1:{OLD}", TEMPORAL_PAYLOAD_KEY_ID="k1")
    request = order_request("enc-1", customer_name="Grace Hopper", customer_email="grace@example.com")
    order_client.start_order(**request)
    wait_for_status("enc-1", Order.Status.AWAITING_REVIEW)
    order_client.approve("enc-1", actor="rita")
    wait_for_status("enc-1", Order.Status.COMPLETED)

    history = raw_history(live_temporal, "enc-1")

    assert json.loads(history)["events"][-1]["eventType"] in ("EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED", "WorkflowExecutionCompleted")
    text = readable(history)
    assert "order-enc-1" in text and "customer" not in text  # payloads are read, and none is in clear
    for secret in ("Grace", "Hopper", "grace@example.com", request["shipping_address"]["line1"], request["shipping_address"]["city"]):
        assert secret not in text
    assert base64.b64encode(ENCODING).decode() in history
    # With the key, the same history replays (its payloads decode).
    replayer = Replayer(workflows=[OrderWorkflow, ShippingWorkflow], data_converter=data_converter(codec_from(f"k1:{OLD}", "k1")))
    replayed = asyncio.run(replayer.replay_workflow(WorkflowHistory.from_json("order-enc-1", history), raise_on_replay_failure=False))
    assert replayed.replay_failure is None


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_orders_in_flight_finish_across_turning_encryption_on_and_rotating_the_key(live_temporal, start_worker):
    # Started with encryption off, then on (k1), then rotated (k2 active, k1 still listed).
    use_keys(live_temporal, "", "")
    worker = start_worker(TEMPORAL_PAYLOAD_KEYS="", TEMPORAL_PAYLOAD_KEY_ID="")
    order_client.start_order(**order_request("enc-plain"))
    wait_for_status("enc-plain", Order.Status.AWAITING_REVIEW)
    worker.stop()

    use_keys(live_temporal, f"k1:{OLD}", "k1")
    worker = start_worker(TEMPORAL_PAYLOAD_KEYS=f"k1:{OLD}", TEMPORAL_PAYLOAD_KEY_ID="k1")
    order_client.start_order(**order_request("enc-k1"))
    wait_for_status("enc-k1", Order.Status.AWAITING_REVIEW)
    worker.stop()

    use_keys(live_temporal, f"k1:{OLD},k2:{NEW}", "k2")
    start_worker(TEMPORAL_PAYLOAD_KEYS=f"k1:{OLD},k2:{NEW}", TEMPORAL_PAYLOAD_KEY_ID="k2")
    for order_id in ("enc-plain", "enc-k1"):
        assert order_client.approve(order_id, actor="rita").accepted
    for order_id in ("enc-plain", "enc-k1"):
        order = wait_for_status(order_id, Order.Status.COMPLETED)
        assert Payment.objects.filter(order=order).count() == 1
    assert "Ada Lovelace" in readable(raw_history(live_temporal, "enc-plain"))  # written before encryption: stays so
    assert "Ada Lovelace" not in readable(raw_history(live_temporal, "enc-k1"))


@pytest.fixture
def sealed_payload(settings):
    settings.TEMPORAL_PAYLOAD_KEYS, settings.TEMPORAL_PAYLOAD_KEY_ID = f"k1:{OLD}", "k1"
    [sealed] = asyncio.run(codec_from(f"k1:{OLD}", "k1").encode([plain(b'"Grace Hopper"')]))
    return {"payloads": [json_format.MessageToDict(sealed)]}


def decode(client, body, **headers):
    return client.post("/temporal-codec/decode", json.dumps(body), content_type="application/json", **headers)


@pytest.mark.django_db
def test_the_codec_endpoint_decodes_for_staff_and_reviewers_only(client, sealed_payload, roles):
    staff = User.objects.create_user("ops", is_staff=True)
    reviewer = User.objects.create_user("rita")
    reviewer.groups.add(roles["Reviewers"])
    shop = User.objects.create_user("shop")
    shop.groups.add(roles["Order clients"])

    anonymous = decode(client, sealed_payload)
    as_shop = decode(client, sealed_payload, HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=shop).key}")
    as_reviewer = decode(client, sealed_payload, HTTP_AUTHORIZATION=f"Bearer {Token.objects.create(user=reviewer).key}")
    client.force_login(staff)
    as_staff = decode(client, sealed_payload)

    assert anonymous.status_code == 401 and as_shop.status_code == 403
    for answer in (as_reviewer, as_staff):
        assert answer.status_code == 200
        [payload] = answer.json()["payloads"]
        assert base64.b64decode(payload["data"]) == b'"Grace Hopper"'


@pytest.mark.django_db
def test_the_codec_endpoint_lets_only_the_temporal_ui_read_it(client, settings, sealed_payload):
    client.force_login(User.objects.create_user("ops", is_staff=True))
    from_ui = client.options("/temporal-codec/decode", HTTP_ORIGIN=settings.TEMPORAL_UI_URL, HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST")
    from_elsewhere = decode(client, sealed_payload, HTTP_ORIGIN="https://evil.example.com")

    assert from_ui["Access-Control-Allow-Origin"] == settings.TEMPORAL_UI_URL
    assert from_ui["Access-Control-Allow-Credentials"] == "true"
    assert "Access-Control-Allow-Origin" not in from_elsewhere
    assert decode(client, {"payloads": "nope"}).status_code == 400


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def sealed_with(metadata: dict[str, bytes], data: bytes) -> dict:
    return {"metadata": {key: b64(value) for key, value in metadata.items()}, "data": b64(data)}


MALFORMED = {
    "ciphertext shorter than the nonce": sealed_with({"encoding": ENCODING, "encryption-key-id": b"k1"}, b"short"),
    "no room for the tag": sealed_with({"encoding": ENCODING, "encryption-key-id": b"k1"}, b"n" * 12 + b"x"),
    "a key id that is not UTF-8": sealed_with({"encoding": ENCODING, "encryption-key-id": b"\xff\xfe"}, b"n" * 40),
    "an unknown key": sealed_with({"encoding": ENCODING, "encryption-key-id": b"k9"}, b"n" * 40),
    "bad base64": {"metadata": {"encoding": b64(ENCODING)}, "data": "not base64!"},
    "metadata that is not base64": {"metadata": {"encoding": "%%%"}, "data": b64(b"x")},
}


@pytest.mark.django_db
@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_the_codec_endpoint_answers_a_malformed_payload_with_400_json(client, sealed_payload, case):
    client.force_login(User.objects.create_user("ops", is_staff=True))
    response = decode(client, {"payloads": [sealed_payload["payloads"][0], MALFORMED[case]]})

    assert response.status_code == 400, response.content
    body = response.json()
    assert body["error"] in ("invalid", "undecodable") and body["detail"]


async def test_the_codec_names_what_is_wrong_with_a_payload():
    codec = codec_from(f"k1:{OLD}", "k1")
    sealed = {"encoding": ENCODING, "encryption-key-id": b"k1"}
    with pytest.raises(KeyringError, match="too short"):
        await codec.decode([Payload(metadata=sealed, data=b"short")])
    with pytest.raises(KeyringError, match="not UTF-8"):
        await codec.decode([Payload(metadata={**sealed, "encryption-key-id": b"\xff"}, data=b"n" * 40)])
