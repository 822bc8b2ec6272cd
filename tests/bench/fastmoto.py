"""Make moto's TransactWriteItems affordable for a benchmark (bench only, never the tests).

moto backs up every table a transaction touches by deep-copying the whole table, once per
transaction item: a stage change with 35 counter items copies the MetricsTable 35 times, and
the cost grows with every lead stored. Here the backup is of the touched items only, and a
failed transaction restores exactly those items, so the semantics (all or nothing, the same
cancellation reasons) stay what moto implements. Only moto's own CPU changes, which the
benchmark does not count as ours anyway (counting.moto_cpu).
"""

from __future__ import annotations

import copy as _copy
from typing import Any

_installed = False
_original = None


def install() -> None:
    global _installed, _original
    if _installed:
        return
    import moto.dynamodb.models as models
    from moto.dynamodb.models.table import Table

    real = _copy

    class _NoTableCopies:
        """`copy` as moto.dynamodb.models sees it during a transaction: tables are not copied."""

        @staticmethod
        def deepcopy(value: Any, memo: Any = None) -> Any:
            return value if isinstance(value, Table) else real.deepcopy(value, memo)

        def __getattr__(self, name: str) -> Any:
            return getattr(real, name)

    original = _original = models.DynamoDBBackend.transact_write_items

    def transact_write_items(self, transact_items: list[dict[str, Any]]) -> None:
        snapshots = []
        for entry in transact_items:
            try:
                _, op = next(iter(entry.items()))
                table = self.tables[op["TableName"]]
                source = op.get("Key") or op["Item"]
                hash_key, range_key = self.get_keys_value(table, source)
                item = table.get_item(hash_key, range_key)
            except Exception:
                continue  # moto reports the bad entry itself
            snapshots.append((table, hash_key, range_key, real.deepcopy(item) if item is not None else None))
        models.copy = _NoTableCopies()
        try:
            return original(self, transact_items)
        except Exception:
            for table, hash_key, range_key, item in reversed(snapshots):
                if range_key is None:
                    if item is None:
                        table.items.pop(hash_key, None)
                    else:
                        table.items[hash_key] = item
                else:
                    bucket = table.items[hash_key]
                    if item is None:
                        bucket.pop(range_key, None)
                        if not bucket:
                            table.items.pop(hash_key, None)
                    else:
                        bucket[range_key] = item
            raise
        finally:
            models.copy = real

    models.DynamoDBBackend.transact_write_items = transact_write_items
    _installed = True


def uninstall() -> None:
    global _installed
    if not _installed:
        return
    import moto.dynamodb.models as models

    models.DynamoDBBackend.transact_write_items = _original
    _installed = False
