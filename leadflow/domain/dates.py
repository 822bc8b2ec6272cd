"""Date ranges of queries (reports, fairness): the one check every from..to goes through."""

from __future__ import annotations

from datetime import date

from leadflow.domain.errors import InvalidInput


def check_range(start: date, end: date, max_days: int, *, from_field: str = "from", to_field: str = "to") -> None:
    """Refuse to > from reversed and ranges longer than `max_days` (both days count): a query's cost
    grows with its range, and a range of centuries would run into the function's timeout."""
    if end < start:
        raise InvalidInput(f"`{to_field}` ({end}) lies before `{from_field}` ({start})", field=to_field)
    days = (end - start).days + 1
    if days > max_days:
        raise InvalidInput(f"{start}..{end} is {days} days; one query covers at most {max_days} days "
                           "(setting LEADFLOW_MAX_REPORT_DAYS)", field=to_field)
