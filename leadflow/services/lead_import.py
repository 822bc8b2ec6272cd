"""Historical leads with their outcomes, imported from a CSV (issue 5, part 6).

    leadflow import leads leads.csv --mapping config/import/x-education.yaml

They train the predictive model (``services.predictive``) and, when the file
says when each lead was created, they count in controlling for their
historical periods.

The mapping (YAML) says which column is what::

    name: x-education            # dataset name: part of the imported lead ids (default: file stem)
    id: Prospect ID              # unique per row
    outcome:
      column: Converted
      won: ["1"]                 # values meaning won / lost (case-insensitive);
      lost: ["0"]                #   default: 1/true/yes/won/converted and 0/false/no/lost
    order: Lead Number           # optional: oldest first (numbers, ISO dates or text)
    created_at: null             # optional: when the lead was created (ISO 8601 or date_format)
    closed_at: null              # optional: when it was won/lost (default: created_at)
    date_format: null            # optional strptime format, e.g. "%d.%m.%Y %H:%M"
    fields:                      # Leadflow field: CSV column
      source: Lead Source
      country: Country
    ignore:                      # never stored: columns that leak the outcome, noise
      - Tags
      - Asymmetrique *           # shell-style patterns are allowed

Every other column (non-empty values only) goes into the lead's ``attributes``
as raw text: the predictive model infers their kinds itself.

What an imported lead is:

* stage ``CUSTOMER`` (won) or ``LOST`` (lost), quality ``plausible``, no
  contact data; the lead id is ``imp-`` + a hash of (dataset name, id), so a
  second import of the same file skips the leads it already holds;
* **with** a ``created_at`` column: two stage history entries
  (``None -> LEAD`` at created_at, ``LEAD -> CUSTOMER/LOST`` at closed_at, both
  with reason "imported") and the funnel counters those entries imply, so
  the leads count in their historical periods and ``leadflow metrics
  reconcile`` agrees with the counters;
* **without** one: a single history entry of kind ``import`` and no counters
  (the leads have no period to count in). Their times are the import time,
  spaced one millisecond apart in the ``order`` column's order (file order
  when there is none), so "the newest outcomes" stay well defined for
  validating the model.

Leads and history go in with BatchWriteItem (25 items a request, 8 threads);
counter increments are summed per counter item first, one UpdateItem each.
"""

from __future__ import annotations

import fnmatch
import hashlib
import math
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator

from leadflow.adapters import clock
from leadflow.domain.errors import DomainError
from leadflow.domain.lifecycle import Quality, Stage

ACTOR = "system:import"
REASON = "imported"
LEAD_ID_PREFIX = "imp-"
BATCH_SIZE = 25  # BatchWriteItem limit
WORKERS = 8
DEFAULT_WON = ("1", "true", "yes", "y", "won", "win", "converted", "closed won", "customer")
DEFAULT_LOST = ("0", "false", "no", "n", "lost", "loss", "closed lost", "not converted")
# Leadflow fields a column may fill (no personal contact data: training needs none).
FIELDS = ("source", "campaign", "country", "form_id", "job_title", "city", "postal_code", "interests",
          "existing_customer", "key_account")
TRUE = {"1", "true", "yes", "ja", "y", "x"}


class InvalidImport(DomainError):
    """The mapping or the file cannot be imported as given (the message names the column)."""

    code = "invalid_import"


def _texts(values: Any) -> list[str]:
    if values is None:
        return []
    if not isinstance(values, (list, tuple)):
        values = [values]
    out: list[str] = []
    for v in values:
        if isinstance(v, bool):  # YAML 1.1 reads yes/no/on/off as booleans
            out += ["true", "yes"] if v else ["false", "no"]
        else:
            out.append(" ".join(str(v).split()).casefold())
    return out


class OutcomeMapping(BaseModel):
    model_config = ConfigDict(extra="forbid")
    column: str
    won: list[str] = Field(default_factory=lambda: list(DEFAULT_WON))
    lost: list[str] = Field(default_factory=lambda: list(DEFAULT_LOST))

    @field_validator("won", "lost", mode="before")
    @classmethod
    def _as_texts(cls, value: Any) -> list[str]:
        return _texts(value)


class ImportMapping(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = None
    id: str
    outcome: OutcomeMapping
    order: str | None = None
    created_at: str | None = None
    closed_at: str | None = None
    date_format: str | None = None
    fields: dict[str, str] = Field(default_factory=dict)
    ignore: list[str] = Field(default_factory=list)
    _file: str | None = PrivateAttr(default=None)  # the mapping file, for error messages

    @field_validator("fields")
    @classmethod
    def _known_fields(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value) - set(FIELDS))
        if unknown:
            raise ValueError(f"unknown Leadflow field {unknown[0]!r}; known: {', '.join(FIELDS)}")
        return value

    def special_columns(self) -> dict[str, str]:
        """mapping key -> column, for the id, outcome, order and date columns."""
        named = {"id": self.id, "outcome.column": self.outcome.column, "order": self.order,
                 "created_at": self.created_at, "closed_at": self.closed_at}
        return {k: v for k, v in named.items() if v}

    def check_header(self, header: Sequence[str], *, mapping_name: str = "mapping",
                     file_name: str = "the CSV") -> list[str]:
        """Every column the mapping names must exist; returns the columns that go into `attributes`."""
        columns = [h for h in header if h and h.strip()]
        shown = ", ".join(repr(c) for c in columns)
        named = {**self.special_columns(), **{f"fields.{k}": v for k, v in self.fields.items()}}
        for key, column in named.items():
            if column not in columns:
                raise InvalidImport(f"{mapping_name}: {key}: column {column!r} not found in {file_name}; "
                                    f"columns are: {shown}", field=key)
        used: dict[str, str] = {}
        for key, column in named.items():
            if column in used and not (key == "order" and used[column] in ("created_at", "closed_at")):
                raise InvalidImport(f"{mapping_name}: {key}: column {column!r} is already used as "
                                    f"{used[column]}", field=key)
            used.setdefault(column, key)
        ignored: set[str] = set()
        for pattern in self.ignore:
            hits = [c for c in columns if fnmatch.fnmatchcase(c, pattern)]
            if not hits:
                raise InvalidImport(f"{mapping_name}: ignore: column {pattern!r} not found in {file_name}; "
                                    f"columns are: {shown}", field="ignore")
            clash = [c for c in hits if c in used]
            if clash:
                raise InvalidImport(f"{mapping_name}: ignore: column {clash[0]!r} is also mapped as "
                                    f"{used[clash[0]]}", field="ignore")
            ignored.update(hits)
        return [c for c in columns if c not in used and c not in ignored]


def parse_mapping(document: Any, *, mapping_name: str = "mapping") -> ImportMapping:
    if not isinstance(document, dict):
        raise InvalidImport(f"{mapping_name}: the mapping must be a YAML mapping (id, outcome, fields, ...)",
                            field="mapping")
    try:
        return ImportMapping.model_validate(document)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "mapping"
        raise InvalidImport(f"{mapping_name}: {where}: {first['msg']}", field=where) from None


def load_mapping(path: str | Path) -> ImportMapping:
    path = Path(path)
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InvalidImport(f"cannot read the mapping {path}: {exc.strerror or exc}", field="mapping") from None
    except yaml.YAMLError as exc:
        raise InvalidImport(f"{path.name}: not valid YAML: {exc}", field="mapping") from None
    mapping = parse_mapping(document, mapping_name=path.name)
    if not mapping.name:
        mapping.name = path.stem
    mapping._file = path.name
    return mapping


# --- rows -> leads --------------------------------------------------------------------------------

@dataclass
class LeadImportSummary:
    rows: int = 0
    imported: int = 0
    won: int = 0
    lost: int = 0
    already_imported: int = 0
    counted: bool = False  # in controlling (a created_at column is mapped)
    counter_items: int = 0
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)
    lead_ids: list[str] = field(default_factory=list)  # of the imported leads, oldest first


@dataclass
class _Row:
    line: int
    external_id: str
    won: bool
    order: str | None
    created: datetime | None
    closed: datetime | None
    fields: dict[str, str]
    attributes: dict[str, str]


def lead_id_for(dataset: str, external_id: str) -> str:
    digest = hashlib.sha256(f"{dataset}\x1f{external_id}".encode()).hexdigest()
    return LEAD_ID_PREFIX + digest[:26]


def _clean(value: Any) -> str:
    return " ".join(str(value or "").split())


def _parse_time(text: str, date_format: str | None, tz: ZoneInfo) -> datetime:
    if date_format:
        moment = datetime.strptime(text, date_format)
    else:
        value = text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text
        moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:  # a local time of the company (e.g. a CRM export without offsets)
        moment = moment.replace(tzinfo=tz)
    return moment.astimezone(UTC)


def _order_key(values: list[str | None]) -> Callable[[int], tuple]:
    """Sort key over row indices: numbers if all parse, else ISO dates, else text; missing first."""
    present = [v for v in values if v]

    def number(v: str) -> float | None:
        try:
            out = float(v.replace(",", ""))
        except ValueError:
            return None
        return out if math.isfinite(out) else None

    convert: Callable[[str], Any]
    if present and all(number(v) is not None for v in present):
        convert = number
    else:
        try:
            for v in present:
                _parse_time(v, None, ZoneInfo("UTC"))
            def convert(v):
                return _parse_time(v, None, ZoneInfo("UTC"))
        except ValueError:
            convert = str
    keys = [convert(v) if v else None for v in values]
    return lambda i: (keys[i] is not None, keys[i] if keys[i] is not None else 0, i)


def _read_rows(rows: Iterable[dict[str, Any]], mapping: ImportMapping, attribute_columns: list[str],
               tz: ZoneInfo, summary: LeadImportSummary) -> list[_Row]:
    won, lost = set(mapping.outcome.won), set(mapping.outcome.lost)
    seen: dict[str, int] = {}
    out: list[_Row] = []
    for line, raw in enumerate(rows, start=2):
        summary.rows += 1
        external_id = _clean(raw.get(mapping.id))
        if not external_id:
            summary.errors.append(f"line {line}: {mapping.id} (the id) is empty")
            continue
        if external_id in seen:
            summary.errors.append(f"line {line}: {mapping.id} {external_id!r} already on line {seen[external_id]}")
            continue
        label = _clean(raw.get(mapping.outcome.column)).casefold()
        if label in won:
            is_won = True
        elif label in lost:
            is_won = False
        else:
            summary.errors.append(
                f"line {line}: {mapping.outcome.column} = {label!r} is neither won ({', '.join(sorted(won))}) "
                f"nor lost ({', '.join(sorted(lost))})")
            continue
        times: dict[str, datetime | None] = {"created_at": None, "closed_at": None}
        bad = False
        for key in times:
            column = getattr(mapping, key)
            text = _clean(raw.get(column)) if column else ""
            if not text:
                if column and key == "created_at":
                    summary.errors.append(f"line {line}: {column} (created_at) is empty")
                    bad = True
                continue
            try:
                times[key] = _parse_time(text, mapping.date_format, tz)
            except ValueError:
                expected = mapping.date_format or "an ISO 8601 date such as 2024-03-31 or 2024-03-31T14:05"
                summary.errors.append(f"line {line}: {column} ({key}) = {text!r} is not {expected}")
                bad = True
        if bad:
            continue
        if times["created_at"] and times["closed_at"] and times["closed_at"] < times["created_at"]:
            summary.errors.append(f"line {line}: {mapping.closed_at} (closed_at) lies before "
                                  f"{mapping.created_at} (created_at)")
            continue
        seen[external_id] = line
        fields = {k: _clean(raw.get(column)) for k, column in mapping.fields.items()}
        out.append(_Row(
            line=line, external_id=external_id, won=is_won,
            order=_clean(raw.get(mapping.order)) or None if mapping.order else None,
            created=times["created_at"], closed=times["closed_at"] or times["created_at"],
            fields={k: v for k, v in fields.items() if v},
            attributes={c: v for c in attribute_columns if (v := _clean(raw.get(c)))},
        ))
    return out


def _split(text: str) -> list[str]:
    return [p.strip() for p in text.replace(";", ",").split(",") if p.strip()]


def _lead_and_history(row: _Row, lead_id: str, dataset: str, now: datetime, counted: bool, rules: dict):
    from leadflow.domain.controlling import counter_updates, recorded_dimensions
    from leadflow.domain.enrichment import enrich, interest_areas
    from leadflow.domain.lifecycle import Transition
    from leadflow.services.lifecycle import dimensions_of, stage_sort
    from leadflow.store.models import HistoryModel, LeadModel

    stage = Stage.CUSTOMER if row.won else Stage.LOST
    f = row.fields
    interests = _split(f["interests"]) if f.get("interests") else None
    enrichment = None
    if f.get("job_title") or f.get("postal_code"):
        enrichment = enrich(email=None, company=None, job_title=f.get("job_title"), country=f.get("country"),
                            postal_code=f.get("postal_code"), rules=rules["enrichment"]).to_dict()
    areas = interest_areas(interests, rules["interests"]) if interests else None
    created, closed = row.created, row.closed
    assert created is not None and closed is not None
    lead = LeadModel(
        lead_id, version=2 if counted else 1, stage=stage.value, stage_sort=stage_sort(closed, lead_id),
        stage_entered_at=closed, quality=Quality.PLAUSIBLE.value, created_at=created, updated_at=now,
        source=f.get("source"), campaign=f.get("campaign"), country=f.get("country"), form_id=f.get("form_id"),
        job_title=f.get("job_title"), city=f.get("city"), postal_code=f.get("postal_code"),
        interests=interests, enrichment=enrichment, interest_areas=areas or None,
        existing_customer=f.get("existing_customer", "").casefold() in TRUE,
        key_account=f.get("key_account", "").casefold() in TRUE,
        stages_reached=[Stage.LEAD.value, stage.value],
        attributes=row.attributes,  # set (even {}) on every imported lead: predictive features rely on it
        close_reason=None if row.won else REASON,
    )
    origin = {"dataset": dataset, "external_id": row.external_id, "line": row.line}
    if not counted:
        history = [HistoryModel(lead_id, 1, kind="import", from_stage=None, to_stage=stage.value, at=now,
                                actor=ACTOR, reason=REASON, details=origin)]
        return lead, history, []
    dims = dimensions_of(lead)
    recorded = recorded_dimensions(dims)
    history = [
        HistoryModel(lead_id, 1, kind="stage", from_stage=None, to_stage=Stage.LEAD.value, at=created,
                     actor=ACTOR, reason=REASON,
                     details={**origin, "source": lead.source, "campaign": lead.campaign, "dims": recorded}),
        HistoryModel(lead_id, 2, kind="stage", from_stage=Stage.LEAD.value, to_stage=stage.value, at=closed,
                     actor=ACTOR, reason=REASON, details={"dims": recorded}),
    ]
    tz = rules["tz"]
    counters = counter_updates(Transition(lead_id, None, Stage.LEAD, created, ACTOR, REASON), dims, tz,
                               captured_at=created)
    counters += counter_updates(Transition(lead_id, Stage.LEAD, stage, closed, ACTOR, REASON), dims, tz,
                                entered_from_stage_at=created, captured_at=created)
    return lead, history, counters


def _existing(lead_ids: list[str]) -> set[str]:
    from leadflow.store.leads import existing_ids

    return existing_ids(lead_ids)


def _write_chunk(items: list) -> None:
    from leadflow.store.leads import put_all

    put_all(items)


def _add_counter(entry: tuple[tuple[str, str], dict[str, int]]) -> None:
    from leadflow.store.counters import add_to_counter

    (pk, sk), increments = entry
    add_to_counter(pk, sk, increments)


def _in_parallel(fn: Callable[[Any], None], work: list) -> None:
    if not work:
        return
    fn(work[0])  # the first request creates the shared connection before threads use it
    if len(work) > 1:
        with ThreadPoolExecutor(max_workers=WORKERS) as pool:
            list(pool.map(fn, work[1:]))


def import_leads(rows: Iterable[dict[str, Any]], header: Sequence[str], mapping: ImportMapping, *,
                 dataset: str | None = None, file_name: str = "the CSV", dry_run: bool = False,
                 progress: Callable[[str], None] | None = None) -> LeadImportSummary:
    """Import historical leads with their outcomes. Mapping errors raise InvalidImport (naming the
    column); a bad row is refused with its line number in `summary.errors`, the others are imported."""
    from leadflow.services.rulesets import active_rules
    from leadflow.settings import get_settings

    say = progress or (lambda _message: None)
    started = time.perf_counter()
    dataset = dataset or mapping.name or "import"
    attribute_columns = mapping.check_header(header, mapping_name=mapping._file or f"mapping {dataset}",
                                             file_name=file_name)
    tz_name = get_settings().company_timezone
    summary = LeadImportSummary(counted=mapping.created_at is not None)
    parsed = _read_rows(rows, mapping, attribute_columns, ZoneInfo(tz_name), summary)
    # oldest first: by closed time when dates are mapped, then by the order column, then file order
    by_order = _order_key([r.order for r in parsed])
    rank = {i: k for k, i in enumerate(sorted(range(len(parsed)), key=by_order))}
    chronological = sorted(range(len(parsed)),
                           key=(lambda i: (parsed[i].closed, rank[i])) if summary.counted else rank.__getitem__)
    parsed = [parsed[i] for i in chronological]
    now = clock.now()
    if not summary.counted:  # no dates: one millisecond apart, ending now, in the rows' order
        for k, row in enumerate(parsed):
            row.created = row.closed = now - timedelta(milliseconds=len(parsed) - 1 - k)
    ids = [lead_id_for(dataset, r.external_id) for r in parsed]
    say(f"{len(parsed)} rows readable, {len(summary.errors)} refused")
    if dry_run:  # the mapping and every row checked; nothing read from or written to the tables
        summary.won = sum(r.won for r in parsed)
        summary.lost = len(parsed) - summary.won
        summary.imported = len(parsed)
        summary.seconds = time.perf_counter() - started
        return summary
    existing = _existing(ids) if ids else set()
    summary.already_imported = len(existing)
    rules = {"enrichment": active_rules("enrichment"), "interests": active_rules("interests"), "tz": tz_name}
    leads, histories, totals = [], [], {}
    for row, lead_id in zip(parsed, ids):
        if lead_id in existing:
            continue
        lead, history, counters = _lead_and_history(row, lead_id, dataset, now, summary.counted, rules)
        leads.append(lead)
        histories += history
        for update in counters:
            bucket = totals.setdefault((update.pk, update.sk), {})
            for name, amount in update.increments.items():
                bucket[name] = bucket.get(name, 0) + amount
        summary.won += int(row.won)
        summary.lost += int(not row.won)
        summary.lead_ids.append(lead_id)
    summary.imported = len(leads)
    summary.counter_items = len(totals)
    say(f"writing {len(leads)} leads and {len(histories)} history entries")
    # history first: a lead never exists without its history (an interrupted import is repeated
    # safely: leads already there are skipped, history items are overwritten with the same content)
    _in_parallel(_write_chunk, [histories[i:i + BATCH_SIZE] for i in range(0, len(histories), BATCH_SIZE)])
    _in_parallel(_write_chunk, [leads[i:i + BATCH_SIZE] for i in range(0, len(leads), BATCH_SIZE)])
    if totals:
        say(f"adding to {len(totals)} counter items")
        _in_parallel(_add_counter, sorted(totals.items()))
    summary.seconds = time.perf_counter() - started
    return summary
