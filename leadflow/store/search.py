"""The search index (domain.search describes its items): written in the transaction of every change
of a lead's searched fields, read by searchLeads. A token's partition is shared by the leads whose
token starts alike; no item is written by more than one lead (the lead id is in every sort key)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pynamodb.transactions import TransactWrite

from leadflow.domain.search import SEARCHED_FIELDS, index_entries, parse_entry
from leadflow.store.models import LeadModel, SearchModel


def _fields(lead: LeadModel, set_fields: Mapping[str, Any] | None = None) -> dict[str, Any]:
    values = {name: getattr(lead, name) for name in SEARCHED_FIELDS}
    if set_fields:
        values.update({name: set_fields[name] for name in SEARCHED_FIELDS if name in set_fields})
    return values


def index_changes(tx: TransactWrite, lead: LeadModel, set_fields: Mapping[str, Any] | None = None,
                  *, new: bool = False) -> None:
    """Add to `tx` what keeps the lead's search items true: a new lead's items, or for a change of
    `lead` (as read, before the change) by `set_fields` the items it loses (deleted) and gains or
    changes (put). Nothing when the change sets no searched field; an erasure (the fields set to
    None) deletes every item."""
    if not new and not any(name in SEARCHED_FIELDS for name in (set_fields or {})):
        return
    before = {} if new else index_entries(lead.lead_id, _fields(lead))
    after = index_entries(lead.lead_id, _fields(lead, set_fields))
    for pk, sk in before.keys() - after.keys():
        tx.delete(SearchModel(pk, sk))
    for (pk, sk), codes in after.items():
        if before.get((pk, sk)) != codes:
            tx.save(SearchModel(pk, sk, fields=codes))


def lookup(partition: str, prefix: str, limit: int) -> tuple[dict[str, str], bool]:
    """({lead id: field codes} of the items in `partition` whose sort key starts with `prefix`,
    whether that is all of them): one Query of at most `limit` items (~70 bytes each: one page)."""
    result = SearchModel.query(partition, SearchModel.sk.startswith(prefix), limit=limit, page_size=limit)
    found: dict[str, str] = {}
    for item in result:
        _, lead_id = parse_entry(item.sk)
        found[lead_id] = "".join(sorted(set(found.get(lead_id, "") + item.fields)))
    return found, result.last_evaluated_key is None


def owner_leads(owner_id: str, limit: int) -> tuple[list[LeadModel], bool]:
    """A rep's leads (by_owner, newest stage first): at most `limit`, and whether that is all."""
    from leadflow.store.lead_lists import owner_pages

    return _capped(owner_pages(owner_id, page_size=min(limit, 100)), limit)


def stage_leads(stage: str, limit: int) -> tuple[list[LeadModel], bool]:
    """The leads in a stage (by_stage, newest first): at most `limit`, and whether that is all."""
    from leadflow.store.lead_lists import stage_pages

    return _capped(stage_pages(stage, None, page_size=min(limit, 100)), limit)


def _capped(pages: Iterator[LeadModel], limit: int) -> tuple[list[LeadModel], bool]:
    items: list[LeadModel] = []
    for item in pages:
        if len(items) == limit:
            return items, False
        items.append(item)
    return items, True


def items_of(lead_id: str, lead: LeadModel) -> list[SearchModel]:
    """The search items a lead should have (for a rebuild of the index)."""
    return [SearchModel(pk, sk, fields=codes) for (pk, sk), codes in index_entries(lead_id, _fields(lead)).items()]


def rebuild() -> int:
    """Write the search items of every lead (a batch job: a Scan; puts are idempotent). For leads
    stored before the index existed, or after a change of the tokenising rules. The lead count."""
    count = 0
    with SearchModel.batch_write() as batch:
        for lead in LeadModel.scan(attributes_to_get=["lead_id", *SEARCHED_FIELDS]):
            for item in items_of(lead.lead_id, lead):
                batch.save(item)
            count += 1
    return count
