"""A stored routing explanation (LeadEvent.data["explanation"]) in plain sentences, for the lead
page and the admin. Reads the dict and the rule snapshot it points to (never the live rules), so
old events keep rendering after rules change.

Version 1 explanations carry every rule's name and failing condition inline; version 2 keeps,
for rules passed over, only the number, the failing condition's index and the lead's value, and
finds names and conditions in `catalog` (simulation) or the RuleSnapshot `snapshot` names."""

from __future__ import annotations

import re
from collections.abc import Iterable

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from assignment.conditions import condition_text

OUTCOME_WORDS = {
    "inactive": gettext_lazy("is switched off"),
    "off_schedule": gettext_lazy("does not apply at this time"),
}
POOL_REASON_WORDS = {
    "claim_mode": gettext_lazy("claim mode"),
    "cascade": gettext_lazy("delayed assignment, first tier"),
    "default": gettext_lazy("default rule"),
    "no_eligible_rep": gettext_lazy("nobody eligible"),
}
# Why a candidate was skipped, by Skip.code. Rendered when read, in the reader's language; the
# English detail stored with the decision is the fallback for codes not listed here.
SKIP_WORDS = {
    "departed": gettext_lazy("departed"),
    "away": gettext_lazy("away"),
    "busy": gettext_lazy("busy"),
    "off_hours": gettext_lazy("outside working hours"),
    "weight_zero": gettext_lazy("weight 0"),
    "excluded": gettext_lazy("had this lead before"),
}
WHY_WORDS = {
    "round_robin": gettext_lazy("by round robin"),
    "weighted": gettext_lazy("by weighted round robin"),
    "least_loaded": gettext_lazy("as the least loaded"),
    "direct": gettext_lazy("through the priority lane"),
    "top_performer": gettext_lazy("as the top performer"),
    "profile_match": gettext_lazy("as the best profile match"),
}


def _rule_label(entry: dict) -> str:
    label = _("Rule %(n)s '%(name)s'") % {"n": entry.get("n", "?"), "name": entry.get("name", "")}
    return label + (_(" (default)") if entry.get("default") else "")


def _skip_text(row: dict) -> str:
    code, detail = row.get("skip"), row.get("detail") or row.get("skip") or ""
    if code in SKIP_WORDS:
        return str(SKIP_WORDS[code])
    if code == "at_capacity" and row.get("cap"):
        return _("%(load)s/%(cap)s open leads") % {"load": row.get("load", 0), "cap": row["cap"]}
    numbers = re.search(r"(\d+)/(\d+)", detail)
    if code == "quota" and numbers:
        return _("%(count)s/%(quota)s leads in the last 24 h") % {
            "count": numbers.group(1),
            "quota": numbers.group(2),
        }
    if code == "penalized" and " until " in detail:
        return _("penalized until %(when)s") % {"when": detail.split(" until ", 1)[1]}
    return detail


def _candidates_text(entry: dict, picked_words: str | None) -> str:
    rows = entry.get("candidates") or []
    count = entry.get("candidate_count", len(rows))
    parts = []
    picked_id = entry.get("picked")
    for row in rows:
        if row.get("skip"):
            parts.append(_("%(name)s skipped (%(why)s)") % {"name": row.get("name"), "why": _skip_text(row)})
    more = entry.get("more") or 0
    if more:
        parts.append(_("%(count)s more not shown") % {"count": more})
    if picked_id is not None:
        row = next((r for r in rows if r.get("id") == picked_id), {})
        detail = []
        if row.get("score") is not None:
            detail.append(_("score %(score)s") % {"score": row["score"]})
        if row.get("skills"):
            detail.append(_("matches %(skills)s") % {"skills": ", ".join(row["skills"])})
        if row.get("cap"):
            detail.append(_("%(load)s/%(cap)s open") % {"load": row.get("load", 0), "cap": row["cap"]})
        suffix = " " + _("(%(details)s)") % {"details": "; ".join(detail)} if detail else ""
        name = row.get("name") or _("rep #%(id)s") % {"id": picked_id}
        parts.append((_("picked %(name)s") % {"name": name} + f"{suffix} {picked_words or ''}").rstrip())
    elif count:
        parts.append(_("nobody eligible"))
    head = ngettext("%(count)s candidate", "%(count)s candidates", count) % {"count": count}
    if not parts:
        return _("%(sentence)s.") % {"sentence": head}
    return _("%(count)s: %(parts)s.") % {"count": head, "parts": _(", ").join(parts)}


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


def _why(result: dict) -> str:
    """How the pick was made, in the reader's language (the stored English `why` as fallback)."""
    words = WHY_WORDS.get(result.get("strategy", ""))
    return str(words) if words is not None else str(result.get("why") or "")


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
    version = data.get("v", 1)
    catalog = _catalog(data, snapshots) if isinstance(version, int) and version >= 2 else {}
    sentences: list[str] = []
    if not data.get("rule_set"):
        sentences.append(_("No active rule set for this trigger."))
    result = data.get("result") or {}
    for stored, n in _entries(data.get("rules") or []):
        rule = catalog.get(str(n)) or {}
        name = rule.get("name", f"#{stored.get('id', rule.get('id', n))}")
        entry = {"name": name, "default": rule.get("default"), **stored, "n": n}
        outcome = entry.get("outcome")
        label = _rule_label(entry)
        if outcome in OUTCOME_WORDS:
            sentences.append(_("%(rule)s %(outcome)s.") % {"rule": label, "outcome": OUTCOME_WORDS[outcome]})
            continue
        if outcome == "no_match":
            failed, failed_any = _failed_conditions(entry, rule)
            if failed:
                why = condition_text(failed, failed.get("actual"), with_actual=True)
            else:
                texts = [condition_text(c, c.get("actual"), with_actual=True) for c in failed_any]
                why = _("none of %(conditions)s") % {"conditions": "; ".join(texts) or _("its conditions")}
            sentences.append(_("%(rule)s did not match: %(why)s.") % {"rule": label, "why": why})
            continue
        matched = entry.get("matched") or []
        if entry.get("default"):
            head = _("%(rule)s applies") % {"rule": label}
        elif matched:
            on = ", ".join(condition_text(c) for c in matched)
            head = _("%(rule)s matched (%(conditions)s)") % {"rule": label, "conditions": on}
        else:
            head = _("%(rule)s matched") % {"rule": label}
        if entry.get("error"):
            sentences.append(
                _("%(rule)s but could not be used: %(error)s.") % {"rule": head, "error": entry["error"]}
            )
            continue
        is_last = outcome == "decided"
        if "candidates" in entry or "candidate_count" in entry:
            words = _why(result) if is_last else None
            sentences.append(
                _("%(rule)s. %(candidates)s") % {"rule": head, "candidates": _candidates_text(entry, words)}
            )
        else:
            sentences.append(_("%(sentence)s.") % {"sentence": head})
        if outcome == "no_eligible":
            if stored is (data.get("rules") or [])[-1] and result.get("status") == "pooled":
                continue
            sentences.append(_("Nobody eligible, so the next rule was tried."))
    status = result.get("status")
    if status == "pooled":
        team = result.get("pool_team_name")
        where = _("the %(team)s pool") % {"team": team} if team else _("the public pool")
        code = result.get("pool_reason", "")
        reason = POOL_REASON_WORDS.get(code, code)
        sentences.append(_("Sent to %(where)s (%(reason)s).") % {"where": where, "reason": reason})
    elif status == "nurturing":
        sentences.append(_("Sent to nurturing."))
    elif status == "assigned" and result.get("strategy") == "default_owner":
        sentences.append(_("Assigned to the default owner %(name)s.") % {"name": result.get("owner_name")})
    return sentences


def events_explained(events: Iterable) -> dict[int, list[str]]:
    """Sentences for each routing event among `events` (LeadEvent rows), by event id, with every
    snapshot they need loaded in one query: a timeline must cost the same however many
    routing events it shows. Events whose data holds no routing decision are left out."""
    routing = [e for e in events if isinstance(e.data, dict) and _is_routing(e.data)]
    snapshots = snapshots_load(e.data for e in routing)
    return {e.pk: explanation_sentences(e.data, snapshots=snapshots) for e in routing}


def _is_routing(data: dict) -> bool:
    return bool({"explanation", "rules", "rule_set"} & data.keys())
