"""Finding the lead an incoming contact already is, and folding the new data into it.

Keys, strongest first: (source, external id), normalized phone, normalized e-mail. One query
loads every existing lead a batch can match; leads created earlier in the same batch are added
to the same index, so duplicates inside one file merge too.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from django.db.models import F, Lookup, Q

from leads.models import Lead

# Fields an incoming row may fill on an existing lead (only where the lead has nothing yet).
MERGEABLE_FIELDS = (
    "name",
    "company",
    "phone",
    "phone_normalized",
    "email",
    "email_normalized",
    "region",
    "industry",
    "product",
    "company_size",
    "budget",
    "role",
    "language",
    "lead_type",
    "referrer",
    "external_id",
)


class DedupIndex:
    def __init__(self) -> None:
        self.by_phone: dict[str, Lead] = {}
        self.by_email: dict[str, Lead] = {}
        self.by_external: dict[tuple[int, str], Lead] = {}

    def add(self, lead: Lead) -> None:
        if lead.phone_normalized:
            self.by_phone.setdefault(lead.phone_normalized, lead)
        if lead.email_normalized:
            self.by_email.setdefault(lead.email_normalized, lead)
        if lead.external_id:
            self.by_external.setdefault((lead.source_id, lead.external_id), lead)

    def find(self, *, phone: str, email: str, source_id: int, external_id: str) -> Lead | None:
        if external_id and (source_id, external_id) in self.by_external:
            return self.by_external[(source_id, external_id)]
        if phone and phone in self.by_phone:
            return self.by_phone[phone]
        if email and email in self.by_email:
            return self.by_email[email]
        return None


# The lead fields dedup_index_load looks stored leads up by (whose planner statistics matter).
DEDUP_LOOKUP_FIELDS = ("phone_normalized", "email_normalized", "source", "external_id")


def dedup_index_load(keys: Iterable[tuple[str, str, int, str]]) -> DedupIndex:
    """Index of the stored leads matching any of the (phone, email, source_id, external_id) keys.

    One query; the oldest lead wins when stored data already holds duplicates.
    """
    phones: set[str] = set()
    emails: set[str] = set()
    externals: dict[int, set[str]] = {}
    for phone, email, source_id, external_id in keys:
        if phone:
            phones.add(phone)
        if email:
            emails.add(email)
        if external_id:
            externals.setdefault(source_id, set()).add(external_id)
    index = DedupIndex()
    condition = Q()
    if phones:
        condition |= Q(OneOf(F("phone_normalized"), phones))
    if emails:
        condition |= Q(OneOf(F("email_normalized"), emails))
    for source_id, ids in externals.items():
        # The non-empty test repeats the partial index's condition, so both planners use it.
        condition |= Q(source_id=source_id) & ~Q(external_id="") & Q(OneOf(F("external_id"), ids))
    if not condition:
        return index
    # Oldest first, sorted here rather than by the query: with ORDER BY id SQLite walks the
    # primary key over the whole table instead of the phone and e-mail indexes (a full scan
    # per batch, growing with the table); unordered it takes the matching index entries only.
    matched = Lead.objects.filter(condition).select_related("source", "lead_type").order_by()
    for lead in sorted(matched, key=_pk):
        index.add(lead)
    return index


def _pk(lead: Lead) -> int:
    return lead.pk


class OneOf(Lookup):
    """`column IN (values)` with the values as one parameter: `= ANY(%s)` (an array) on
    PostgreSQL, `IN (SELECT value FROM json_each(%s))` on SQLite. Same rows as `__in`, but a
    batch's thousand phones and e-mails are bound once instead of prepared and placed one
    by one (Django's `__in` costs more than the query here). Text values only."""

    lookup_name = "one_of"
    prepare_rhs = False  # the rhs is a collection of values, not one value of the column

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        values = sorted(self.rhs)
        if connection.vendor == "postgresql":
            return f"{lhs} = ANY(%s)", [*lhs_params, values]
        if connection.vendor == "sqlite":
            return (
                f"{lhs} IN (SELECT value FROM json_each(%s))",
                [*lhs_params, json.dumps(values, ensure_ascii=False)],
            )
        return f"{lhs} IN ({', '.join(['%s'] * len(values))})", [*lhs_params, *values]


def lead_merge_fields(lead: Lead, values: dict[str, Any], extra: dict[str, Any]) -> list[str]:
    """Fill the lead's empty fields from `values` and add unknown extra keys; never overwrite
    what a rep may have corrected, never touch owner or status. Returns the changed fields."""
    changed: list[str] = []
    for name in MERGEABLE_FIELDS:
        new = values.get(name)
        if new in (None, ""):
            continue
        current = getattr(lead, name)
        if current in (None, ""):
            setattr(lead, name, new)
            changed.append(name)
    if values.get("is_referral") and not lead.is_referral:
        lead.is_referral = True
        changed.append("is_referral")
    added = {k: v for k, v in extra.items() if k not in (lead.extra or {})}
    if added:
        lead.extra = {**(lead.extra or {}), **added}
        changed.append("extra")
    return changed


def dedup_conflict_find(*, lead: Lead, phone: str, email: str, external_id: str) -> tuple[str, Lead] | None:
    """(the key's field, the other lead) when a corrected contact of `lead` is already another
    lead's: each key on its own, so a phone that is free does not hide an e-mail that is not."""
    index = dedup_index_load([(phone, email, lead.source_id, external_id)])
    for field_name, other in (
        ("external_id", index.by_external.get((lead.source_id, external_id)) if external_id else None),
        ("phone", index.by_phone.get(phone) if phone else None),
        ("email", index.by_email.get(email) if email else None),
    ):
        if other is not None and other.pk != lead.pk:
            return field_name, other
    return None
