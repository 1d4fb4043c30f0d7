"""A stored routing explanation (LeadEvent.data["explanation"]) in plain sentences, for the lead
page and the admin. Reads the dict and the rule snapshot it points to (never the live rules), so
old events keep rendering after rules change.

Version 1 explanations carry every rule's name and failing condition inline; version 2 keeps,
for rules passed over, only the number, the failing condition's index and the lead's value, and
finds names and conditions in `catalog` (simulation) or the RuleSnapshot `snapshot` names."""

from __future__ import annotations

from collections.abc import Iterable

from assignment.conditions import condition_text

OUTCOME_WORDS = {
    "inactive": "is switched off",
    "off_schedule": "does not apply at this time",
}
POOL_REASON_WORDS = {
    "claim_mode": "claim mode",
    "cascade": "delayed assignment, first tier",
    "default": "default rule",
    "no_eligible_rep": "nobody eligible",
}


def _rule_label(entry: dict) -> str:
    return f"Rule {entry.get('n', '?')} '{entry.get('name', '')}'" + (
        " (default)" if entry.get("default") else ""
    )


def _candidates_text(entry: dict, picked_words: str | None) -> str:
    rows = entry.get("candidates") or []
    count = entry.get("candidate_count", len(rows))
    parts = []
    picked_id = entry.get("picked")
    for row in rows:
        if row.get("skip"):
            parts.append(f"{row.get('name')} skipped ({row.get('detail') or row.get('skip')})")
    more = entry.get("more") or 0
    if more:
        parts.append(f"{more} more not shown")
    if picked_id is not None:
        row = next((r for r in rows if r.get("id") == picked_id), {})
        detail = []
        if row.get("score") is not None:
            detail.append(f"score {row['score']}")
        if row.get("skills"):
            detail.append("matches " + ", ".join(row["skills"]))
        if row.get("cap"):
            detail.append(f"{row.get('load', 0)}/{row['cap']} open")
        suffix = f" ({'; '.join(detail)})" if detail else ""
        parts.append(
            f"picked {row.get('name', 'rep #' + str(picked_id))}{suffix} {picked_words or ''}".rstrip()
        )
    elif count:
        parts.append("nobody eligible")
    noun = "candidate" if count == 1 else "candidates"
    return f"{count} {noun}: " + ", ".join(parts) + "." if parts else f"{count} {noun}."


def _explanation(data: dict) -> dict:
    if "explanation" in data and isinstance(data["explanation"], dict):
        return data["explanation"]
    return data


def snapshots_load(datas: Iterable[dict]) -> dict[int, dict]:
    """The rule catalogues that these explanations point to, in one query (a lead page renders
    several routing events)."""
    from assignment.models import RuleSnapshot

    ids = set()
    for data in datas:
        if isinstance(data, dict):
            ref = _explanation(data).get("snapshot")
            if isinstance(ref, int):
                ids.add(ref)
    if not ids:
        return {}
    return dict(RuleSnapshot.objects.filter(pk__in=ids).values_list("pk", "data"))


def _catalog(data: dict, snapshots: dict[int, dict] | None) -> dict:
    if isinstance(data.get("catalog"), dict):
        return data["catalog"]
    ref = data.get("snapshot")
    if not isinstance(ref, int):
        return {}
    if snapshots is None:
        snapshots = snapshots_load([data])
    return snapshots.get(ref) or {}


def _failed_conditions(entry: dict, rule: dict) -> tuple[dict | None, list[dict]]:
    """The failing condition (or the failed any-of group) with the lead's value(s), from either
    form: v1 stores them in the entry, v2 stores an index into the rule's catalogue entry."""
    if "failed" in entry or "failed_any" in entry:
        return entry.get("failed"), list(entry.get("failed_any") or [])
    if "c" in entry:
        conditions = rule.get("conditions") or []
        index = entry["c"]
        condition = conditions[index] if isinstance(index, int) and 0 <= index < len(conditions) else None
        if not isinstance(condition, dict):
            condition = {"field": "?", "op": "?", "value": condition if condition is not None else "?"}
        return {**condition, "actual": entry.get("actual")}, []
    group = [c for c in rule.get("any") or [] if isinstance(c, dict)]
    actuals = entry.get("any") or []
    return None, [{**c, "actual": a} for c, a in zip(group, actuals, strict=False)]


def _entries(stored: list[dict]) -> Iterable[tuple[dict, int]]:
    """Each rule entry with its number; a v2 run {"n": 1, "to": 48, ...} stands for 48 rules."""
    for entry in stored:
        if not isinstance(entry, dict):
            continue
        first = entry.get("n")
        last = entry.get("to", first)
        if isinstance(first, int) and isinstance(last, int) and last >= first:
            for n in range(first, last + 1):
                yield entry, n
        else:
            yield entry, first


def explanation_sentences(data: dict, *, snapshots: dict[int, dict] | None = None) -> list[str]:
    """E.g. "Rule 3 'East China SaaS' matched (region=华东, industry=SaaS). 4 candidates: Li Wei
    skipped (away), Zhang Min skipped (18/18 open leads), picked Wang Fang by round robin."
    Accepts the explanation dict itself or a LeadEvent.data holding it; `snapshots` (from
    snapshots_load) saves the query when several explanations are rendered together."""
    if not isinstance(data, dict):
        return []
    data = _explanation(data)
    catalog = _catalog(data, snapshots) if data.get("v", 1) >= 2 else {}
    sentences: list[str] = []
    if not data.get("rule_set"):
        sentences.append("No active rule set for this trigger.")
    result = data.get("result") or {}
    for stored, n in _entries(data.get("rules") or []):
        rule = catalog.get(str(n)) or {}
        name = rule.get("name", f"#{stored.get('id', rule.get('id', n))}")
        entry = {"name": name, "default": rule.get("default"), **stored, "n": n}
        outcome = entry.get("outcome")
        label = _rule_label(entry)
        if outcome in OUTCOME_WORDS:
            sentences.append(f"{label} {OUTCOME_WORDS[outcome]}.")
            continue
        if outcome == "no_match":
            failed, failed_any = _failed_conditions(entry, rule)
            if failed:
                sentences.append(
                    f"{label} did not match: {condition_text(failed, failed.get('actual'), with_actual=True)}."
                )
            else:
                texts = [condition_text(c, c.get("actual"), with_actual=True) for c in failed_any]
                sentences.append(f"{label} did not match: none of {'; '.join(texts) or 'its conditions'}.")
            continue
        matched = entry.get("matched") or []
        on = f" ({', '.join(condition_text(c) for c in matched)})" if matched else ""
        head = f"{label} applies" if entry.get("default") else f"{label} matched{on}"
        if entry.get("error"):
            sentences.append(f"{head} but could not be used: {entry['error']}.")
            continue
        is_last = outcome == "decided"
        if "candidates" in entry or "candidate_count" in entry:
            words = result.get("why") if is_last else None
            sentences.append(f"{head}. {_candidates_text(entry, words)}")
        else:
            sentences.append(f"{head}.")
        if outcome == "no_eligible":
            if stored is (data.get("rules") or [])[-1] and result.get("status") == "pooled":
                continue
            sentences.append("Nobody eligible, so the next rule was tried.")
    status = result.get("status")
    if status == "pooled":
        where = (
            f"the {result.get('pool_team_name')} pool" if result.get("pool_team_name") else "the public pool"
        )
        reason = POOL_REASON_WORDS.get(result.get("pool_reason", ""), result.get("pool_reason", ""))
        sentences.append(f"Sent to {where} ({reason}).")
    elif status == "nurturing":
        sentences.append("Sent to nurturing.")
    elif status == "assigned" and result.get("strategy") == "default_owner":
        sentences.append(f"Assigned to the default owner {result.get('owner_name')}.")
    return sentences
