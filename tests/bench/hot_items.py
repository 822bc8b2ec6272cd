"""Hot items: which DynamoDB item and which partition the funnel writes most, per lead.

N leads go the whole way (a quote request: capture -> qualify -> MQL -> routed -> SAL -> SQL ->
opportunity -> won or lost) through the real handlers on in-process moto, with every write
recorded per item and per partition (base table and index partitions, in write units). The
outbox stream's consumers run as on AWS: the relay as the work needs it, the counters consumer
in batches of its event source mapping's size (1,000 records; at the rates that matter a 5 s
batching window fills them).

Reported: the most-written shared item (not an item of one lead: the lead, its history, outbox or
journey item) and its writes per lead (goal <= 0.05; the team's rotation state is the one the issue
allows, one write per MQL of that team), and the hottest
partition's write units per stage change, which with DynamoDB's 1,000 WCU/s per partition gives
the ceiling in stage changes per second (goal >= 1,000/s).
"""

from __future__ import annotations

from collections import Counter
from contextlib import redirect_stdout
from dataclasses import dataclass
from datetime import date, timedelta

from tests.bench import harness
from tests.bench.counting import counting
from tests.bench.operations import SINK, silence_function_logs

PARTITION_WCU_PER_S = 1000


@dataclass
class HotItems:
    leads: int
    stage_changes: int
    item: str
    item_writes_per_lead: float
    partition: str
    partition_wcu_per_change: float
    ceiling_changes_per_s: float
    top_items: list[tuple[str, float]]
    top_partitions: list[tuple[str, float]]


def _pump(stack, readers, relay_only: bool = True) -> None:
    """Relay the outbox and deliver every queue until nothing moves (the counters wait)."""
    from infra.streams import drain
    from tests.helpers import invoke_in_process, sqs_event

    relay = [r for r in readers if r.subscription.function != "CountersFunction"] if relay_only else readers
    handlers = {s.queue: s.function for s in stack.wiring.subscriptions}
    while True:
        moved = drain(relay) > 0
        for queue, function in handlers.items():
            bodies = [m["Body"] for m in _receive(stack, queue)]
            if bodies:
                moved = True
                invoke_in_process(stack, function, sqs_event(bodies))
        if not moved:
            return


def _receive(stack, queue: str) -> list[dict]:
    import boto3

    sqs = boto3.client("sqs", region_name="eu-central-1")
    page = sqs.receive_message(QueueUrl=stack.queue_url(queue), MaxNumberOfMessages=10).get("Messages", [])
    for m in page:
        sqs.delete_message(QueueUrl=stack.queue_url(queue), ReceiptHandle=m["ReceiptHandle"])
    return page


def run(leads: int = 200) -> HotItems:
    from infra.streams import drain, readers
    from leadflow.store.leads import get_lead
    from tests.helpers import invoke_in_process

    silence_function_logs()
    with harness.moto_stack() as stack, redirect_stdout(SINK), counting() as log:
        stream_readers = readers(stack, lambda f, e: invoke_in_process(stack, f, e))
        ids = [harness.capture(harness.lead_body(i, consent=i % 2 == 0, quote=True, tag="hot")) for i in range(leads)]
        _pump(stack, stream_readers)
        close = (date.today() + timedelta(days=60)).isoformat()
        for n, lead_id in enumerate(ids):
            rep = get_lead(lead_id).owner_id
            if not rep:
                continue
            outcome = "won: true" if n % 3 else 'won: false, reason: "price"'
            for mutation in ("mutation($id: ID!) { acceptLead(id: $id) { stage } }",
                             'mutation($id: ID!) { qualifyLead(id: $id, budget: "50k") { stage } }',
                             'mutation($id: ID!, $close: Date!) { convertToOpportunity(id: $id, amount: 9000, '
                             'currency: "EUR", expectedClose: $close) { stage } }',
                             f"mutation($id: ID!) {{ closeOpportunity(id: $id, {outcome}) {{ stage }} }}"):
                harness.gql(mutation, {"id": lead_id, "close": close} if "$close" in mutation else {"id": lead_id},
                            role="sales_rep", user=rep)
        _pump(stack, stream_readers)
        drain([r for r in stream_readers if r.subscription.function == "CountersFunction"])
        from leadflow.store.models import HistoryModel

        changes = sum(1 for lead_id in ids for h in HistoryModel.query(lead_id) if h.kind == "stage")
    items, partitions = Counter(), Counter()
    for call in log.calls:
        items.update(call.item_writes)
        partitions.update(call.partition_wru)
    # an item of one lead (the lead, its history, outbox, journey...) is no shared item
    own = {key for key in items if any(lead_id in key for lead_id in ids)}
    for key in own:
        del items[key]
    item, writes = items.most_common(1)[0]
    partition, wcu = partitions.most_common(1)[0]
    per_change = wcu / changes
    return HotItems(leads=leads, stage_changes=changes, item=item, item_writes_per_lead=writes / leads,
                    partition=partition, partition_wcu_per_change=per_change,
                    ceiling_changes_per_s=PARTITION_WCU_PER_S / per_change,
                    top_items=[(k, v / leads) for k, v in items.most_common(5)],
                    top_partitions=[(k, v / changes) for k, v in partitions.most_common(5)])


def lines(r: HotItems) -> list[str]:
    rows = [f"| {k} | {v:.3f} |" for k, v in r.top_items]
    parts = [f"| {k} | {v:.3f} |" for k, v in r.top_partitions]
    return [
        "## Hot items: writes per item and per partition", "",
        f"{r.leads} leads the whole way (capture to won or lost: {r.stage_changes} stage changes), every DynamoDB "
        "write recorded per item and per partition (`python -m tests.bench.hot_items`). The outbox's counters "
        "consumer runs in batches of its mapping's size (1,000 records).", "",
        f"- most-written shared item: `{r.item}`, **{r.item_writes_per_lead:.3f} writes per lead** (goal <= 0.05; "
        "a team's rotation state is allowed one write per MQL of that team, and this run has one team)",
        f"- hottest partition: `{r.partition}`, {r.partition_wcu_per_change:.3f} write units per stage change "
        f"-> ceiling **{r.ceiling_changes_per_s:,.0f} stage changes/s** at {PARTITION_WCU_PER_S:,} WCU/s per "
        "partition (goal >= 1,000/s)", "",
        "| shared item | writes per lead |", "| --- | ---: |", *rows, "",
        "| partition (table or table/index) | write units per stage change |", "| --- | ---: |", *parts, "",
    ]


if __name__ == "__main__":
    import sys

    result = run(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
    print(f"{result.leads} leads, {result.stage_changes} stage changes")
    print(f"most-written item: {result.item}: {result.item_writes_per_lead:.3f} writes per lead")
    for k, v in result.top_items:
        print(f"  {k}: {v:.3f}")
    print(f"hottest partition: {result.partition}: {result.partition_wcu_per_change:.3f} WCU per stage change "
          f"-> ceiling {result.ceiling_changes_per_s:,.0f} stage changes/s")
    for k, v in result.top_partitions:
        print(f"  {k}: {v:.3f}")
