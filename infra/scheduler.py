"""The local EventBridge schedules: one ticker thread per schedule of the template.

Expressions: ``rate(N minute|minutes|hour|hours|day|days)`` (strict, as
EventBridge: singular unit for 1, plural otherwise) and
``cron(minutes hours day-of-month month day-of-week year)`` in UTC with
``*``, ``?``, values, ranges ``a-b``, lists ``a,b`` and steps ``a/n`` / ``*/n``,
month and weekday names (weekday 1 = SUN ... 7 = SAT). ``L``, ``W`` and ``#``
are refused with a clear error (not supported locally).

``speed`` runs the schedules on a clock ``speed`` times faster than real time:
with ``speed=60`` a ``rate(1 minute)`` fires every second. A rate schedule
first fires one interval after start (as a new EventBridge rule does). A run
that overlaps its next tick delays it (ticks are skipped, not queued).

``Scheduler.trigger(name)`` runs a schedule once, now, synchronously (used by
``POST /dev/schedules/{name}``).
"""

from __future__ import annotations

import logging
import re
import threading
import time
import traceback
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from infra.lambda_runtime import ACCOUNT_ID, HandlerUnavailable
from infra.template import Schedule

log = logging.getLogger("infra.schedules")

_UNITS = {"minute": 60, "hour": 3600, "day": 86400}
_MONTHS = {name: i for i, name in enumerate(
    ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"], start=1)}
_WEEKDAYS = {name: i for i, name in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"], start=1)}


@dataclass(frozen=True)
class Rate:
    seconds: int

    def next_after(self, moment: datetime) -> datetime:
        return moment + timedelta(seconds=self.seconds)


@dataclass(frozen=True)
class Cron:
    expression: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int] | None  # None: '?' (day-of-week decides)
    months: frozenset[int]
    weekdays: frozenset[int] | None  # 1=SUN..7=SAT; None: '?'
    years: frozenset[int]

    def _day_ok(self, moment: datetime) -> bool:
        if self.days is not None and moment.day not in self.days:
            return False
        return self.weekdays is None or (moment.weekday() + 1) % 7 + 1 in self.weekdays

    def next_after(self, moment: datetime) -> datetime:
        """The first matching minute strictly after `moment` (UTC)."""
        t = moment.astimezone(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
        last_year = max(self.years)
        while t.year <= last_year:
            if t.year not in self.years:
                t = datetime(t.year + 1, 1, 1, tzinfo=UTC)
            elif t.month not in self.months:
                t = (datetime(t.year + 1, 1, 1, tzinfo=UTC) if t.month == 12
                     else datetime(t.year, t.month + 1, 1, tzinfo=UTC))
            elif not self._day_ok(t):
                t = datetime(t.year, t.month, t.day, tzinfo=UTC) + timedelta(days=1)
            elif t.hour not in self.hours:
                t = t.replace(minute=0) + timedelta(hours=1)
            elif t.minute not in self.minutes:
                t += timedelta(minutes=1)
            else:
                return t
        raise ValueError(f"{self.expression} never fires after {moment.isoformat()}")


def parse_schedule(expression: str) -> Rate | Cron:
    expression = expression.strip()
    m = re.fullmatch(r"rate\(\s*(\d+)\s+([a-z]+)\s*\)", expression)
    if m:
        value, unit = int(m.group(1)), m.group(2)
        base = unit.removesuffix("s")
        if base not in _UNITS:
            raise ValueError(f"{expression}: unit must be minute(s), hour(s) or day(s)")
        if value <= 0:
            raise ValueError(f"{expression}: value must be a positive integer")
        if (value == 1) != (unit == base):
            raise ValueError(f"{expression}: use the singular unit for 1 and the plural otherwise")
        return Rate(value * _UNITS[base])
    m = re.fullmatch(r"cron\((.*)\)", expression)
    if m:
        return _parse_cron(expression, m.group(1).split())
    raise ValueError(f"{expression!r} is neither rate(...) nor cron(...)")


def _parse_cron(expression: str, fields: list[str]) -> Cron:
    if len(fields) != 6:
        raise ValueError(f"{expression}: cron needs 6 fields (minutes hours day-of-month month day-of-week year)")
    minute, hour, dom, month, dow, year = fields
    if (dom == "?") == (dow == "?"):
        raise ValueError(f"{expression}: exactly one of day-of-month and day-of-week must be '?'")
    return Cron(
        expression=expression,
        minutes=_field(expression, minute, 0, 59),
        hours=_field(expression, hour, 0, 23),
        days=None if dom == "?" else _field(expression, dom, 1, 31),
        months=_field(expression, month, 1, 12, _MONTHS),
        weekdays=None if dow == "?" else _field(expression, dow, 1, 7, _WEEKDAYS),
        years=_field(expression, year, 1970, 2199),
    )


def _field(expression: str, text: str, low: int, high: int, names: dict[str, int] | None = None) -> frozenset[int]:
    if re.search(r"[LW#]", re.sub(r"[A-Z]{3}", lambda m: "" if m.group(0) in (names or {}) else m.group(0),
                                  text.upper())):
        raise ValueError(f"{expression}: 'L', 'W' and '#' are not supported by the local scheduler")

    def value(token: str) -> int:
        token = token.upper()
        if names and token in names:
            return names[token]
        if not token.isdigit():
            raise ValueError(f"{expression}: bad value {token!r}")
        number = int(token)
        if not low <= number <= high:
            raise ValueError(f"{expression}: {number} outside {low}-{high}")
        return number

    out: set[int] = set()
    for part in text.split(","):
        base, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if step_text and (not step_text.isdigit() or step <= 0):
            raise ValueError(f"{expression}: bad step in {part!r}")
        if base in ("*", "?"):
            start, end = low, high
        elif "-" in base:
            a, b = base.split("-", 1)
            start, end = value(a), value(b)
        else:
            start = value(base)
            end = high if step_text else start
        if start > end:
            raise ValueError(f"{expression}: empty range {part!r}")
        out.update(range(start, end + 1, step))
    return frozenset(out)


def scheduled_event(rule_arn: str, *, region: str, when: datetime | None = None) -> dict[str, Any]:
    """The event EventBridge sends to a schedule's target."""
    when = (when or datetime.now(UTC)).astimezone(UTC)
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT_ID,
        "time": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [rule_arn],
        "detail": {},
    }


class SimClock:
    """Time running `speed` times faster than the wall clock, from `start`."""

    def __init__(self, speed: float = 1.0):
        if speed <= 0:
            raise ValueError("speed must be > 0")
        self.speed = speed
        self._real0 = time.monotonic()
        self._sim0 = datetime.now(UTC)

    def now(self) -> datetime:
        return self._sim0 + timedelta(seconds=(time.monotonic() - self._real0) * self.speed)

    def real_seconds_until(self, moment: datetime) -> float:
        return max(0.0, (moment - self.now()).total_seconds() / self.speed)


class Scheduler:
    def __init__(self, schedules: list[Schedule], *, runtime: Any, region: str, stack_name: str = "leadflow",
                 speed: float = 1.0):
        self.schedules = list(schedules)
        self.runtime = runtime
        self.region = region
        self.stack_name = stack_name
        self.clock = SimClock(speed)
        self._parsed: dict[str, Rate | Cron] = {}
        for schedule in self.schedules:
            try:
                self._parsed[schedule.name] = parse_schedule(schedule.expression)
            except ValueError as exc:
                log.error("schedule %s not run locally: %s", schedule.name, exc)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.runs: dict[str, int] = {s.name: 0 for s in self.schedules}

    def rule_arn(self, schedule: Schedule) -> str:
        return f"arn:aws:events:{self.region}:{ACCOUNT_ID}:rule/{self.stack_name}-{schedule.name}"

    def find(self, name: str) -> Schedule | None:
        """By rule name, function logical id, or handler module ('nurture_sweep'), case-insensitive."""
        wanted = name.lower()
        for schedule in self.schedules:
            module = self.runtime.handler_path(schedule.function).rsplit(".", 1)[0].rsplit(".", 1)[-1]
            if wanted in (schedule.name.lower(), schedule.function.lower(), module.lower()):
                return schedule
        return None

    def trigger(self, schedule: Schedule) -> Any:
        """Run the schedule's function once, now; returns its result, raises its errors."""
        self.runs[schedule.name] = self.runs.get(schedule.name, 0) + 1
        event = scheduled_event(self.rule_arn(schedule), region=self.region)
        return self.runtime.invoke(schedule.function, event)

    def start(self) -> None:
        for schedule in self.schedules:
            if schedule.name not in self._parsed:
                continue
            thread = threading.Thread(target=self._tick, args=(schedule,), name=f"schedule:{schedule.name}",
                                      daemon=True)
            thread.start()
            self._threads.append(thread)

    def signal_stop(self) -> None:
        self._stop.set()

    def join(self, timeout: float = 5) -> None:
        """Wait for the tickers, `timeout` seconds in all (a long scheduled run is abandoned:
        the threads are daemons)."""
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def _tick(self, schedule: Schedule) -> None:
        parsed = self._parsed[schedule.name]
        due = parsed.next_after(self.clock.now())
        while not self._stop.wait(self.clock.real_seconds_until(due)):
            try:
                self.trigger(schedule)
            except HandlerUnavailable:
                pass  # the runtime logged it once
            except Exception:  # noqa: BLE001 - keep ticking, like EventBridge
                log.error("schedule %s -> %s raised:\n%s", schedule.name, schedule.function,
                          traceback.format_exc())
            now = self.clock.now()
            due = parsed.next_after(due)
            if due <= now:  # the run overlapped further ticks: skip them
                due = parsed.next_after(now) if isinstance(parsed, Cron) else now + timedelta(
                    seconds=parsed.seconds - ((now - due).total_seconds() % parsed.seconds))


def describe(expression: str) -> str:
    parsed = parse_schedule(expression)
    if isinstance(parsed, Rate):
        return f"every {parsed.seconds} s"
    return "cron (UTC)"


