"""How a rule picks one rep among its eligible candidates. Each strategy is a pure function of
the candidates and the rule's cursor state (a dict persisted in a locked RotationCursor row), so
routing in bulk and one by one give the same picks."""

from __future__ import annotations

from collections.abc import Callable

from crm.models import Rep

ROTATING = frozenset({"round_robin", "weighted", "least_loaded", "top_performer", "profile_match"})
PICKING = ROTATING | {"direct"}
STRATEGY_WORDS = {
    "round_robin": "by round robin",
    "weighted": "by weighted round robin",
    "least_loaded": "as the least loaded",
    "direct": "through the priority lane",
    "top_performer": "as the top performer",
    "profile_match": "as the best profile match",
}


class Candidate:
    """One eligible (or skipped) rep as a picker sees it. A plain slotted class: routing builds
    one per rep in scope per lead, so construction cost shows in bulk throughput."""

    __slots__ = ("rep", "weight", "load", "score", "sample", "extra", "pk")

    def __init__(
        self,
        rep: Rep,
        weight: int = 1,
        load: int = 0,
        score: float | None = None,
        sample: int | None = None,
        extra: dict | None = None,
        pk: int | None = None,
    ):
        self.rep = rep
        self.weight = weight
        self.load = load
        self.score = score  # profile match points or performance figure, for the explanation
        self.sample = sample
        self.extra = extra if extra is not None else {}
        self.pk = pk if pk is not None else rep.pk

    @property
    def load_ratio(self) -> float:
        cap = self.rep.max_open_leads
        return self.load / cap if cap else float(self.load)


def _rotate(tied: list[Candidate], state: dict) -> Candidate:
    """The next rep after the last one picked, by rep id. A rep back from leave simply re-enters
    where the rotation stands: the cursor is a position, not a debt, so there is no catch-up."""
    last = state.get("last") or 0
    ordered = sorted(tied, key=lambda c: c.pk)
    picked = next((c for c in ordered if c.pk > last), ordered[0])
    state["last"] = picked.pk
    return picked


def round_robin(eligible: list[Candidate], *, state: dict, lead, options: dict) -> Candidate:
    return _rotate(eligible, state)


def weighted(eligible: list[Candidate], *, state: dict, lead, options: dict) -> Candidate:
    """Smooth weighted round robin (as in nginx): weights 3:2:1 give exactly 3:2:1 over every six
    picks, interleaved rather than in bursts. Reps not eligible keep their current weight frozen."""
    current: dict = state.setdefault("cw", {})
    total = 0
    best: Candidate | None = None
    for cand in sorted(eligible, key=lambda c: c.pk):
        key = str(cand.pk)
        current[key] = current.get(key, 0) + cand.weight
        total += cand.weight
        if best is None or current[key] > current[str(best.pk)]:
            best = cand
    assert best is not None
    current[str(best.pk)] -= total
    state["last"] = best.pk
    return best


def least_loaded(eligible: list[Candidate], *, state: dict, lead, options: dict) -> Candidate:
    """Fewest open leads relative to capacity (or absolute with options.relative = false); ties by
    round robin so equal reps still take turns."""
    relative = options.get("relative", True)

    def measure(c: Candidate) -> float:
        return c.load_ratio if relative else float(c.load)

    low = min(measure(c) for c in eligible)
    return _rotate([c for c in eligible if measure(c) == low], state)


def direct(eligible: list[Candidate], *, state: dict, lead, options: dict) -> Candidate:
    """The priority lane: the first eligible rep in the rule's own order."""
    return eligible[0]


def top_performer(eligible: list[Candidate], *, state: dict, lead, options: dict) -> Candidate:
    """Best recent figure among reps with at least the minimum sample; reps below it only when
    nobody qualifies. Ties by load, then round robin."""
    minimum = int(options.get("min_sample", 5))
    higher_better = options.get("metric", "conversion") != "response"
    qualified = [c for c in eligible if c.score is not None and (c.sample or 0) >= minimum]
    pool = qualified or eligible
    if qualified:
        best = max(c.score for c in pool) if higher_better else min(c.score for c in pool)
        pool = [c for c in pool if c.score == best]
    low = min(c.load_ratio for c in pool)
    return _rotate([c for c in pool if c.load_ratio == low], state)


def profile_match(eligible: list[Candidate], *, state: dict, lead, options: dict) -> Candidate:
    """Highest skills-versus-profile score (like ride-hailing dispatch); ties by load, then turn."""
    best = max(c.score or 0 for c in eligible)
    tied = [c for c in eligible if (c.score or 0) == best]
    low = min(c.load_ratio for c in tied)
    return _rotate([c for c in tied if c.load_ratio == low], state)


PICKERS: dict[str, Callable[..., Candidate]] = {
    "round_robin": round_robin,
    "weighted": weighted,
    "least_loaded": least_loaded,
    "direct": direct,
    "top_performer": top_performer,
    "profile_match": profile_match,
}

# Points per matching skill; a rule's options may override any of them ("profile_points").
PROFILE_POINTS = {"region": 3, "industry": 3, "product": 2, "language": 1, "budget": 2}


def _lower(values) -> set[str]:
    return {str(v).strip().casefold() for v in (values or []) if str(v).strip()}


PROFILE_SKILLS = (
    ("region", "regions"),
    ("industry", "industries"),
    ("product", "products"),
    ("language", "languages"),
)


def rep_skills(rep: Rep) -> dict[str, set[str]]:
    """The rep's skill lists, case-folded, by the lead attribute each one covers."""
    return {attr: _lower(getattr(rep, skill)) for attr, skill in PROFILE_SKILLS}


def profile_scorer(*, lead, options: dict) -> Callable[[Rep, dict[str, set[str]]], tuple[int, list[str]]]:
    """A function of (rep, rep_skills(rep)) giving points for each of the lead's profile values
    the rep covers, and which ones matched. A budget at or above options.senior_budget (default
    50) counts for senior and expert reps. The lead's values, the points and the budget test are
    worked out once: a routing batch scores every rep in scope for each lead."""
    points = {**PROFILE_POINTS, **(options.get("profile_points") or {})}
    wanted = []
    for attr, _skill in PROFILE_SKILLS:
        value = str(getattr(lead, attr, "") or "").strip().casefold()
        if value:
            wanted.append((attr, value, int(points.get(attr, 0))))
    budget = getattr(lead, "budget", None)
    threshold = options.get("senior_budget", 50)
    try:
        big = budget is not None and float(budget) >= float(threshold)
    except (TypeError, ValueError):
        big = False
    budget_points = int(points.get("budget", 0))
    senior = (Rep.Level.SENIOR, Rep.Level.EXPERT)

    def score(rep: Rep, skills: dict[str, set[str]]) -> tuple[int, list[str]]:
        total, matched = 0, []
        for attr, value, attr_points in wanted:
            if value in skills[attr]:
                total += attr_points
                matched.append(attr)
        if big and rep.level in senior:
            total += budget_points
            matched.append("budget")
        return total, matched

    return score
