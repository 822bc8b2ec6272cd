"""Time and ids: the only places the code asks what time it is."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime


def now() -> datetime:
    return datetime.now(UTC)


def from_iso(value: str | None) -> datetime | None:
    """A stored ISO time back as a datetime; None stays None."""
    return datetime.fromisoformat(value) if value else None


def new_id() -> str:
    """Time-ordered, unguessable id: 48-bit milliseconds + 80 random bits, 26 chars base32."""
    ms = int(time.time() * 1000)
    raw = ms.to_bytes(6, "big") + os.urandom(10)
    alphabet = "0123456789abcdefghjkmnpqrstvwxyz"
    number = int.from_bytes(raw, "big")
    chars = []
    for _ in range(26):
        number, rem = divmod(number, 32)
        chars.append(alphabet[rem])
    return "".join(reversed(chars))
