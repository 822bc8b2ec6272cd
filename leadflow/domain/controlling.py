"""Pre-aggregated funnel counters: which counters one stage change moves, and
what the counters say (conversion, drop-off, time in stage, cohorts, money).

Controlling never scans leads. Every transition adds to a small, fixed set of
counter items in the same transaction as the stage change, so a funnel query
reads a number of items that depends on the period range, never on the number
of leads.

Counter items (MetricsTable, pk/sk strings, numeric attributes moved with ADD):

    pk "<grain>#<period>"    day#2026-11-22 | week#2026-W47 | month#2026-11 (company time zone)
    pk "cohort#<YYYY-MM>"    the month the lead was captured
    pk "pipeline"            the opportunities open now (a running total, not a period)
    sk "<STAGE>|<dimension>|<value>"   dimension: all | source | campaign | last_campaign | owner

Attributes of a period item (stage S, dimension value v, period p):

    entered            leads that entered S in p
    first              ... of those, the ones that entered S for the first time
    exit_<T>           leads that left S for T in p (T the next stage, or a side exit)
    tis_<b>            time-in-stage histogram of the leads that left S in p (see time_bucket)
    rsn_<T>_<code>     side exits to T (DISQUALIFIED, RECYCLED, LOST) by reason code
    sla_met / sla_missed   SLA outcome of leads that left S (the sales side passes sla_met)
    amt_<CUR>          amount in cents of the leads that entered S (value opened on OPPORTUNITY,
                       revenue won on CUSTOMER)

Attributes of a cohort item: `reached` (leads of the cohort that reached S, each once).
Attributes of the pipeline item (OPPORTUNITY only): `amt_<CUR>`, the open value: added when an
opportunity opens, taken off under the same dimensions when it closes.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from leadflow.domain.lifecycle import FUNNEL, SIDE_EXITS, Stage, Transition

GRAINS = ("day", "week", "month")
# Dimensions a funnel can be grouped by; "all" is the ungrouped total.
DIMENSIONS = ("all", "source", "campaign", "last_campaign", "owner")
NONE_VALUE = "(none)"
COHORT = "cohort"
PIPELINE = "pipeline"
DEFAULT_CURRENCY = "EUR"
MAX_VALUE_LENGTH = 200  # a dimension value in a sort key (UTM values are user input)

# Time in stage: 8 buckets per doubling of (1 + minutes): the bucket bounds are
# 9 % apart, so a median or p90 interpolated inside its bucket is within ~5 %.
BUCKETS_PER_OCTAVE = 8
MAX_BUCKET = BUCKETS_PER_OCTAVE * 22  # 2**22 minutes: about 8 years

REASON_MAX_WORDS = 5
REASON_MAX_LENGTH = 40

# Where a lead goes on from a stage when it does not drop off.
NEXT_STAGE: dict[Stage, Stage | None] = {
    **{stage: (FUNNEL[i + 1] if i + 1 < len(FUNNEL) else None) for i, stage in enumerate(FUNNEL)},
    Stage.RECYCLED: Stage.MQL,  # re-qualified after nurturing
    Stage.LOST: Stage.RECYCLED,  # back to nurturing
    Stage.DISQUALIFIED: Stage.LEAD,  # restored by a reviewer
}
ALL_STAGES: tuple[Stage, ...] = (*FUNNEL, Stage.DISQUALIFIED, Stage.RECYCLED, Stage.LOST)
SIDE_EXIT_ORDER: tuple[Stage, ...] = (Stage.DISQUALIFIED, Stage.RECYCLED, Stage.LOST)

_CURRENCY = re.compile(r"^[A-Z]{3}$")


# --- periods -------------------------------------------------------------------------------------

def period_key(grain: str, at: datetime, tz: str) -> str:
    local = at.astimezone(ZoneInfo(tz))
    return period_of_date(grain, local.date())


def period_of_date(grain: str, day: date) -> str:
    if grain == "day":
        return day.isoformat()
    if grain == "week":
        year, week, _ = day.isocalendar()
        return f"{year}-W{week:02d}"
    if grain == "month":
        return f"{day.year:04d}-{day.month:02d}"
    raise ValueError(f"unknown period grain {grain!r}")


def period_bounds(grain: str, period: str) -> tuple[date, date]:
    """First and last day (inclusive) of a period key."""
    if grain == "day":
        day = date.fromisoformat(period)
        return day, day
    if grain == "week":
        year, week = period.split("-W")
        start = date.fromisocalendar(int(year), int(week), 1)
        return start, start + timedelta(days=6)
    if grain == "month":
        year, month = (int(p) for p in period.split("-"))
        start = date(year, month, 1)
        following = date(year + (month == 12), month % 12 + 1, 1)
        return start, following - timedelta(days=1)
    raise ValueError(f"unknown period grain {grain!r}")


def periods_between(grain: str, start: date, end: date) -> list[str]:
    """The period keys that cover start..end (inclusive), oldest first."""
    if end < start:
        raise ValueError("the range ends before it starts")
    keys: list[str] = []
    day = period_bounds(grain, period_of_date(grain, start))[0]
    while day <= end:
        key = period_of_date(grain, day)
        keys.append(key)
        day = period_bounds(grain, key)[1] + timedelta(days=1)
    return keys


def choose_grain(start: date, end: date) -> str:
    """month beyond ~2 months, week beyond 2 weeks, else day."""
    days = (end - start).days + 1
    if days > 62:
        return "month"
    if days > 14:
        return "week"
    return "day"


def counter_key(grain: str, period: str) -> str:
    return f"{grain}#{period}"


def cohort_key(month: str) -> str:
    return f"{COHORT}#{month}"


def counter_sort_key(stage: str, dimension: str, value: str) -> str:
    return f"{stage}|{dimension}|{value}"


def parse_sort_key(sk: str) -> tuple[str, str, str]:
    stage, dimension, value = sk.split("|", 2)
    return stage, dimension, value


# --- time in stage -------------------------------------------------------------------------------

def time_bucket(seconds: float) -> int:
    """Log buckets of minutes in stage: bucket b holds 2**(b/8)-1 <= minutes < 2**((b+1)/8)-1."""
    minutes = max(seconds, 0.0) / 60.0
    return min(int(BUCKETS_PER_OCTAVE * math.log2(minutes + 1.0)), MAX_BUCKET)


def bucket_lower_hours(bucket: int) -> float:
    return (2 ** (bucket / BUCKETS_PER_OCTAVE) - 1.0) / 60.0


def bucket_upper_hours(bucket: int) -> float:
    return (2 ** ((bucket + 1) / BUCKETS_PER_OCTAVE) - 1.0) / 60.0


def percentile_hours(histogram: Mapping[int, int], q: float) -> float | None:
    """The q-quantile (0 < q < 1) of a time-in-stage histogram, interpolated inside its bucket."""
    total = sum(histogram.values())
    if total <= 0:
        return None
    rank = q * total
    seen = 0
    for bucket in sorted(histogram):
        count = histogram[bucket]
        if count <= 0:
            continue
        if seen + count >= rank:
            low, high = bucket_lower_hours(bucket), bucket_upper_hours(bucket)
            return low + (high - low) * (rank - seen) / count
        seen += count
    return bucket_upper_hours(max(histogram))


# --- reasons and money ---------------------------------------------------------------------------

_TRANSLIT = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})


def reason_code(reason: str | None) -> str:
    """A countable code from a free-text reason: the text before the first ':' as a
    lower-case slug of at most 5 words / 40 characters, without ids and long numbers.

    "implausible: name_placeholder" -> "implausible"; "duplicate of 01jx9..." -> "duplicate_of";
    "Kein Budget" -> "kein_budget". Idempotent: reason_code(reason_code(x)) == reason_code(x), so an
    erasure may replace a reason by its code without changing any count."""
    if not reason or not reason.strip():
        return "unspecified"
    head = reason.split(":", 1)[0].lower().translate(_TRANSLIT)
    head = unicodedata.normalize("NFKD", head).encode("ascii", "ignore").decode()
    words = [w for w in re.findall(r"[a-z0-9]+", head)
             if not (any(c.isdigit() for c in w) and (len(w) >= 8 or (w.isdigit() and len(w) >= 4)))]
    code = "_".join(words[:REASON_MAX_WORDS])[:REASON_MAX_LENGTH].strip("_")
    return code or "other"


def money_of(details: Mapping | None) -> tuple[str, int] | None:
    """(currency, cents) of a transition's `amount` (units) or `amount_cents`, or None."""
    if not details:
        return None
    if details.get("amount_cents") is not None:
        cents = details["amount_cents"]
    elif details.get("amount") is not None:
        amount = details["amount"]
        if isinstance(amount, bool) or not isinstance(amount, (int, float)) or not math.isfinite(amount):
            raise ValueError(f"amount must be a number, got {amount!r}")
        cents = round(amount * 100)
    else:
        return None
    if isinstance(cents, bool) or not isinstance(cents, (int, float)) or not math.isfinite(cents) or cents < 0:
        raise ValueError(f"amount must be a non-negative number, got {cents!r}")
    currency = str(details.get("currency") or DEFAULT_CURRENCY).upper()
    if not _CURRENCY.match(currency):
        raise ValueError(f"currency must be an ISO 4217 code such as EUR, got {currency!r}")
    return currency, round(cents)


# --- which counters a transition moves -----------------------------------------------------------

@dataclass(frozen=True)
class CounterUpdate:
    pk: str
    sk: str
    increments: dict[str, int] = field(default_factory=dict)


def dimension_values(dimensions: Mapping[str, str | None]) -> dict[str, str]:
    values = {"all": "all"}
    for dimension in DIMENSIONS[1:]:
        value = dimensions.get(dimension)
        if dimension == "last_campaign" and not value:
            value = dimensions.get("campaign")  # last touch defaults to the first touch
        values[dimension] = (str(value).strip()[:MAX_VALUE_LENGTH] or NONE_VALUE) if value else NONE_VALUE
    return values


def recorded_dimensions(dimensions: Mapping[str, str | None]) -> dict[str, str | None]:
    """The dimensions as a history entry records them (so a recount uses what counted)."""
    return {d: dimensions.get(d) for d in DIMENSIONS[1:]}


def with_dimensions(details: Mapping | None, dimensions: Mapping[str, str | None]) -> dict:
    """A transition's history `details` plus the dimensions its counters used (key "dims")."""
    return {**(details or {}), "dims": recorded_dimensions(dimensions)}


# The `details` of a stage history entry that counter_updates (and so a recount) reads. All
# anonymous (ids of reps, UTM values, flags, amounts, codes): erasure keeps exactly these.
COUNTED_DETAILS = ("dims", "source", "campaign", "sla_met", "amount", "amount_cents", "currency", "reason_code",
                   "pipeline")


def pipeline_details(amount_cents: int, currency: str, dimensions: Mapping[str, str | None]) -> dict:
    """What an opportunity put into the open pipeline, for the transition that takes it out."""
    return {"amount_cents": int(amount_cents), "currency": currency, "dims": recorded_dimensions(dimensions)}


def counter_updates(
    transition: Transition,
    dimensions: Mapping[str, str | None],
    tz: str,
    entered_from_stage_at: datetime | None = None,
    *,
    captured_at: datetime | None = None,
    first_time_in_stage: bool = True,
    details: Mapping | None = None,
) -> list[CounterUpdate]:
    """The counters one transition moves, each item once.

    Per grain and dimension: `entered` (+`first`, +`amt_<CUR>`) on the new stage; `exit_<TO>`, the
    time-in-stage bucket, the side-exit reason and the SLA outcome on the stage it leaves. With
    `captured_at` and a first visit of the stage, also the lead's capture cohort. At most
    3 grains x 5 dimensions x 2 + 5 = 35 items, + 5 pipeline items when an opportunity opens or closes
    (DynamoDB allows 100 in one transaction)."""
    values = dimension_values(dimensions)
    to_stage = transition.to_stage.value
    entered: dict[str, int] = {"entered": 1}
    if first_time_in_stage:
        entered["first"] = 1
    money = money_of(details)
    if money and money[1]:
        entered[f"amt_{money[0]}"] = money[1]
    left: dict[str, int] | None = None
    if transition.from_stage is not None:
        left = {f"exit_{to_stage}": 1}
        if entered_from_stage_at is not None:
            seconds = (transition.at - entered_from_stage_at).total_seconds()
            left[f"tis_{time_bucket(seconds)}"] = 1
        if transition.to_stage in SIDE_EXITS:
            # the code the transition recorded (a configured list); older entries: the reason's slug
            code = reason_code((details or {}).get("reason_code") or transition.reason)
            left[f"rsn_{to_stage}_{code}"] = 1
        sla_met = (details or {}).get("sla_met")
        if isinstance(sla_met, bool):
            left["sla_met" if sla_met else "sla_missed"] = 1

    updates: list[CounterUpdate] = []
    for grain in GRAINS:
        pk = counter_key(grain, period_key(grain, transition.at, tz))
        for dimension in DIMENSIONS:
            value = values[dimension]
            updates.append(CounterUpdate(pk, counter_sort_key(to_stage, dimension, value), dict(entered)))
            if left is not None:
                updates.append(CounterUpdate(
                    pk, counter_sort_key(transition.from_stage.value, dimension, value), dict(left)))
    if first_time_in_stage and captured_at is not None:
        pk = cohort_key(period_key("month", captured_at, tz))
        for dimension in DIMENSIONS:
            updates.append(CounterUpdate(pk, counter_sort_key(to_stage, dimension, values[dimension]),
                                         {"reached": 1}))
    updates += _pipeline_updates(transition, values, money, details)
    return updates


def _pipeline_updates(transition: Transition, values: Mapping[str, str], money: tuple[str, int] | None,
                      details: Mapping | None) -> list[CounterUpdate]:
    """The open pipeline: + the amount when an opportunity opens, - what it put in (its
    `details["pipeline"]`, under the dimensions it was added with) when it closes."""
    opportunity = Stage.OPPORTUNITY.value
    if transition.to_stage is Stage.OPPORTUNITY and money and money[1]:
        return [CounterUpdate(PIPELINE, counter_sort_key(opportunity, d, values[d]), {f"amt_{money[0]}": money[1]})
                for d in DIMENSIONS]
    added = (details or {}).get("pipeline")
    if transition.from_stage is Stage.OPPORTUNITY and isinstance(added, Mapping):
        put_in = money_of({"amount_cents": added.get("amount_cents"), "currency": added.get("currency")})
        if put_in and put_in[1]:
            then = dimension_values(added.get("dims") or {})
            return [CounterUpdate(PIPELINE, counter_sort_key(opportunity, d, then[d]), {f"amt_{put_in[0]}": -put_in[1]})
                    for d in DIMENSIONS]
    return []


def is_counter_key(pk: str) -> bool:
    """Keys counter_updates writes (the MetricsTable also holds costs and routing load)."""
    prefix = pk.split("#", 1)[0]
    return prefix in GRAINS or prefix in (COHORT, PIPELINE)


# --- what the counters say -----------------------------------------------------------------------

def add_into(total: dict[str, int], attributes: Mapping[str, int]) -> dict[str, int]:
    for name, value in attributes.items():
        total[name] = total.get(name, 0) + int(value)
    return total


def summed(items: Iterable[Mapping[str, int]]) -> dict[str, int]:
    total: dict[str, int] = {}
    for attributes in items:
        add_into(total, attributes)
    return total


@dataclass(frozen=True)
class ReasonCount:
    reason: str
    count: int


@dataclass(frozen=True)
class Money:
    currency: str
    cents: int

    @property
    def amount(self) -> float:
        return round(self.cents / 100, 2)


@dataclass(frozen=True)
class StageMetrics:
    stage: Stage
    entered: int
    entered_first_time: int
    exited: int
    moved_on: int
    drop_off: int
    conversion_rate: float | None  # moved_on / exited: of the leads that left the stage, how many went on
    drop_off_rate: float | None  # drop_off / exited
    median_hours: float | None
    p90_hours: float | None
    time_samples: int
    exits: dict[str, int]
    reasons: dict[str, tuple[ReasonCount, ...]]  # side exit -> reasons, most frequent first
    sla_met: int
    sla_missed: int
    amounts: tuple[Money, ...]
    open_pipeline: tuple[Money, ...] | None = None  # OPPORTUNITY in a report's totals: open now

    def top_reasons(self, exit_stage: Stage, n: int) -> list[ReasonCount]:
        return list(self.reasons.get(exit_stage.value, ())[:max(n, 0)])


def ratio(numerator: int, denominator: int, digits: int = 4) -> float | None:
    return round(numerator / denominator, digits) if denominator else None


def _hours(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def stage_metrics(stage: Stage, attributes: Mapping[str, int]) -> StageMetrics:
    """The metrics of one stage from its summed counter attributes."""
    exits = {name[5:]: int(v) for name, v in attributes.items() if name.startswith("exit_") and v}
    histogram = {int(name[4:]): int(v) for name, v in attributes.items() if name.startswith("tis_") and v}
    reasons: dict[str, list[ReasonCount]] = {}
    for name, value in attributes.items():
        if name.startswith("rsn_") and value:
            _, exit_stage, code = name.split("_", 2)
            reasons.setdefault(exit_stage, []).append(ReasonCount(code, int(value)))
    nxt = NEXT_STAGE[stage]
    moved_on = exits.get(nxt.value, 0) if nxt else 0
    drop_off = sum(n for to, n in exits.items() if to in {s.value for s in SIDE_EXITS} and (not nxt or to != nxt.value))
    exited = sum(exits.values())
    amounts = tuple(Money(name[4:], int(v)) for name, v in sorted(attributes.items())
                    if name.startswith("amt_") and v)
    return StageMetrics(
        stage=stage, entered=int(attributes.get("entered", 0)), entered_first_time=int(attributes.get("first", 0)),
        exited=exited, moved_on=moved_on, drop_off=drop_off,
        conversion_rate=ratio(moved_on, exited), drop_off_rate=ratio(drop_off, exited),
        median_hours=_hours(percentile_hours(histogram, 0.5)), p90_hours=_hours(percentile_hours(histogram, 0.9)),
        time_samples=sum(histogram.values()), exits=exits,
        reasons={k: tuple(sorted(v, key=lambda r: (-r.count, r.reason))) for k, v in sorted(reasons.items())},
        sla_met=int(attributes.get("sla_met", 0)), sla_missed=int(attributes.get("sla_missed", 0)),
        amounts=amounts,
    )
