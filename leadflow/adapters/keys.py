"""The keys the product signs links and hashes personal data with, read once per cold start.

On AWS they live in one SSM Parameter Store SecureString (name in KEYS_PARAMETER_NAME, without
the leading slash, as SAM's SSMParameterReadPolicy expects), a JSON document:

    {"link_keys": ["<current>", "<previous>"], "hash_key": "<secret>"}

- link_keys sign DOI, unsubscribe and tracking links. The first signs; every one verifies, so a
  rotation (put a new key first, keep the old one second) breaks no link in a mail already sent.
- hash_key keys the HMAC behind email markers and dedup match keys, so the stored hashes say
  nothing without it. It is never rotated: changing it would orphan every marker and match key.

Without KEYS_PARAMETER_NAME (unit tests, scripts), both come from TOKEN_SECRET.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from functools import cache

MIN_KEY_LENGTH = 32


@dataclass(frozen=True)
class Keys:
    link_keys: tuple[bytes, ...]  # the first signs, all verify
    hash_key: bytes

    @property
    def signing_key(self) -> bytes:
        return self.link_keys[0]


def parse(document: str) -> Keys:
    """The SecureString's JSON; refuses short or missing keys (a weak key would sign links)."""
    data = json.loads(document)
    links = [str(k) for k in data.get("link_keys") or []]
    hash_key = str(data.get("hash_key") or "")
    if not links or any(len(k) < MIN_KEY_LENGTH for k in [*links, hash_key]):
        raise RuntimeError(f"the keys parameter needs link_keys (current first) and a hash_key, "
                           f"each at least {MIN_KEY_LENGTH} characters")
    return Keys(link_keys=tuple(k.encode() for k in links), hash_key=hash_key.encode())


def derive(seed: str) -> dict[str, object]:
    """A keys document derived from one seed: what the local stack and tests store."""

    def key(purpose: str) -> str:
        return hmac.new(seed.encode(), purpose.encode(), hashlib.sha256).hexdigest()

    return {"link_keys": [key("link-key-1")], "hash_key": key("hash-key")}


@cache
def keys() -> Keys:
    name = os.environ.get("KEYS_PARAMETER_NAME")
    if name:
        from leadflow.adapters.aws import client

        value = client("ssm").get_parameter(Name="/" + name.lstrip("/"), WithDecryption=True)["Parameter"]["Value"]
        return parse(value)
    seed = os.environ.get("TOKEN_SECRET", "")
    if len(seed) < MIN_KEY_LENGTH:
        raise RuntimeError("no keys: set KEYS_PARAMETER_NAME (AWS) or TOKEN_SECRET (32+ characters)")
    return parse(json.dumps(derive(seed)))


def hash_key() -> bytes:
    return keys().hash_key


def reset() -> None:
    """For tests and the in-process local stack: read the keys again."""
    keys.cache_clear()
