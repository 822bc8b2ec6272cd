"""Outcome labels and chronological ordering, mapped generically."""

from __future__ import annotations

import math
import re
from datetime import datetime

from leadflow.domain.errors import DomainError

from .features import is_missing, parse_number

POSITIVE = frozenset(
    {"1", "true", "t", "yes", "y", "won", "win", "converted", "success", "positive", "closed won"}
)
NEGATIVE = frozenset(
    {"0", "false", "f", "no", "n", "lost", "lose", "loss", "failed", "negative", "closed lost"}
)


class PredictiveDataError(DomainError):
    """The training data cannot be used as given (the message names the column)."""

    code = "invalid_training_data"


def _polarity(value: object) -> int | None:
    key = " ".join(str(value).split()).casefold()
    num = parse_number(key)
    if num is not None and num in (0.0, 1.0):
        return int(num)
    if key in POSITIVE:
        return 1
    if key in NEGATIVE:
        return 0
    words = set(re.split(r"[^a-z0-9]+", key))
    if "won" in words and "lost" not in words:
        return 1
    if "lost" in words and "won" not in words:
        return 0
    return None


def binary_labels(values: list[object], column: str = "label") -> list[int | None]:
    """Map an outcome column to 1 (won/converted) / 0 (lost) / None (missing, not yet closed).

    Understood: 0/1, true/false, yes/no, won/lost (also inside "Closed Won"), or
    any two numbers (the larger is the positive outcome). Anything else raises
    ``PredictiveDataError`` naming the column.
    """
    present = {" ".join(str(v).split()) for v in values if not is_missing(v)}
    if not present:
        raise PredictiveDataError(f"label column {column!r} has no values", field=column)
    mapping: dict[str, int] = {}
    unknown = []
    for v in present:
        pol = _polarity(v)
        if pol is None:
            unknown.append(v)
        else:
            mapping[v] = pol
    if unknown:
        nums = {v: parse_number(v) for v in present}
        if len(present) == 2 and all(n is not None for n in nums.values()):
            hi = max(present, key=lambda v: nums[v])
            mapping = {v: int(v == hi) for v in present}
        else:
            shown = ", ".join(repr(v) for v in sorted(present)[:6])
            raise PredictiveDataError(
                f"label column {column!r} is not binary: found {len(present)} distinct values ({shown}); "
                "expected 0/1, true/false, yes/no or won/lost",
                field=column,
            )
    if len(set(mapping.values())) < 2:
        raise PredictiveDataError(
            f"label column {column!r} holds only one outcome ({min(present)!r}); need won and lost",
            field=column,
        )
    return [None if is_missing(v) else mapping[" ".join(str(v).split())] for v in values]


def _as_datetime(text: str) -> float | None:
    t = text.strip()
    if t.endswith("Z"):
        t = t[:-1] + "+00:00"
    try:
        dt = datetime.fromisoformat(t)
    except ValueError:
        return None
    if dt.tzinfo is None:
        return dt.timestamp() if dt.year > 1970 else (dt - datetime(1970, 1, 1)).total_seconds()
    return dt.timestamp()


def chronological_order(values: list[object]) -> list[int]:
    """Row indices sorted oldest first, stable for ties.

    Values are compared as numbers when they all parse as numbers, else as
    ISO dates/timestamps when they all parse as such, else as text. Missing
    values sort first (treated as the oldest).
    """
    present = [v for v in values if not is_missing(v)]
    keys: list[float] | list[str]
    nums = [parse_number(v) for v in present]
    if present and all(n is not None for n in nums):
        conv = parse_number
    else:
        dates = [_as_datetime(str(v)) for v in present]
        def conv(v):
            return _as_datetime(str(v)) if as_dates else str(v)

        as_dates = bool(present) and all(d is not None for d in dates)
    keys = [None if is_missing(v) else conv(v) for v in values]
    missing = [i for i, k in enumerate(keys) if k is None]
    ordered = sorted((i for i, k in enumerate(keys) if k is not None), key=lambda i: keys[i])
    return missing + ordered


def jsonable_order_value(value: object) -> object:
    """An order value in a form that survives JSON (for the model's 'trained through' mark)."""
    num = parse_number(value)
    if num is not None and not is_missing(value):
        return int(num) if num.is_integer() and abs(num) < 2**53 else num
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return str(value)
