"""Validators shared by the models whose fields name things outside the database."""

from difflib import get_close_matches
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _


def time_zone_validate(value: str) -> None:
    """An IANA name such as Asia/Shanghai. Routing falls back to the project's zone for a name
    it cannot load, so a typo ("Asia/Shangai") would quietly shift a rep's or a rule's hours
    instead of being told to the manager who typed it."""
    if not value:
        return
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        near = get_close_matches(value, sorted(available_timezones()), n=3, cutoff=0.6)
        hint = _(" (for example %(zones)s)") % {"zones": ", ".join(near)} if near else ""
        raise ValidationError(
            _("Unknown time zone “%(value)s”: use a name such as Asia/Shanghai%(hint)s."),
            params={"value": value[:64], "hint": hint},
        ) from None


def weekdays_validate(value: object) -> None:
    """ISO weekdays, 1 = Monday … 7 = Sunday, as a list: [1, 2, 3, 4, 5]."""
    if value in (None, "", []):
        return
    if not isinstance(value, list) or not all(
        isinstance(d, int) and not isinstance(d, bool) and 1 <= d <= 7 for d in value
    ):
        raise ValidationError(
            _("Give the days as ISO weekday numbers, 1 = Monday … 7 = Sunday, e.g. [1, 2, 3, 4, 5]."),
        )
