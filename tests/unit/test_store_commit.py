"""A transaction cancelled only by a simultaneous one is run again; anything else is not."""

from __future__ import annotations

import pytest
from pynamodb.exceptions import CancellationReason, TransactWriteError, VerboseClientError

from leadflow.store import leads


def _cause(codes):
    """What botocore + PynamoDB raise for a cancelled TransactWriteItems."""
    return VerboseClientError({"Error": {"Code": "TransactionCanceledException", "Message": "cancelled"}},
                              "TransactWriteItems",
                              cancellation_reasons=[CancellationReason(code=c) if c else None for c in codes])


class _FakeTransaction:
    def __init__(self, outcomes):
        self.outcomes = outcomes

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        codes = self.outcomes.pop(0)
        if codes:
            raise TransactWriteError("cancelled", cause=_cause(codes))
        return False


def run(monkeypatch, outcomes):
    calls = []
    tokens = []
    monkeypatch.setattr(leads, "_transaction", lambda token: tokens.append(token) or _FakeTransaction(outcomes))
    monkeypatch.setattr(leads.time, "sleep", lambda s: None)
    try:
        leads.commit(lambda tx: calls.append(tx))
    finally:
        # every attempt has its own idempotency token (an SDK retry of one attempt reuses it)
        assert len(set(tokens)) == len(tokens) == len(calls) and all(len(t) == 32 for t in tokens)
    return len(calls)


def test_conflicts_with_another_transaction_are_retried(monkeypatch):
    outcomes = [[None, "TransactionConflict"], ["TransactionConflict"], None]
    assert run(monkeypatch, outcomes) == 3


def test_a_failed_condition_is_not_retried(monkeypatch):
    with pytest.raises(TransactWriteError):
        run(monkeypatch, [["ConditionalCheckFailed", "TransactionConflict"]])


def test_retries_end(monkeypatch):
    with pytest.raises(TransactWriteError):
        run(monkeypatch, [["TransactionConflict"]] * (leads.CONFLICT_RETRIES + 1))
