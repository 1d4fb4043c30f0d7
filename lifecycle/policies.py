"""Which policy governs a lead, merged window by window, and how to say it in plain words.

A Policy row may set only some windows; the most specific matching row that sets a window wins
for that window, so a manager can override just "validity" for senior reps without restating the
first-contact SLA. Specificity ranks lead type above rep level above heat, which makes the order
total (the scope is unique), so two policies never tie.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from crm.catalogs import POLICIES, catalog_cached
from lifecycle.models import Policy, Stage

# The windows a policy may set; each resolves independently.
WINDOWS = (
    "first_contact_sla",
    "progress_window",
    "validity",
    "silence_window",
    "reactivation_window",
    "warning_lead_time",
    "claim_follow_up",
    "cascade_window",
)


@dataclass(frozen=True)
class Window:
    """One resolved window and the policy it came from (named in reasons managers read)."""

    value: timedelta
    policy_id: int
    policy_name: str
    on_breach: str


@dataclass
class ResolvedPolicy:
    """The merged view for one (lead type, rep level, heat); missing windows are None."""

    windows: dict[str, Window] = field(default_factory=dict)
    reactivation_kinds: tuple[str, ...] = ()

    def get(self, name: str) -> timedelta | None:
        window = self.windows.get(name)
        return window.value if window else None

    def source(self, name: str) -> Window | None:
        return self.windows.get(name)


def _specificity(policy: Policy) -> int:
    return (4 if policy.lead_type_id else 0) + (2 if policy.rep_level else 0) + (1 if policy.heat else 0)


def policies_active(*, cache: dict | None = None) -> list[Policy]:
    """All active policies, most specific first (kept in memory while the policies catalogue is
    unchanged; read-only), memoized in `cache` for one bulk call."""
    if cache is not None and "policies" in cache:
        return cache["policies"]
    rows = catalog_cached(
        POLICIES,
        "active",
        lambda: sorted(Policy.objects.filter(active=True), key=lambda p: (-_specificity(p), p.pk)),
    )
    if cache is not None:
        cache["policies"] = rows
    return rows


def policy_resolve(
    *, lead_type_id: int | None, rep_level: str, heat: str, cache: dict | None = None
) -> ResolvedPolicy:
    """Merge every matching active policy; an empty policy field matches any value."""
    key = ("resolved", lead_type_id, rep_level or "", heat or "")
    if cache is not None and key in cache:
        return cache[key]
    resolved = ResolvedPolicy()
    kinds: list[str] | None = None
    for policy in policies_active(cache=cache):
        if policy.lead_type_id and policy.lead_type_id != lead_type_id:
            continue
        if policy.rep_level and policy.rep_level != rep_level:
            continue
        if policy.heat and policy.heat != heat:
            continue
        for name in WINDOWS:
            value = getattr(policy, name)
            if value is not None and name not in resolved.windows:
                resolved.windows[name] = Window(value, policy.pk, policy.name, policy.on_breach)
        if kinds is None and policy.reactivation_kinds:
            kinds = list(policy.reactivation_kinds)
    resolved.reactivation_kinds = tuple(kinds or ())
    if cache is not None:
        cache[key] = resolved
    return resolved


def stages_of(*, lead_type_id: int | None, cache: dict | None = None) -> list[Stage]:
    """A lead type's stages in drag order (memoized per bulk call)."""
    if lead_type_id is None:
        return []
    key = ("stages", lead_type_id)
    if cache is not None and key in cache:
        return cache[key]
    rows = list(Stage.objects.filter(lead_type_id=lead_type_id).order_by("position", "id"))
    if cache is not None:
        cache[key] = rows
    return rows


def stage_rank(stage: Stage, stages: list[Stage]) -> int:
    """1-based rank in drag order: positions may repeat or skip, ranks do not."""
    for rank, row in enumerate(stages, start=1):
        if row.pk == stage.pk:
            return rank
    return 0


def extension_between(*, stages: list[Stage], after_rank: int, up_to_rank: int) -> timedelta:
    """Extensions of the stages ranked in (after_rank, up_to_rank]: reaching a stage grants its
    extension once, and skipping ahead grants the ones passed over."""
    total = timedelta(0)
    for rank, stage in enumerate(stages, start=1):
        if after_rank < rank <= up_to_rank:
            total += stage.validity_extension
    return total


# Short windows that managers count in hours ("first contact within 24 h", not "1 day").
HOURLY_WINDOWS = frozenset({"first_contact_sla", "claim_follow_up", "warning_lead_time", "cascade_window"})


def window_words(name: str, value: timedelta) -> str:
    """A window in the unit managers use for it: hours for SLAs up to three days, else days."""
    return duration_words(value, hours_up_to=timedelta(hours=72) if name in HOURLY_WINDOWS else None)


def duration_words(value: timedelta, *, hours_up_to: timedelta | None = None) -> str:
    """'24 h', '5 days', '1 day', '90 min': how managers say it."""
    seconds = int(value.total_seconds())
    if hours_up_to is not None and seconds and seconds % 3600 == 0 and value <= hours_up_to:
        return f"{seconds // 3600} h"
    if seconds and seconds % 86400 == 0:
        days = seconds // 86400
        return f"{days} day" if days == 1 else f"{days} days"
    if seconds and seconds % 3600 == 0:
        return f"{seconds // 3600} h"
    if seconds and seconds % 60 == 0:
        return f"{seconds // 60} min"
    return f"{seconds} s"


def policy_preview(*, lead_type, rep_level: str, heat: str = "") -> str:
    """The plain-language summary shown in the admin for one scope."""
    resolved = policy_resolve(
        lead_type_id=lead_type.pk if lead_type else None, rep_level=rep_level, heat=heat
    )
    subject = " ".join(part for part in (heat, lead_type.name if lead_type else "any") if part)
    article = "an" if subject[:1].lower() in "aeiou" else "a"
    level = rep_level or "any"
    parts: list[str] = []
    if (value := resolved.get("first_contact_sla")) is not None:
        parts.append(f"first contact due in {window_words('first_contact_sla', value)}")
    if (value := resolved.get("claim_follow_up")) is not None:
        parts.append(f"follow up a claimed lead within {window_words('claim_follow_up', value)}")
    if (value := resolved.get("progress_window")) is not None:
        parts.append(f"progress at least every {duration_words(value)}")
    if (value := resolved.get("validity")) is not None:
        parts.append(f"valid {duration_words(value)}")
        for stage in stages_of(lead_type_id=lead_type.pk if lead_type else None):
            if stage.validity_extension:
                parts.append(f"+{duration_words(stage.validity_extension)} at {stage.name}")
        silence = resolved.get("silence_window")
        parts.append(f"silent {duration_words(silence)}, then released" if silence else "then released")
    if (value := resolved.get("reactivation_window")) is not None and resolved.reactivation_kinds:
        parts.append(
            f"back to the old rep on {', '.join(resolved.reactivation_kinds)} within {duration_words(value)} of release"
        )
    body = ", ".join(parts) if parts else "no clocks"
    return f"for {article} {subject} lead held by {'an' if level[:1] in 'aeiou' else 'a'} {level} rep: {body}"


def policy_previews(*, policy: Policy) -> list[str]:
    """One line per rep level the policy applies to (all three when it names none)."""
    levels = [policy.rep_level] if policy.rep_level else ["junior", "senior", "expert"]
    return [policy_preview(lead_type=policy.lead_type, rep_level=level, heat=policy.heat) for level in levels]
