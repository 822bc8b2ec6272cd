"""The funnel counters are added up from the outbox stream exactly once per record, and each
counter item is written once per batch (issue 12: counters without hot items)."""

from __future__ import annotations

import botocore.client
import pytest

from leadflow.store import counters as store
from leadflow.store.counters import CountingStopped, StreamCounts, add_from_stream


def record(n: int, *keys: str, amount: int = 1) -> StreamCounts:
    return StreamCounts(f"ev{n}", 1000 + n, [["month#2026-12", k, {"entered": amount}] for k in keys],
                        f"2026-12-03T10:00:{n:02d}.000+00:00")


def stored() -> dict[str, int]:
    return {sk: v.get("entered", 0) for sk, v in store.counters_for("month#2026-12").items()}


@pytest.fixture
def transactions(monkeypatch):
    """The counter keys each TransactWriteItems updates."""
    seen: list[list[str]] = []
    original = botocore.client.BaseClient._make_api_call

    def recording(client, operation, params):
        if operation == "TransactWriteItems":
            seen.append([i["Update"]["Key"]["sk"]["S"] for i in params["TransactItems"]
                         if i["Update"]["Key"]["pk"]["S"] == "month#2026-12"])
        return original(client, operation, params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", recording)
    return seen


def test_a_batch_writes_each_counter_once_and_a_redelivery_counts_nothing_again(aws, transactions):
    batch = [record(n, "LEAD|all|all", f"LEAD|source|s{n % 3}") for n in range(1, 61)]
    assert add_from_stream(batch, now_epoch=0) == (60, 0)
    assert stored() == {"LEAD|all|all": 60, "LEAD|source|s0": 20, "LEAD|source|s1": 20, "LEAD|source|s2": 20}
    assert transactions == [["LEAD|all|all", "LEAD|source|s0", "LEAD|source|s1", "LEAD|source|s2"]]
    assert add_from_stream(batch, now_epoch=0) == (0, 60)  # Lambda delivers the batch again
    assert stored()["LEAD|all|all"] == 60 and len(transactions) == 1
    assert store.counted_as_of() == "2026-12-03T10:00:60.000+00:00"


def test_a_batch_of_many_keys_goes_in_groups_each_key_written_once(aws, transactions):
    batch = [record(n, "SQL|all|all", *(f"SQL|campaign|c{n}-{k}" for k in range(3))) for n in range(100)]
    add_from_stream(batch, now_epoch=0)
    written = [key for group in transactions for key in group]
    assert len(written) == len(set(written)) == 301  # 300 campaigns + "all", each once
    assert len(transactions) == 4 and all(len(g) <= store.GROUP_KEYS for g in transactions)
    assert stored()["SQL|all|all"] == 100


def test_a_batch_that_failed_half_way_and_comes_back_longer_is_counted_exactly_once(aws, monkeypatch):
    batch = [record(n, "MQL|all|all", *(f"MQL|owner|rep{n}-{k}" for k in range(40))) for n in range(1, 6)]
    original = store._apply_groups
    calls = []

    def dies_after_the_first_group(event_id, checkpoint):
        groups = store._groups(checkpoint["totals"])
        if not calls:
            calls.append(event_id)
            one = {key: value for key, value in groups[0]}
            original(event_id, {**checkpoint, "totals": one})  # group 0 of the same checkpoint
            raise RuntimeError("the function timed out")
        return original(event_id, checkpoint)

    monkeypatch.setattr(store, "_apply_groups", dies_after_the_first_group)
    with pytest.raises(CountingStopped) as stopped:
        add_from_stream(batch, now_epoch=0)
    assert stopped.value.record.event_id == "ev1"  # the retry starts at the batch's first record
    longer = batch + [record(n, "MQL|all|all") for n in range(6, 9)]  # more records arrived meanwhile
    assert add_from_stream(longer, now_epoch=0) == (3, 5)
    totals = stored()
    assert totals["MQL|all|all"] == 8
    assert all(totals[f"MQL|owner|rep{n}-{k}"] == 1 for n in range(1, 6) for k in range(40))
