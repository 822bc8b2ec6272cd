"""The query-cost limit: a query whose worst case would not finish within the function's
timeout is refused before anything is read.

Before execution the operation is walked with its arguments (variables resolved): a field that
returns a list multiplies what is under it by its `first` (clamped to its maximum page, 100), a
connection's `edges` by the connection's `first`, other lists by LIST_SIZES (or one); aliases
and fragments add their fields again. Each field that reads DynamoDB adds its requests
(FIELD_REQUESTS) for every time it resolves, except the batched ones, which add a BatchGetItem per
100 parents. The cost is

    DynamoDB requests + objects returned / OBJECTS_PER_REQUEST

in units of one DynamoDB request (~15 ms on the deployed function: the round trip plus our CPU at
512 MB), and the limit is what fits into half of the function's timeout. docs/api.md ("GraphQL query cost") has the
model with its figures.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from strawberry.extensions import SchemaExtension

FUNCTION_TIMEOUT_S = 15  # GraphqlFunction's Timeout in template.yaml (tests/integration/test_query_cost.py)
# Measured (docs/api.md, "GraphQL query cost"): per request ~2.7 ms of our CPU here, x3.5 at 512 MB,
# + a 4-8 ms round trip
MS_PER_REQUEST = 15
MAX_COST = FUNCTION_TIMEOUT_S * 1000 // 2 // MS_PER_REQUEST  # half the timeout: 500
OBJECTS_PER_REQUEST = 30  # ~0.15 ms of CPU here per object built and serialised, x3.5 at 512 MB
MAX_PAGE = 100  # every `first` is clamped (or refused) above this
BATCH_KEYS = 100  # keys per BatchGetItem
# services.leads.MAX_EXAMINED: a list a caller sees filtered (a manager's stage list) reads up to
# this many items, a page of `first` per request
MAX_EXAMINED = 500

# Lists whose length the caller does not choose and whose fields read nothing: a lead's history
# counts with a typical upper bound; other lists follow the data and count as one item (a lead's
# reasons and consents are a handful; the reports are bounded by their own limits: 400 periods,
# MAX_CSV_ROWS, and are built whole whatever the selection).
LIST_SIZES: dict[str, int] = {"Lead.history": 30}
DEFAULT_LIST_SIZE = 1


@dataclass(frozen=True)
class Call:
    times: int  # how often the field resolves in the worst case
    args: Mapping[str, Any]  # its arguments by their GraphQL names, defaults filled in
    role: str | None  # the caller's role


def per_call(requests: int) -> Callable[[Call], int]:
    return lambda call: call.times * requests


def batched(call: Call) -> int:
    """A loader that reads all parents' items with BatchGetItem (services.leads.nurture_of)."""
    return math.ceil(call.times / BATCH_KEYS)


def _first(call: Call, default: int = 20) -> int:
    return max(1, min(int(call.args.get("first") or default), MAX_PAGE))


# store.lead_lists: a list's index holds keys; a page is a Query per shard and one BatchGetItem of
# its leads; a list read lazily (filtered after reading) reads both in pages of LAZY_PAGE
STAGE_SHARDS, REVIEW_SHARDS = 8, 4  # store.models
LAZY_PAGE = 100


def list_pages(shards: int, *filtered_roles: str) -> Callable[[Call], int]:
    """One page: a Query per shard and a BatchGetItem; for a role whose list is filtered after
    reading, until MAX_EXAMINED items were looked at (services.leads.visible_page): each shard's
    first Query, then a Query and a BatchGetItem per LAZY_PAGE items."""
    lazy = math.ceil(MAX_EXAMINED / LAZY_PAGE)
    return lambda call: call.times * (shards + (2 * lazy if call.role in filtered_roles else 1))


def tasks_requests(call: Call) -> int:
    # a rep or manager sees a filtered list: a Query and a BatchGetItem of the leads per chunk
    if call.role in ("marketing", "admin"):
        return call.times
    return call.times * 2 * math.ceil(MAX_EXAMINED / _first(call, 50))


def _periods(call: Call, grain: str | None) -> int:
    from leadflow.services.controlling import resolve_range

    try:
        return len(resolve_range(call.args["from"], call.args["to"], grain).periods)
    except Exception:  # an invalid range: the resolver refuses it without reading
        return 0


def _value(value: Any) -> Any:
    return getattr(value, "value", value)


def report(stage_items: int, months: bool = False) -> Callable[[Call], int]:
    """A controlling report: grouped, one Query per period (MetricsTable partition); not grouped,
    `stage_items` counter items per period read with BatchGetItem."""
    def requests(call: Call) -> int:
        periods = _periods(call, "month" if months else _value(call.args.get("grain")))
        if _value(call.args.get("groupBy")) not in ("none", None):
            return call.times * (periods + 1)
        return call.times * (math.ceil((periods + 1) * stage_items / BATCH_KEYS) + 1)
    return requests


def months_times(per_month: int, extra: int = 1) -> Callable[[Call], int]:
    return lambda call: call.times * (per_month * _periods(call, "month") + extra)


def fairness_requests(call: Call) -> int:
    return call.times * (_periods(call, "month") + 2)  # one assignment-log Query per month


def search_requests(call: Call) -> int:
    """services.search: the query's words (a Query per index shard each, twice for a phone number)
    and a BatchGetItem per 100 of the 500 candidates at most; or by owners/stages, a Query per owner
    or stage shard and BatchGetItems of the candidates."""
    from leadflow.domain.search import INDEX_SHARDS, MAX_SOURCE_WORDS

    given = call.args.get("filter") or {}
    listed = max(len(given.get("owners") or ()), len(given.get("stages") or ()), 1)
    return call.times * max(2 * INDEX_SHARDS * MAX_SOURCE_WORDS + 5, 6 + listed * STAGE_SHARDS)


MUTATION_REQUESTS = 10  # a change: read, one transaction, a few lookups (measured 2-11)


BULK_REQUESTS_PER_LEAD = 8  # one lead of a bulk action: 2 (reject) to 6 (reassign: lead, rotation, loads)


def per_selected_lead(call: Call) -> int:
    """A bulk action: one change per selected id (a larger selection is refused before any read); a
    selection by search: the search (as searchLeads) and up to the largest selection."""
    from leadflow.services.bulk import MAX_BULK_LEADS

    ids = call.args.get("ids")
    if ids is None:
        return search_requests(call) + call.times * BULK_REQUESTS_PER_LEAD * MAX_BULK_LEADS
    return call.times * BULK_REQUESTS_PER_LEAD * max(1, min(len(ids), MAX_BULK_LEADS))

# DynamoDB requests per field, for every field that reads (all others: none).
FIELD_REQUESTS: dict[str, Callable[[Call], int]] = {
    "Query.viewer": per_call(0),
    "Query.lead": per_call(1),
    "Query.leads": list_pages(STAGE_SHARDS, "sales_manager"),
    "Query.reviewQueue": list_pages(REVIEW_SHARDS, "sales_manager"),
    "Query.myLeads": per_call(2),  # a Query and a BatchGetItem of its leads
    "Query.teamQueue": per_call(2),
    "Query.searchLeads": search_requests,
    "Query.team": per_call(1),  # the routing rules (cached per process)
    "Query.fairnessReport": fairness_requests,
    # the open opportunities through the stage index: a Query per shard (keys: thousands per 1 MB
    # page) and a BatchGetItem per 100 of services.sales.FORECAST_MAX_OPPORTUNITIES (+1)
    "Query.forecast": per_call(STAGE_SHARDS + 5001 // 100 + 1),
    "Query.tasks": tasks_requests,
    "Query.configVersions": per_call(2),
    "Query.personalDataExport": per_call(15),
    "Query.funnel": report(10),
    "Query.cohorts": report(9, months=True),
    "Query.slaCompliance": report(6),
    "Query.metricsCsv": report(10),
    "Query.campaignPerformance": months_times(2),
    "Query.campaignCosts": months_times(2),
    "Query.activities": per_call(6),  # the lead, then up to 5 timeline pages (store.activities)
    "Query.myTasks": per_call(2),  # one Query per list (marketing: theirs and the shared one)
    "Query.myNotificationSettings": per_call(1),
    "Mutation.eraseLead": per_call(50),  # a request per history item, marker, timeline event
    "Mutation.bulkReassign": per_selected_lead,
    "Mutation.bulkReject": per_selected_lead,
    "Mutation.bulkRelease": per_selected_lead,
    # nested lists of a lead, through the request's loaders (api/context.py)
    "Lead.history": per_call(1),  # one Query per lead
    "Lead.timeline": per_call(1),  # one Query per lead
    "Lead.possibleDuplicates": per_call(1),  # one Query per lead
    "Lead.consents": batched,
    "Lead.journey": batched,
}


@dataclass
class Estimate:
    requests: int = 0
    objects: int = 0

    @property
    def cost(self) -> int:
        return self.requests + math.ceil(self.objects / OBJECTS_PER_REQUEST)


def estimate(schema, document, variables: Mapping[str, Any] | None, operation_name: str | None,
             role: str | None) -> Estimate:
    """The worst-case cost of the operation (graphql-core schema and parsed document)."""
    from graphql.execution.values import get_argument_values, get_variable_values
    from graphql.utilities import get_operation_ast

    from graphql import (
        FieldNode,
        FragmentDefinitionNode,
        FragmentSpreadNode,
        InlineFragmentNode,
        get_named_type,
        get_nullable_type,
        is_composite_type,
        is_list_type,
    )

    operation = get_operation_ast(document, operation_name)
    out = Estimate()
    if operation is None:
        return out
    coerced = get_variable_values(schema, operation.variable_definitions or (), dict(variables or {}))
    variables = None if isinstance(coerced, list) else coerced  # errors: execution refuses them
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    root = schema.get_root_type(operation.operation)

    def walk(selection_set, parent, times: int, page: int | None, seen: frozenset[str]) -> None:
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                field(selection, parent, times, page, seen)
            elif isinstance(selection, InlineFragmentNode):
                on = schema.get_type(selection.type_condition.name.value) if selection.type_condition else parent
                walk(selection.selection_set, on, times, page, seen)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = fragments.get(name)
                if fragment is not None and name not in seen:
                    walk(fragment.selection_set, schema.get_type(fragment.type_condition.name.value), times, page,
                         seen | {name})

    def field(node, parent, times: int, page: int | None, seen: frozenset[str]) -> None:
        name = node.name.value
        definition = getattr(parent, "fields", {}).get(name)
        if definition is None:  # __typename, introspection
            return
        try:
            args = get_argument_values(definition, node, variables)
        except Exception:  # a bad variable: execution refuses it; assume the largest page
            args = {}
        cost = FIELD_REQUESTS.get(f"{parent.name}.{name}")
        if cost is None and parent is schema.mutation_type:
            cost = per_call(MUTATION_REQUESTS)
        if cost is not None:
            out.requests += cost(Call(times, args, role))
        returned = get_nullable_type(definition.type)
        if not is_composite_type(get_named_type(returned)) or node.selection_set is None:
            return
        child_page = None
        if is_list_type(returned):
            if "first" in definition.args:
                size = max(1, min(int(args.get("first") or MAX_PAGE), MAX_PAGE))
            elif name == "edges" and page is not None:
                size = page
            else:
                size = LIST_SIZES.get(f"{parent.name}.{name}", DEFAULT_LIST_SIZE)
        else:
            size = 1
            if "first" in definition.args:  # a connection: its edges come `first` at a time
                child_page = max(1, min(int(args.get("first") or MAX_PAGE), MAX_PAGE))
        out.objects += times * size
        walk(node.selection_set, get_named_type(returned), times * size, child_page, seen)

    walk(operation.selection_set, root, 1, None, frozenset())
    return out


class QueryCost(SchemaExtension):
    """Refuses, before execution, an operation whose worst-case cost exceeds MAX_COST: one
    GraphQL error naming the cost and the limit (code invalid_input, rule query_cost), no data."""

    def on_execute(self):
        from graphql import ExecutionResult, GraphQLError

        context = self.execution_context
        principal = context.context.get("principal") if isinstance(context.context, dict) else None
        found = estimate(context.schema._schema, context.graphql_document, context.variables,
                         context.operation_name, principal.role.value if principal else None)
        if found.cost > MAX_COST:
            context.result = ExecutionResult(data=None, errors=[GraphQLError(
                f"query cost {found.cost:,} exceeds the limit of {MAX_COST:,} (up to {found.requests:,} DynamoDB "
                f"requests and {found.objects:,} objects; the limit is what fits into half of the "
                f"{FUNCTION_TIMEOUT_S} s timeout): ask for fewer leads (first), fewer nested lists or fewer aliases",
                extensions={"code": "invalid_input", "rule": "query_cost", "cost": found.cost, "limit": MAX_COST})])
        yield
