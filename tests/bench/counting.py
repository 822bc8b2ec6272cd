"""Count every AWS request the code makes, and what DynamoDB would bill for it.

`counting()` patches `botocore.client.BaseClient._make_api_call`, the one method every
botocore client goes through: boto3 clients and PynamoDB's own connection alike. Each
call is recorded with its service, operation, tables, the number of items it touched
and, on in-process moto, the request units DynamoDB on-demand would bill:

* reads: 4 KB units of the items returned (each item rounded up on its own for
  BatchGetItem), x0.5 for eventually consistent reads, x2 for TransactGetItems;
  at least one unit per request (also for a miss).
* writes: 1 KB units of the larger of the item before and after the write, x2 for
  every item of a TransactWriteItems; plus the writes to global secondary indexes
  (1 per index entry put, updated or deleted, 2 when the index key changes; sized by the
  projection), at the standard rate.

Item sizes follow DynamoDB's rules (attribute names + values; numbers ~1 byte per two
digits + 1; 3 bytes + 1 per element for lists and maps). The before/after images are
read straight from moto's backend, so reading them is not counted as a request.

`moto_cpu()` measures the CPU spent inside moto (its request parsing, backend and
response), so the rest of a process's CPU is what a Lambda function would spend.
"""

from __future__ import annotations

import base64
import math
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

READS = {"GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems"}
WRITES = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}


@dataclass
class Call:
    service: str
    operation: str
    tables: tuple[str, ...] = ()
    items: int = 1  # items read or written (transactions, batches)
    rru: float = 0.0
    wru: float = 0.0  # base table writes (transactional items x2)
    gsi_wru: float = 0.0  # index maintenance writes
    error: str | None = None
    # write units per item ("table key") and per partition ("table|partition" or "table/index|partition")
    item_wru: Counter = field(default_factory=Counter)
    item_writes: Counter = field(default_factory=Counter)
    partition_wru: Counter = field(default_factory=Counter)

    @property
    def label(self) -> str:
        if self.service != "dynamodb":
            return f"{self.service}:{self.operation}"
        where = ",".join(self.tables)
        if self.operation in ("TransactWriteItems", "BatchWriteItem", "BatchGetItem"):
            return f"{self.operation}[{self.items}]({where})"
        return f"{self.operation}({where})"


@dataclass
class RequestLog:
    calls: list[Call] = field(default_factory=list)

    def of(self, service: str) -> list[Call]:
        return [c for c in self.calls if c.service == service]

    @property
    def dynamodb(self) -> int:
        return len(self.of("dynamodb"))

    def count(self, service: str, operation: str | None = None) -> int:
        return sum(1 for c in self.calls if c.service == service and (operation is None or c.operation == operation))

    @property
    def sqs_messages(self) -> int:
        """Messages sent (SendMessage: 1, SendMessageBatch: its entries)."""
        return sum(c.items for c in self.calls if c.service == "sqs" and c.operation.startswith("SendMessage"))

    @property
    def sqs_sends(self) -> int:
        """Send requests (what SQS bills for sending)."""
        return sum(1 for c in self.calls if c.service == "sqs" and c.operation.startswith("SendMessage"))

    @property
    def events_put(self) -> int:
        """Events put on a bus (EventBridge bills per event, not per PutEvents request)."""
        return sum(c.items for c in self.calls if c.service == "events" and c.operation == "PutEvents")

    @property
    def rru(self) -> float:
        return sum(c.rru for c in self.calls)

    @property
    def wru(self) -> float:
        return sum(c.wru + c.gsi_wru for c in self.calls)

    @property
    def gsi_wru(self) -> float:
        return sum(c.gsi_wru for c in self.calls)

    @property
    def transact_items(self) -> int:
        return sum(c.items for c in self.calls if c.operation == "TransactWriteItems")

    def kinds(self) -> Counter:
        """{label: count} of the DynamoDB requests, e.g. {"GetItem(Leads)": 2}."""
        return Counter(c.label for c in self.calls if c.service == "dynamodb")

    def summary(self) -> dict[str, Any]:
        return {
            "dynamodb": self.dynamodb,
            "kinds": dict(sorted(self.kinds().items())),
            "transact_items": self.transact_items,
            "rru": round(self.rru, 2),
            "wru": round(self.wru, 2),
            "gsi_wru": round(self.gsi_wru, 2),
            "sqs": self.count("sqs"),
            "ses": self.count("ses"),
            "events": self.count("events"),
            "other": sorted({f"{c.service}:{c.operation}" for c in self.calls
                             if c.service not in ("dynamodb", "sqs", "ses", "events")}),
            "errors": [c.label + ": " + c.error for c in self.calls if c.error],
        }


_active: list[RequestLog] = []
_original = None


def short_table(name: str) -> str:
    """"leadflow-LeadsTable" -> "Leads"."""
    name = name.rsplit("/", 1)[-1]
    name = name.split("-", 1)[1] if name.startswith("leadflow-") else name
    return name.removesuffix("Table")


def _install() -> None:
    global _original
    if _original is not None:
        return
    from botocore.client import BaseClient

    _original = BaseClient._make_api_call

    def counted(self, operation_name, api_params):
        if not _active:
            return _original(self, operation_name, api_params)
        service = self.meta.service_model.service_name
        call = Call(service=service, operation=operation_name)
        before = None
        if service == "dynamodb":
            call.tables = _tables(operation_name, api_params)
            before = _Images.capture(self.meta.region_name, operation_name, api_params)
        elif isinstance(api_params.get("Entries"), list):  # PutEvents, SendMessageBatch: billed per entry
            call.items = len(api_params["Entries"])
        try:
            response = _original(self, operation_name, api_params)
        except Exception as exc:
            call.error = type(exc).__name__
            if before is not None:
                before.bill(call, None, failed=True)
            for log in _active:
                log.calls.append(call)
            raise
        if service == "dynamodb" and before is not None:
            before.bill(call, response, failed=False)
        for log in _active:
            log.calls.append(call)
        return response

    BaseClient._make_api_call = counted


def uninstall() -> None:
    """Put botocore back as it was (for tests that must not leave the counter installed)."""
    global _original
    if _original is None:
        return
    from botocore.client import BaseClient

    BaseClient._make_api_call = _original
    _original = None


@contextmanager
def counting() -> Iterator[RequestLog]:
    """Record every AWS request made inside the block (nested blocks each see their own)."""
    _install()
    log = RequestLog()
    _active.append(log)
    try:
        yield log
    finally:
        _active.remove(log)


def _tables(operation: str, params: dict[str, Any]) -> tuple[str, ...]:
    if "TableName" in params:
        return (short_table(params["TableName"]),)
    if "RequestItems" in params:
        return tuple(sorted(short_table(t) for t in params["RequestItems"]))
    if "TransactItems" in params:
        names = []
        for item in params["TransactItems"]:
            body = next(iter(item.values()))
            names.append(short_table(body["TableName"]))
        return tuple(sorted(set(names)))
    return ()


# ------------------------------------------------------------------------------ item sizes

def value_size(value: dict[str, Any]) -> int:
    (kind, v), = value.items()
    if kind == "S":
        return len(v.encode())
    if kind == "N":
        digits = str(v).lstrip("-").replace(".", "").lstrip("0").rstrip("0") or "0"
        return (len(digits) + 1) // 2 + 1
    if kind == "B":
        return len(v) if isinstance(v, (bytes, bytearray)) else len(base64.b64decode(v))
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "L":
        return 3 + sum(1 + value_size(e) for e in v)
    if kind == "M":
        return 3 + sum(len(k.encode()) + 1 + value_size(e) for k, e in v.items())
    if kind == "SS":
        return sum(len(e.encode()) for e in v)
    if kind == "NS":
        return sum(value_size({"N": e}) for e in v)
    if kind == "BS":
        return sum(value_size({"B": e}) for e in v)
    raise ValueError(kind)


def item_size(attrs: dict[str, Any] | None) -> int:
    if not attrs:
        return 0
    return sum(len(name.encode()) + value_size(value) for name, value in attrs.items())


def _units(size: int, unit: int) -> int:
    return max(1, math.ceil(size / unit))


# ------------------------------------------------------------------------------ capacity

class _Images:
    """The items a write touches, as moto holds them before the call (and after, on bill())."""

    def __init__(self, backend, operation: str, targets: list[tuple[str, dict, str]]):
        self.backend = backend
        self.operation = operation
        self.targets = targets  # (table name, key, kind)
        self.old = [self._get(t, k) for t, k, _ in targets]

    @classmethod
    def capture(cls, region: str, operation: str, params: dict[str, Any]) -> _Images | _Reads | None:
        backend = _backend(region)
        if backend is None:
            return None
        if operation in READS:
            return _Reads(operation, params)
        if operation not in WRITES:
            return None
        try:
            targets = [(t, _key_of(backend, t, item), kind) for t, item, kind in _write_targets(operation, params)]
        except Exception:
            return None
        return cls(backend, operation, targets)

    def _get(self, table: str, key: dict) -> dict | None:
        try:
            item = self.backend.get_item(table, key)
        except Exception:
            return None
        if item is None:
            return None
        return {name: value.to_regular_json() for name, value in item.attrs.items()}

    def bill(self, call: Call, response: dict | None, *, failed: bool) -> None:
        factor = 2 if self.operation == "TransactWriteItems" else 1
        call.items = len(self.targets)
        for (table, key, kind), old in zip(self.targets, self.old, strict=True):
            new = old if failed else self._get(table, key)
            size = max(item_size(old), item_size(new))
            units = factor * _units(size, 1024)
            call.wru += units
            if failed or kind == "check":
                continue
            name = short_table(table)
            values = [next(iter(v.values())) for v in key.values()]
            item = f"{name} {'/'.join(str(v) for v in values)}"
            call.item_wru[item] += units
            call.item_writes[item] += 1
            call.partition_wru[f"{name}|{values[0]}"] += units
            call.gsi_wru += self._index_writes(table, old, new, call.partition_wru)

    def _index_writes(self, table: str, old: dict | None, new: dict | None, partitions: Counter) -> float:
        try:
            moto_table = self.backend.get_table(table)
        except Exception:
            return 0.0
        table_keys = [k["AttributeName"] for k in moto_table.schema]
        units = 0.0
        for index in moto_table.global_indexes:
            index_keys = [k["AttributeName"] for k in index.schema]
            old_entry = _projected(old, index_keys, table_keys, index.projection)
            new_entry = _projected(new, index_keys, table_keys, index.projection)
            if old_entry == new_entry:
                continue

            def partition(entry: dict, name: str = index.name, key: str = index_keys[0]) -> str:
                return f"{short_table(table)}/{name}|{next(iter(entry[key].values()))}"

            if old_entry is not None and new_entry is not None and \
                    all(old[k] == new[k] for k in index_keys):
                written = _units(item_size(new_entry), 1024)  # same index key: one update
                units += written
                partitions[partition(new_entry)] += written
                continue
            if old_entry is not None:
                written = _units(item_size(old_entry), 1024)  # delete the old entry
                units += written
                partitions[partition(old_entry)] += written
            if new_entry is not None:
                written = _units(item_size(new_entry), 1024)  # put the new one
                units += written
                partitions[partition(new_entry)] += written
        return units


class _Reads:
    def __init__(self, operation: str, params: dict[str, Any]):
        self.operation = operation
        self.params = params

    def bill(self, call: Call, response: dict | None, *, failed: bool) -> None:
        params, op = self.params, self.operation
        if op == "GetItem":
            factor = 1.0 if params.get("ConsistentRead") else 0.5
            call.rru = factor * _units(item_size((response or {}).get("Item")), 4096)
        elif op in ("Query", "Scan"):
            factor = 1.0 if params.get("ConsistentRead") and "IndexName" not in params else 0.5
            items = (response or {}).get("Items", [])
            total = sum(item_size(i) for i in items)
            scanned = (response or {}).get("ScannedCount", len(items))
            if scanned > len(items):  # a filter dropped items after they were read (and billed)
                total += (scanned - len(items)) * (total / len(items) if items else 1024)
            call.items = len(items)
            call.rru = factor * _units(int(total), 4096)
        elif op == "BatchGetItem":
            units = 0.0
            responses = (response or {}).get("Responses") or {}
            for table, request in params["RequestItems"].items():
                factor = 1.0 if request.get("ConsistentRead") else 0.5
                found = responses.get(table, [])
                units += sum(factor * _units(item_size(item), 4096) for item in found)
                units += factor * max(0, len(request.get("Keys", [])) - len(found))  # a miss costs the minimum
            call.items = sum(len(v.get("Keys", [])) for v in params["RequestItems"].values())
            call.rru = max(units, 0.5)
        elif op == "TransactGetItems":
            call.items = len(params["TransactItems"])
            call.rru = sum(2 * _units(item_size(r.get("Item")), 4096)
                           for r in (response or {}).get("Responses", [])) or 2.0 * call.items


def _projected(item: dict | None, index_keys: list[str], table_keys: list[str],
               projection: dict[str, Any]) -> dict | None:
    if item is None or any(k not in item for k in index_keys):
        return None  # sparse index: no entry
    kind = projection.get("ProjectionType", "ALL")
    if kind == "ALL":
        return item
    wanted = set(index_keys) | set(table_keys)
    if kind == "INCLUDE":
        wanted |= set(projection.get("NonKeyAttributes", []))
    return {k: v for k, v in item.items() if k in wanted}


def _write_targets(operation: str, params: dict[str, Any]) -> list[tuple[str, dict, str]]:
    if operation == "PutItem":
        return [(params["TableName"], params["Item"], "put")]
    if operation == "UpdateItem":
        return [(params["TableName"], params["Key"], "update")]
    if operation == "DeleteItem":
        return [(params["TableName"], params["Key"], "delete")]
    if operation == "BatchWriteItem":
        out = []
        for table, requests in params["RequestItems"].items():
            for request in requests:
                if "PutRequest" in request:
                    out.append((table, request["PutRequest"]["Item"], "put"))
                else:
                    out.append((table, request["DeleteRequest"]["Key"], "delete"))
        return out
    if operation == "TransactWriteItems":
        out = []
        for entry in params["TransactItems"]:
            (kind, body), = entry.items()
            source = body.get("Item") or body["Key"]
            out.append((body["TableName"], source, {"Put": "put", "Update": "update", "Delete": "delete",
                                                    "ConditionCheck": "check"}[kind]))
        return out
    return []


def _key_of(backend, table: str, item: dict) -> dict:
    schema = backend.get_table(table).schema
    return {k["AttributeName"]: item[k["AttributeName"]] for k in schema}


def _backend(region: str):
    """moto's DynamoDB backend when moto runs in this process (mock_aws), else None."""
    try:
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.dynamodb.models import dynamodb_backends
    except ImportError:
        return None
    try:
        return dynamodb_backends[DEFAULT_ACCOUNT_ID][region]
    except Exception:
        return None


# ------------------------------------------------------------------------------ moto's CPU

class _MotoClock:
    seconds = 0.0
    installed = False
    profiler = None  # a cProfile.Profile to pause while moto works (its time is not ours)


def pause_profiler_in_moto(profiler) -> None:
    moto_cpu()
    _MotoClock.profiler = profiler


def moto_cpu() -> float:
    """CPU seconds spent inside moto's request handling in this process so far."""
    if not _MotoClock.installed:
        from moto.core.botocore_stubber import BotocoreStubber

        original = BotocoreStubber.__call__

        def timed(self, *args, **kwargs):
            profiler = _MotoClock.profiler
            if profiler is not None:
                profiler.disable()
            started = time.process_time()
            try:
                return original(self, *args, **kwargs)
            finally:
                _MotoClock.seconds += time.process_time() - started
                if profiler is not None:
                    profiler.enable()

        BotocoreStubber.__call__ = timed
        _MotoClock.installed = True
    return _MotoClock.seconds
