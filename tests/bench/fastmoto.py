"""moto's DynamoDB as the local stack runs it (infra.emulator.fast_dynamodb), for the benchmark.

moto backs up every table a transaction touches by deep-copying the whole table, once per
transaction item, and answers every Query by sorting the whole table. The emulator's patch keeps
an undo log of the touched items instead and reads one partition (or one index value) per Query,
with moto's semantics (all or nothing, the same cancellation reasons). Only moto's own CPU changes,
which the benchmark does not count as ours anyway (counting.moto_cpu).
"""

from __future__ import annotations


def install() -> None:
    from infra.emulator import fast_dynamodb

    fast_dynamodb()


def uninstall() -> None:
    """Nothing to undo: the patch keeps moto's answers, it only makes them cheaper."""
