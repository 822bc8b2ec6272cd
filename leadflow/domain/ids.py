"""What an id from outside may look like (lead, task and suggestion ids, user ids): the one rule,
checked before an id reaches a key lookup (DynamoDB refuses an empty or over-long key with an
error that must never reach the caller)."""

from __future__ import annotations

import re

from leadflow.domain.errors import InvalidInput

MAX_ID_CHARS = 128
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@+\-]*")


def check_id(value: object, field: str) -> str:
    if not isinstance(value, str) or len(value) > MAX_ID_CHARS or not _ID.fullmatch(value):
        raise InvalidInput(f"{field} must be an id: 1 to {MAX_ID_CHARS} of A-Z a-z 0-9 . _ : @ + -, "
                           "starting with a letter or digit", field=field)
    return value
