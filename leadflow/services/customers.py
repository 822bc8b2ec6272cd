"""Existing customers and key accounts, imported from the CRM (CSV).

Matching a new lead against them tells scoring "existing customer" and tells
routing who owns the account (seed 001: key accounts are never worked by
marketing alone)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from leadflow.adapters import clock
from leadflow.adapters.keys import hash_key
from leadflow.domain import dedup
from leadflow.domain.errors import DomainError
from leadflow.store import directory
from leadflow.store.models import AccountModel

TRUE = {"1", "true", "yes", "ja", "y", "x"}
REQUIRED = ("company",)


class InvalidImport(DomainError):
    code = "invalid_import"


@dataclass
class ImportSummary:
    accounts: int = 0
    contacts: int = 0
    key_accounts: int = 0
    unknown_owners: int = 0  # rows refused because their owner is not a rep of the routing rules
    errors: list[str] = field(default_factory=list)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", dedup.fold(text)).strip("-")


def import_customers(rows: Iterable[dict[str, str]]) -> ImportSummary:
    """Rows with columns company, domain, country, owner (a rep id of the routing rules, or empty),
    key_account, marketing_allowed, account_id (optional)
    and contact_first_name, contact_last_name, contact_email, contact_phone (optional).
    Several rows of one account add contacts. Re-importing the same file changes nothing."""
    from leadflow.services.rulesets import active_rules

    reps = [r.id for r in active_rules("routing").reps]
    accounts: dict[str, dict] = {}
    summary = ImportSummary()
    for line, row in enumerate(rows, start=2):
        row = {k.strip().lower(): (v or "").strip() for k, v in row.items() if k}
        missing = [c for c in REQUIRED if not row.get(c)]
        if missing:
            summary.errors.append(f"line {line}: {missing[0]} is required")
            continue
        if row.get("owner") and row["owner"] not in reps:
            # routing would hand the account's leads to nobody: refuse, naming who is known
            summary.unknown_owners += 1
            summary.errors.append(f"line {line}: owner {row['owner']!r} is not a rep in the routing rules; "
                                  f"known: {', '.join(reps)}")
            continue
        account_id = row.get("account_id") or _slug(row["company"])
        account = accounts.setdefault(account_id, {
            "name": row["company"], "domain": (row.get("domain") or "").lower() or None,
            "country": (row.get("country") or "").upper() or None, "owner_id": row.get("owner") or None,
            "key_account": row.get("key_account", "").lower() in TRUE,
            "marketing_allowed": row.get("marketing_allowed", "").lower() in TRUE, "contacts": []})
        contact = {k: row.get(f"contact_{k}") or None for k in ("first_name", "last_name", "email", "phone")}
        if any(contact.values()) and contact not in account["contacts"]:
            account["contacts"].append(contact)
    now = clock.now()
    for account_id, data in accounts.items():
        directory.save_account(AccountModel(account_id, name=data["name"], domain=data["domain"],
                                            country=data["country"], owner_id=data["owner_id"],
                                            key_account=data["key_account"], contacts=data["contacts"],
                                            marketing_allowed=data["marketing_allowed"],
                                            imported_at=now))
        if data["domain"]:
            directory.add_refs([f"domain#{data['domain']}"], f"account#{account_id}")
        for n, contact in enumerate(data["contacts"]):
            keys = dedup.keys_for(email=contact["email"], phone=contact["phone"], country=data["country"],
                                  last_name=contact["last_name"], company=data["name"],
                                  key=hash_key())
            directory.add_refs(keys.all(), f"contact#{account_id}#{n}")
        summary.accounts += 1
        summary.contacts += len(data["contacts"])
        summary.key_accounts += int(data["key_account"])
    return summary
