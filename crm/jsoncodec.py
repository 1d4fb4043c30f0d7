"""JSON text for the tables written and read by the thousand (routing explanations in events,
leads' `extra` and score breakdowns), through orjson where the standard library is the cost.

`json.dumps` of one 1 KB routing explanation took 24 µs, about a tenth of routing a lead in a
bulk batch; orjson takes 2.4 µs and `orjson.loads` a third of `json.loads`. Writers and reader
fall back to the standard library wherever orjson would refuse a value (a datetime, an integer
beyond 64 bits, a lone surrogate, NaN when reading), so a value that Django's JSONField would
reject is rejected the same way, with the same error, and one it stores is stored. The text
differs only in form: no spaces after separators, and non-ASCII characters as themselves
instead of `\\uXXXX` escapes (a Chinese name takes 3 bytes instead of 6). Known differences in
content: a float NaN or infinity is written as null (json.dumps writes `NaN`, which is not
JSON and which PostgreSQL refuses), and UUID and Enum values are written as their values where
json.dumps raises.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

# Non-string keys as json.dumps writes them ({1: x} -> {"1": x}); datetimes and dataclasses to
# the fallback, which raises as Django's JSONField (no encoder) does.
_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
# orjson reads an integer beyond 64 bits as a float (json.loads keeps it exact): text with a run
# of 19 digits or more is left to json.loads.
_LONG_DIGITS = re.compile(r"[0-9]{19}")


def json_bytes(value: Any) -> bytes | str:
    """UTF-8 JSON of `value` (psycopg's Jsonb takes bytes as they are)."""
    try:
        return orjson.dumps(value, option=_OPTIONS)
    except TypeError:  # orjson.JSONEncodeError included
        return json.dumps(value)


def json_text(value: Any) -> str:
    """JSON of `value` as text (SQLite stores a str as TEXT, bytes as a BLOB)."""
    encoded = json_bytes(value)
    return encoded.decode() if isinstance(encoded, bytes) else encoded


def json_column_reader(fallback):
    """A database converter equal to JSONField.from_db_value (no decoder) `fallback`, parsing
    with orjson: text it cannot read goes to `fallback`, which keeps Django's own behaviour."""

    def convert(value, expression, connection):
        if type(value) is str and not _LONG_DIGITS.search(value):
            try:
                return orjson.loads(value)
            except orjson.JSONDecodeError:
                pass
        return fallback(value, expression, connection)

    return convert
