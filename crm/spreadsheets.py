"""What every CSV or XLSX file we hand out shares: a cell that a spreadsheet would run as a
formula (OWASP "CSV injection") is written as text. Lead exports, dashboard figures and the
import's rejects report all go through here, so the rule cannot drift between them."""

from typing import Any

# Characters that make Excel, WPS and LibreOffice treat a cell as a formula.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def cell_escape(value: Any) -> Any:
    """Text starting with a formula character gets a leading apostrophe: shown as text, never
    evaluated. Numbers are left alone (a negative score is a number, not a formula)."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value
