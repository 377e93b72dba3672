"""Payloads encrypted before they leave the process: Temporal's history, its UI and its database only ever hold
ciphertext of the orders' customer data.

AES-256-GCM from `cryptography`. The key id travels in each payload's metadata, so a keyring rotates: payloads
are encrypted with the active key (TEMPORAL_PAYLOAD_KEY_ID) and decrypted with whichever listed key made them
(TEMPORAL_PAYLOAD_KEYS). Payloads written before encryption was turned on carry no such metadata and pass
through as they are, so orders already in flight finish. Failure messages and stack traces are encoded too
(the failure converter with encoded attributes).
"""

import base64
import binascii
import dataclasses
import os
from typing import Optional, Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes, PayloadCodec

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"
NONCE_BYTES = 12
TAG_BYTES = 16  # GCM's authentication tag, after the ciphertext


class KeyringError(ValueError):
    pass


def parse_keyring(keys: str, active: str) -> dict[str, bytes]:
    """`id:base64,id:base64` (32-byte keys) into {id: key}; the active id must be one of them."""
    ring = {}
    for entry in filter(None, (part.strip() for part in keys.split(","))):
        key_id, sep, encoded = entry.partition(":")
        try:
            key = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            key = b""
        if not sep or not key_id or len(key) != 32:
            raise KeyringError(f"TEMPORAL_PAYLOAD_KEYS entry {key_id or entry[:8]!r} is not id:<32 bytes in base64>")
        ring[key_id] = key
    if ring and active not in ring:
        raise KeyringError(f"TEMPORAL_PAYLOAD_KEY_ID {active!r} is not in TEMPORAL_PAYLOAD_KEYS")
    return ring


def new_key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


class EncryptionCodec(PayloadCodec):
    def __init__(self, keys: dict[str, bytes], active: str):
        self._ciphers = {key_id: AESGCM(key) for key_id, key in keys.items()}
        self._active = active

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        cipher = self._ciphers[self._active]
        encoded = []
        for payload in payloads:
            nonce = os.urandom(NONCE_BYTES)
            # The key id is bound to the ciphertext as associated data: swapping it makes decryption fail.
            sealed = cipher.encrypt(nonce, payload.SerializeToString(), self._active.encode())
            encoded.append(Payload(metadata={"encoding": ENCODING, KEY_ID: self._active.encode()}, data=nonce + sealed))
        return encoded

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        decoded = []
        for payload in payloads:
            if payload.metadata.get("encoding") != ENCODING:
                decoded.append(payload)  # written before encryption was turned on
                continue
            try:
                key_id = payload.metadata.get(KEY_ID, b"").decode()
            except UnicodeDecodeError:
                raise KeyringError("a payload's key id is not UTF-8") from None
            cipher = self._ciphers.get(key_id)
            if cipher is None:
                raise KeyringError(f"payload encrypted with key {key_id!r}, which is not in TEMPORAL_PAYLOAD_KEYS")
            if len(payload.data) < NONCE_BYTES + TAG_BYTES:
                raise KeyringError(f"a payload under key {key_id!r} is too short to be encrypted ({len(payload.data)} bytes)")
            try:
                plain = cipher.decrypt(payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:], key_id.encode())
            except InvalidTag:
                raise KeyringError(f"a payload under key {key_id!r} does not decrypt: altered, or that key changed") from None
            decoded.append(Payload.FromString(plain))
        return decoded


def codec_from(keys: str, active: str) -> Optional[EncryptionCodec]:
    ring = parse_keyring(keys, active)
    return EncryptionCodec(ring, active) if ring else None


def data_converter(codec: Optional[PayloadCodec]) -> DataConverter:
    if codec is None:
        return DataConverter.default
    return dataclasses.replace(
        DataConverter.default, payload_codec=codec, failure_converter_class=DefaultFailureConverterWithEncodedAttributes
    )
