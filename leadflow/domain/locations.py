"""What may go into a Location header: the one rule for every redirect (tracked clicks, their
fallback page, capture's redirectTo). Apart from domain.tracking, which defines pydantic models:
the capture function needs only this rule at its cold start."""

from __future__ import annotations

import re

MAX_URL_CHARS = 2048
FORBIDDEN_CHARS = re.compile(r"[\x00-\x20\x7f\\]")  # control chars, whitespace, backslash


def safe_location(url: object) -> bool:
    """Whether a URL may go into a Location header at all: a string of at most MAX_URL_CHARS
    with no control character (CR/LF would inject a header), no whitespace, no backslash."""
    return isinstance(url, str) and 0 < len(url) <= MAX_URL_CHARS and not FORBIDDEN_CHARS.search(url)
