"""Benchmark: DynamoDB requests of the controlling queries at 1k, 10k and 100k leads.

    python -m tests.bench.controlling [--leads 1000,10000,100000]

Synthetic leads walk the funnel over 12 months (capture, MQL, reassignment, SAL with
SLA, recycling with reasons, disqualification, opportunity, won with an amount, lost).
Every stage change goes through the real `counter_updates`; the increments are summed
per counter item and written with BatchWriteItem, which leaves exactly the items the
transactions would have left, without paying one transaction per stage change.
Then each report runs once while a botocore hook counts the requests it makes.
Runs on in-process moto provisioned from template.yaml; prints a table.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from leadflow.domain.controlling import add_into, counter_updates
from leadflow.domain.lifecycle import Stage, Transition

TZ = "Europe/Berlin"
START = datetime(2025, 1, 1, tzinfo=UTC)
END = datetime(2025, 12, 31, 22, 0, tzinfo=UTC)  # still 2025 in Berlin
SOURCES = ("website", "trade-fair", "newsletter", "linkedin", "partner")
CAMPAIGNS = ("spring", "summer", "autumn", "winter", "webinar", "fair-2025", "mailing", None)
REPS = tuple(f"rep-{i:02d}" for i in range(10))
RECYCLE = ("no budget: next year", "no need", "bad timing: call in Q3", "no response")
DISQUALIFY = ("implausible: name_placeholder", "competitor", "duplicate of 01jx9z8y7w6v5t4s3r2q1p0n9m",
              "student")
LOST = ("price: too high", "competitor won", "project cancelled")


@dataclass(frozen=True)
class Move:
    transition: Transition
    dimensions: dict
    entered_from: datetime | None
    captured_at: datetime
    first_time: bool
    details: dict | None


def journey(index: int, seed: int = 7) -> list[Move]:
    """The stage changes of synthetic lead `index` (the same for the same index and seed)."""
    rng = random.Random(seed * 1_000_003 + index)
    lead_id = f"L{index:07d}"
    at = START + timedelta(seconds=rng.uniform(0, (END - START).total_seconds()))
    campaign = rng.choice(CAMPAIGNS)
    dims = {"source": rng.choice(SOURCES), "campaign": campaign,
            "last_campaign": rng.choice(CAMPAIGNS) if rng.random() < 0.2 else campaign, "owner": None}
    moves: list[Move] = []
    captured, stage, entered, reached = at, None, None, set()

    def go(to: Stage, hours: float, reason: str | None = None, details: dict | None = None) -> bool:
        nonlocal at, stage, entered
        when = at + timedelta(hours=hours)
        if when > END:
            return False
        moves.append(Move(Transition(lead_id, stage, to, when, "bench", reason), dict(dims), entered, captured,
                          to.value not in reached, details))
        reached.add(to.value)
        at, stage, entered = when, to, when
        return True

    go(Stage.LEAD, 0)
    for _attempt in range(2):  # from LEAD, then once more if recycled
        r = rng.random()
        if r < 0.1:
            go(Stage.DISQUALIFIED, rng.expovariate(1 / 2), rng.choice(DISQUALIFY))
            return moves
        if r > 0.75 or not go(Stage.MQL, rng.expovariate(1 / 240)):
            return moves
        dims["owner"] = rng.choice(REPS)
        if rng.random() < 0.1:
            dims["owner"] = rng.choice(REPS)  # reassigned: the SLA ran out
        r = rng.random()
        if r < 0.2:
            if not go(Stage.RECYCLED, rng.expovariate(1 / 30), rng.choice(RECYCLE), {"sla_met": rng.random() < 0.8}):
                return moves
            dims["owner"] = None
            continue
        if r > 0.93:
            go(Stage.DISQUALIFIED, rng.expovariate(1 / 20), rng.choice(DISQUALIFY), {"sla_met": True})
            return moves
        if not go(Stage.SAL, rng.expovariate(1 / 12), details={"sla_met": rng.random() < 0.85}):
            return moves
        if rng.random() < 0.25 or not go(Stage.SQL, rng.expovariate(1 / 100)):
            if stage is Stage.SAL and rng.random() < 0.5:
                go(Stage.RECYCLED, rng.expovariate(1 / 50), rng.choice(RECYCLE))
            return moves
        if rng.random() < 0.35 or not go(Stage.OPPORTUNITY, rng.expovariate(1 / 200)):
            return moves
        if rng.random() < 0.45:
            go(Stage.CUSTOMER, rng.expovariate(1 / 500), "won",
               {"amount": round(rng.uniform(2_000, 60_000), 2), "currency": "EUR"})
            return moves
        if go(Stage.LOST, rng.expovariate(1 / 400), rng.choice(LOST)) and rng.random() < 0.3:
            go(Stage.RECYCLED, rng.expovariate(1 / 100), "lost: nurture again")
        return moves
    return moves


def aggregate(first: int, count: int, seed: int = 7, into: dict | None = None) -> tuple[dict, Counter]:
    """Sum the counter updates of leads first..first+count-1 per item; also count the stage changes."""
    items: dict = into if into is not None else defaultdict(dict)
    moves = Counter()
    for index in range(first, first + count):
        for m in journey(index, seed):
            for u in counter_updates(m.transition, m.dimensions, TZ, m.entered_from, captured_at=m.captured_at,
                                     first_time_in_stage=m.first_time, details=m.details):
                add_into(items[(u.pk, u.sk)], u.increments)
            source = m.transition.from_stage.value if m.transition.from_stage else None
            moves[(source, m.transition.to_stage.value)] += 1
    return items, moves


def write(items: dict, partitions: set[str] | None = None) -> int:
    """Put the summed items (replacing what is there). With `partitions`, only the items of those pks.

    On in-process moto the items go straight into its backend: moto needs milliseconds to parse and
    validate one many-attribute item sent through botocore, and what is stored is the same."""
    from leadflow.store.models import CounterModel

    table = CounterModel.Meta.table_name
    rows = [{"pk": {"S": pk}, "sk": {"S": sk}, **{k: {"N": str(v)} for k, v in attrs.items()}}
            for (pk, sk), attrs in items.items() if partitions is None or pk in partitions]
    backend = _moto_backend()
    if backend is not None:
        from moto.dynamodb.models.dynamo_type import LimitedSizeDict

        # moto re-sums an item's size on every attribute it sets (quadratic in attributes); the items
        # here are checked against DynamoDB's 400 KB once instead
        assert max(item_bytes(pk, sk, attrs) for (pk, sk), attrs in items.items()) < 400_000
        checked = LimitedSizeDict.__setitem__
        LimitedSizeDict.__setitem__ = dict.__setitem__
        try:
            for row in rows:
                backend.put_item(table, row)
        finally:
            LimitedSizeDict.__setitem__ = checked
        return len(rows)
    from leadflow.adapters.aws import client

    dynamodb = client("dynamodb")
    for start in range(0, len(rows), 25):
        batch = {table: [{"PutRequest": {"Item": row}} for row in rows[start:start + 25]]}
        while batch:
            batch = dynamodb.batch_write_item(RequestItems=batch).get("UnprocessedItems") or {}
    return len(rows)


def remove(keys) -> None:
    """Delete counter items by key (the test cleans up what it wrote)."""
    from leadflow.store.models import CounterModel

    table = CounterModel.Meta.table_name
    backend = _moto_backend()
    if backend is not None:
        for pk, sk in keys:
            backend.delete_item(table, {"pk": {"S": pk}, "sk": {"S": sk}})
        return
    from leadflow.adapters.aws import client

    requests = [{"DeleteRequest": {"Key": {"pk": {"S": pk}, "sk": {"S": sk}}}} for pk, sk in keys]
    for start in range(0, len(requests), 25):
        batch = {table: requests[start:start + 25]}
        while batch:
            batch = client("dynamodb").batch_write_item(RequestItems=batch).get("UnprocessedItems") or {}


def _moto_backend():
    """moto's in-process DynamoDB backend while `mock_aws` is active (None against a server)."""
    if os.environ.get("AWS_ENDPOINT_URL"):
        return None
    try:
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.dynamodb.models import dynamodb_backends
    except ImportError:
        return None
    from leadflow.settings import get_settings

    return dynamodb_backends[DEFAULT_ACCOUNT_ID][get_settings().region]


def item_bytes(pk: str, sk: str, attributes: dict[str, int]) -> int:
    """DynamoDB's size of a counter item: names plus values (a number: ~1 byte per 2 digits + 1)."""
    return (2 + len(pk) + 2 + len(sk)
            + sum(len(name) + len(str(value)) // 2 + 2 for name, value in attributes.items()))


@contextmanager
def counting_requests() -> Iterator[Counter]:
    """Count every AWS request made through botocore (any client), by (operation, table)."""
    from botocore.client import BaseClient

    counts: Counter = Counter()
    original = BaseClient._make_api_call

    def counted(self, operation_name, api_params):
        tables = api_params.get("TableName") or ",".join(sorted(api_params.get("RequestItems") or {})) or "-"
        counts[(operation_name, tables)] += 1
        return original(self, operation_name, api_params)

    BaseClient._make_api_call = counted
    try:
        yield counts
    finally:
        BaseClient._make_api_call = original


YEAR = (date(2025, 1, 1), date(2025, 12, 31))
WEEKS = (date(2025, 3, 3), date(2025, 5, 25))
DAYS = (date(2025, 6, 1), date(2025, 6, 14))


def partitions_read() -> set[str]:
    """The counter partitions the measured reports read (all others are not written: a report
    that scanned would show up as a Scan in the counts, whatever the table holds)."""
    from leadflow.domain.controlling import periods_between

    months = periods_between("month", *YEAR)
    return ({f"month#{m}" for m in months} | {f"cohort#{m}" for m in months}
            | {f"week#{w}" for w in periods_between("week", *WEEKS)}
            | {f"day#{d}" for d in periods_between("day", *DAYS)})


def reports() -> dict:
    """The reports measured, each a callable."""
    from leadflow.services import controlling as c

    return {
        "funnel 12 months": lambda: c.funnel(*YEAR),
        "funnel 12 months by campaign": lambda: c.funnel(*YEAR, group_by="campaign"),
        "funnel 12 months by owner": lambda: c.funnel(*YEAR, group_by="owner"),
        "funnel 12 weeks (week grain)": lambda: c.funnel(*WEEKS, grain="week"),
        "funnel 14 days (day grain)": lambda: c.funnel(*DAYS),
        "cohorts 12 months": lambda: c.cohorts(*YEAR),
        "slaCompliance 12 months by owner": lambda: c.sla_compliance(*YEAR, group_by="owner"),
        "campaignPerformance 12 months": lambda: c.campaign_performance(*YEAR),
        "metricsCsv 12 months by source": lambda: c.metrics_csv(*YEAR, group_by="source"),
    }


def measure() -> dict[str, tuple[int, set[str]]]:
    out = {}
    for name, run in reports().items():
        with counting_requests() as counts:
            run()
        out[name] = (sum(counts.values()), {op for op, _ in counts})
    return out


def _environment() -> None:
    os.environ.update({"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION":
                       "eu-central-1", "AWS_REGION": "eu-central-1", "LEADFLOW_STAGE": "dev",
                       "LEADFLOW_TIMEZONE": TZ})
    os.environ.pop("AWS_ENDPOINT_URL", None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.controlling", description=__doc__.split("\n")[0])
    parser.add_argument("--leads", default="1000,10000,100000", help="comma-separated lead counts")
    args = parser.parse_args(argv)
    sizes = sorted(int(n) for n in args.leads.split(","))
    _environment()
    from moto import mock_aws

    from infra.provision import provision
    from infra.template import load_wiring

    with mock_aws():
        stack = provision(load_wiring(parameters={"Stage": "dev"}), name="leadflow", keys_seed="bench-" * 8)
        os.environ.update(stack.environment())
        from leadflow.adapters.aws import reset_clients
        from leadflow.settings import get_settings

        get_settings.cache_clear()
        reset_clients()

        items: dict = defaultdict(dict)
        moves: Counter = Counter()
        done = 0
        results: dict[int, dict] = {}
        partition_bytes: dict[int, tuple[str, int]] = {}
        largest = max(len(counter_updates(m.transition, m.dimensions, TZ, m.entered_from, captured_at=m.captured_at,
                                          first_time_in_stage=m.first_time, details=m.details))
                          for i in range(200) for m in journey(i))
        for size in sizes:
            started = time.perf_counter()
            _, more = aggregate(done, size - done, into=items)
            moves += more
            done = size
            aggregated = time.perf_counter() - started
            written = write(items, partitions_read())
            results[size] = measure()
            sizes_by_pk: Counter = Counter()
            for (pk, sk), attrs in items.items():
                sizes_by_pk[pk] += item_bytes(pk, sk, attrs)
            largest_pk, largest_bytes = max(((pk, n) for pk, n in sizes_by_pk.items() if pk.startswith("month#")),
                                            key=lambda x: x[1])
            partition_bytes[size] = (largest_pk, largest_bytes)
            print(f"{size:>7} leads: {sum(moves.values())} stage changes, {len(items)} counter items, "
                  f"{written} of them in the partitions read (aggregated in {aggregated:.1f}s, "
                  f"written in {time.perf_counter() - started - aggregated:.1f}s)",
                  file=sys.stderr, flush=True)

    print(f"\nDynamoDB requests per report (counter items per stage-change transaction: at most {largest})\n")
    header = f"{'report':<36}" + "".join(f"{f'{n:,} leads':>15}" for n in sizes) + "  operations"
    print(header)
    print("-" * len(header))
    for name in reports():
        counts = [results[n][name][0] for n in sizes]
        ops = sorted(set().union(*(results[n][name][1] for n in sizes)))
        print(f"{name:<36}" + "".join(f"{c:>15}" for c in counts) + "  " + ", ".join(ops))
    print("\nlargest month partition (one grouped Query reads it; a Query page holds 1 MB): "
          + ", ".join(f"{n:,} leads: {b / 1024:.0f} KB ({pk})" for n, (pk, b) in partition_bytes.items()))
    same = all(len({results[n][name][0] for n in sizes}) == 1 for name in reports())
    scans = any("Scan" in results[n][name][1] for n in sizes for name in reports())
    print(f"\nrequest counts independent of the number of leads: {'yes' if same else 'NO'}; "
          f"Scans: {'YES' if scans else 'none'}")
    return 0 if same and not scans else 1


if __name__ == "__main__":
    sys.exit(main())
