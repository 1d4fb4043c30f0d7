"""A stored routing explanation (LeadEvent.data["explanation"]) in plain sentences, for the lead
page and the admin. Reads only the dict, so old events keep rendering after rules change."""

from __future__ import annotations

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


def explanation_sentences(data: dict) -> list[str]:
    """E.g. "Rule 3 'East China SaaS' matched (region=华东, industry=SaaS). 4 candidates: Li Wei
    skipped (away), Zhang Min skipped (18/18 open leads), picked Wang Fang by round robin."
    Accepts the explanation dict itself or a LeadEvent.data holding it."""
    if not isinstance(data, dict):
        return []
    if "explanation" in data and isinstance(data["explanation"], dict):
        data = data["explanation"]
    sentences: list[str] = []
    if not data.get("rule_set"):
        sentences.append("No active rule set for this trigger.")
    result = data.get("result") or {}
    for entry in data.get("rules") or []:
        outcome = entry.get("outcome")
        label = _rule_label(entry)
        if outcome in OUTCOME_WORDS:
            sentences.append(f"{label} {OUTCOME_WORDS[outcome]}.")
            continue
        if outcome == "no_match":
            failed = entry.get("failed")
            if failed:
                sentences.append(
                    f"{label} did not match: {condition_text(failed, failed.get('actual'), with_actual=True)}."
                )
            else:
                texts = [
                    condition_text(c, c.get("actual"), with_actual=True)
                    for c in entry.get("failed_any") or []
                ]
                sentences.append(f"{label} did not match: none of {'; '.join(texts)}.")
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
            if entry is (data.get("rules") or [])[-1] and result.get("status") == "pooled":
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
