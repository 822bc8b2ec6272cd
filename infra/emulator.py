"""moto in server mode, with DynamoDB requests applied one at a time.

DynamoDB applies each conditional write and transaction atomically; moto's
server handles requests on threads without a lock, so two concurrent
transactions can both pass their condition checks. Serialising DynamoDB
requests (and only those: SQS long polls must not block everyone) restores the
guarantee the code relies on, while clients still race as they do on AWS.

fast_dynamodb() makes moto's DynamoDB cost per item touched rather than per item stored, so the
local stack answers as fast with 100,000 leads as with none (docs/benchmarks.md, section 5).
"""

from __future__ import annotations

import copy
import socket
import threading
from collections.abc import Iterable
from typing import Any

from moto.dynamodb.models.dynamo_type import DynamoType
from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import make_server


class _SerialisedDynamoDB:
    def __init__(self, app: Any):
        self._app = app
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        # DynamoDB Streams too: a stream reader must not see the records of a transaction that is
        # still running (a cancelled one takes its records back, see _patch_transactions)
        if environ.get("HTTP_X_AMZ_TARGET", "").startswith(("DynamoDB_", "DynamoDBStreams_")):
            with self._lock:
                # materialise the body inside the lock: the write happens while iterating
                return list(self._app(environ, start_response))
        return self._app(environ, start_response)


class LocalAwsServer(ThreadedMotoServer):
    def _server_entry(self) -> None:  # same as moto's, with the DynamoDB lock around the app
        from moto.moto_server.threaded_moto_server import MotoRequestHandler

        app = _SerialisedDynamoDB(DomainDispatcherApplication(create_backend_app))
        self._server = make_server(self._ip_address, self._port, app, True, request_handler=MotoRequestHandler)
        self._server_ready_event.set()
        self._server.serve_forever()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_local_aws(port: int | None = None) -> tuple[LocalAwsServer, str]:
    """Start the emulator on loopback; returns (server, endpoint_url)."""
    fast_dynamodb()
    port = port or free_port()
    server = LocalAwsServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    return server, f"http://127.0.0.1:{port}"


def fast_dynamodb() -> None:
    """Make moto's DynamoDB cost what DynamoDB's does: per item touched, not per item stored.

    Out of the box moto 5 (a) backs up every table a TransactWriteItems touches by deep-copying the
    whole table, once per transaction item, and (b) answers every Query, on the table or on an
    index, by sorting *all* items of the table and filtering them. With 100,000 stored leads a
    capture took seconds. Three patches, each keeping moto's own logic for everything else
    (conditions, validation, cancellation reasons, sorting, paging, projections):

    - transactions keep an undo log of the items they touch (and the length of each table's
      stream shard) instead of a table copy; a failed transaction puts back exactly those items
      and drops the stream records it added, so it changes nothing, as on AWS;
    - a Query on the table or a local index reads the one partition its hash key names;
    - a Query on a global index reads the items whose index hash key has the asked value, from
      a map (value -> item keys) per indexed attribute, built on the first Query of that
      attribute and kept current by every write path moto has (put, delete, update, undo).

    Idempotent. Safe because DynamoDB requests are applied one at a time (_SerialisedDynamoDB;
    in-process tests are single-threaded). Applies to the `aws` test fixture and the server alike.
    """
    from moto.dynamodb import models

    if getattr(models.DynamoDBBackend.transact_write_items, "_leadflow_fast", False):
        return
    _patch_transactions(models)
    _patch_index_maintenance(models)
    _patch_queries(models)


one_backup_per_table = fast_dynamodb  # the former name (a whole-table copy per table), still called by local_stack


class _NoTableCopies:
    """`copy` as moto.dynamodb.models sees it during a transaction: tables are not copied (the
    undo log replaces the backup); every other deepcopy (update_item's old image) is real."""

    @staticmethod
    def deepcopy(value: Any, memo: Any = None) -> Any:
        from moto.dynamodb.models.table import Table

        return value if isinstance(value, Table) else copy.deepcopy(value, memo)

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)


def _patch_transactions(models: Any) -> None:
    original = models.DynamoDBBackend.transact_write_items

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        undo = []  # (table, hash key, range key, a copy of the item before or None), in request order
        shards = {}  # id(table) -> (stream shard, its record list, its length before)
        for entry in transact_items:
            try:
                _, op = next(iter(entry.items()))
                table = self.tables[op["TableName"]]
                hash_key, range_key = self.get_keys_value(table, op.get("Key") or op["Item"])
                before = table.get_item(hash_key, range_key)
            except Exception:  # noqa: BLE001, S112 - an entry moto rejects itself; it changes nothing
                continue
            undo.append((table, hash_key, range_key, copy.deepcopy(before) if before is not None else None))
            shard = table.stream_shard
            if shard is not None and id(table) not in shards:
                shards[id(table)] = (shard, shard.items, len(shard.items))
        models.copy = _NoTableCopies()
        try:
            return original(self, transact_items)
        except BaseException:
            for table, hash_key, range_key, before in reversed(undo):  # the first image of a key wins
                _put_back(table, hash_key, range_key, before)
            for shard, records, length in shards.values():
                if shard.items is records:  # (moto empties the list once it hands records to a Lambda)
                    del records[length:]
            raise
        finally:
            models.copy = copy

    transact_write_items._leadflow_fast = True  # type: ignore[attr-defined]
    models.DynamoDBBackend.transact_write_items = transact_write_items


def _put_back(table: Any, hash_key: Any, range_key: Any, before: Any) -> None:
    if table.range_key_attr is None:
        if before is None:
            table.items.pop(hash_key, None)
        else:
            table.items[hash_key] = before
    else:
        partition = table.items[hash_key]
        if before is None:
            partition.pop(range_key, None)
            if not partition:
                del table.items[hash_key]
        else:
            partition[range_key] = before
    _reindex(table, hash_key, range_key)


# ---- global secondary indexes: value -> keys, per attribute that a queried GSI is partitioned by
_SCALAR = ("S", "N", "B")  # the only types a key attribute can have; others are never in an index


class _GsiPartitions:
    def __init__(self) -> None:
        self.keys: dict[str, dict[Any, set[tuple[Any, Any]]]] = {}  # attribute -> value -> item keys
        self.held: dict[tuple[Any, Any], dict[str, Any]] = {}  # item key -> {attribute: value} indexed now

    def of(self, table: Any, attribute: str) -> dict[Any, set[tuple[Any, Any]]]:
        if attribute not in self.keys:  # first Query on this attribute: one pass, then kept current
            self.keys[attribute] = {}
            for item in stored_items(table):
                self.update((item.hash_key, item.range_key), item)
        return self.keys[attribute]

    def update(self, key: tuple[Any, Any], item: Any) -> None:
        for attribute, value in self.held.pop(key, {}).items():
            bucket = self.keys[attribute].get(value)
            if bucket is not None:
                bucket.discard(key)
                if not bucket:
                    del self.keys[attribute][value]
        if item is None:
            return
        now = {}
        for attribute, values in self.keys.items():
            value = item.attrs.get(attribute)
            if value is not None and value.type in _SCALAR:
                value = DynamoType({value.type: value.value})  # a copy: update_item mutates in place
                values.setdefault(value, set()).add(key)
                now[attribute] = value
        if now:
            self.held[key] = now


def stored_items(table: Any) -> list[Any]:
    if table.range_key_attr is None:
        return list(table.items.values())
    return [item for partition in table.items.values() for item in partition.values()]


def _gsi_partitions(table: Any) -> _GsiPartitions:
    state = table.__dict__.get("_leadflow_gsi")
    if state is None:
        state = table.__dict__["_leadflow_gsi"] = _GsiPartitions()
    return state


def _reindex(table: Any, hash_key: Any, range_key: Any) -> None:
    state = table.__dict__.get("_leadflow_gsi")
    if state is not None and state.keys:
        state.update((hash_key, range_key), _current(table, hash_key, range_key))


def _current(table: Any, hash_key: Any, range_key: Any) -> Any:
    if table.range_key_attr is None:
        return table.items.get(hash_key)
    partition = table.items.get(hash_key)
    return partition.get(range_key) if partition else None


def _patch_index_maintenance(models: Any) -> None:
    """Every way moto changes an item: Table.put_item / delete_item (PutItem, DeleteItem, batches,
    transactions, an update that creates the item) and DynamoDBBackend.update_item (changes the
    stored item in place)."""
    from moto.dynamodb.models.table import Table

    put, delete, update = Table.put_item, Table.delete_item, models.DynamoDBBackend.update_item

    def put_item(self: Any, item_attrs: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        item = put(self, item_attrs, *args, **kwargs)
        _reindex(self, item.hash_key, item.range_key)
        return item

    def delete_item(self: Any, hash_key: Any, range_key: Any) -> Any:
        try:
            return delete(self, hash_key, range_key)
        finally:
            _reindex(self, hash_key, range_key if self.range_key_attr else None)

    def update_item(self: Any, table_name: str, key: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return update(self, table_name, key, *args, **kwargs)
        finally:  # also after a failed update: moto may have changed the item before failing
            try:
                table = self.get_table(table_name)
                hash_key, range_key = self.get_keys_value(table, key)
            except Exception:  # noqa: BLE001 - an invalid key changed nothing
                pass
            else:
                _reindex(table, hash_key, range_key)

    Table.put_item, Table.delete_item, models.DynamoDBBackend.update_item = put_item, delete_item, update_item


class _Narrowed:
    """A table as moto's Table.query sees it, with all_items() narrowed to the candidates."""

    def __init__(self, table: Any, candidates: list[Any]):
        self._table = table
        self._candidates = candidates

    def all_items(self) -> list[Any]:  # in the order moto's all_items() gives
        return sorted(self._candidates, key=lambda x: (x.hash_key, x.range_key) if x.range_key else x.hash_key)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._table, name)


def _patch_queries(models: Any) -> None:
    import inspect

    from moto.dynamodb.models.table import Table

    original = Table.query
    signature = inspect.signature(original)

    def query(self: Any, *args: Any, **kwargs: Any) -> Any:
        asked = signature.bind(self, *args, **kwargs).arguments
        index_name, hash_key = asked.get("index_name"), asked.get("hash_key")
        global_index = next((i for i in self.global_indexes or [] if i.name == index_name), None)
        if global_index is not None:
            conditions = asked.get("hash_key_conditions") or []
            if not conditions:
                return original(self, *args, **kwargs)  # moto validates and refuses these itself
            attribute, value = conditions[0]
            keys = _gsi_partitions(self).of(self, attribute).get(value, ())
            candidates = [item for item in (_current(self, *key) for key in keys) if item is not None]
        elif index_name and not any(i.name == index_name for i in self.indexes or []):
            return original(self, *args, **kwargs)  # an unknown index: moto's error
        elif hash_key is None:
            return original(self, *args, **kwargs)
        else:  # the table or a local index: one partition
            partition = self.items.get(hash_key)
            candidates = [] if partition is None else list(partition.values()) if self.range_key_attr else [partition]
        return original(_Narrowed(self, candidates), *args, **kwargs)

    Table.query = query


def import_items(table: Any, items: Iterable[Any]) -> int:
    """Store moto Items in a moto table as DynamoDB's import from S3 does: unconditionally and
    without stream records. For bulk test data (the volume benchmark): no request per item; the
    index maps of fast_dynamodb are rebuilt on the next Query. Returns how many were stored."""
    stored, count = table.items, 0
    for item in items:
        if table.range_key_attr is None:
            stored[item.hash_key] = item
        else:
            stored[item.hash_key][item.range_key] = item
        count += 1
    table.__dict__.pop("_leadflow_gsi", None)
    return count
