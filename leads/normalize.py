"""Canonical forms of contact and profile values, so the same person written two ways is one lead.

Pure functions without database access: the bulk intake calls them once per row.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal, InvalidOperation
from functools import lru_cache

import phonenumbers

DEFAULT_PHONE_REGION = "CN"

_SPACES = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

# Province-level divisions: every spelling we accept -> the short name the rules and skills use.
PROVINCES = {
    "北京": ("北京市",),
    "天津": ("天津市",),
    "上海": ("上海市",),
    "重庆": ("重庆市",),
    "河北": ("河北省",),
    "山西": ("山西省",),
    "辽宁": ("辽宁省",),
    "吉林": ("吉林省",),
    "黑龙江": ("黑龙江省",),
    "江苏": ("江苏省",),
    "浙江": ("浙江省",),
    "安徽": ("安徽省",),
    "福建": ("福建省",),
    "江西": ("江西省",),
    "山东": ("山东省",),
    "河南": ("河南省",),
    "湖北": ("湖北省",),
    "湖南": ("湖南省",),
    "广东": ("广东省",),
    "海南": ("海南省",),
    "四川": ("四川省",),
    "贵州": ("贵州省",),
    "云南": ("云南省",),
    "陕西": ("陕西省",),
    "甘肃": ("甘肃省",),
    "青海": ("青海省",),
    "台湾": ("台湾省",),
    "内蒙古": ("内蒙古自治区",),
    "广西": ("广西壮族自治区",),
    "西藏": ("西藏自治区",),
    "宁夏": ("宁夏回族自治区",),
    "新疆": ("新疆维吾尔自治区",),
    "香港": ("香港特别行政区",),
    "澳门": ("澳门特别行政区",),
}

# Cities seen in our imports -> their province. The city itself is kept in extra["city"].
CITIES = {
    "杭州": "浙江",
    "宁波": "浙江",
    "温州": "浙江",
    "苏州": "江苏",
    "南京": "江苏",
    "无锡": "江苏",
    "深圳": "广东",
    "广州": "广东",
    "东莞": "广东",
    "佛山": "广东",
    "成都": "四川",
    "武汉": "湖北",
    "西安": "陕西",
    "长沙": "湖南",
    "郑州": "河南",
    "济南": "山东",
    "青岛": "山东",
    "厦门": "福建",
    "福州": "福建",
    "合肥": "安徽",
    "沈阳": "辽宁",
    "大连": "辽宁",
    "哈尔滨": "黑龙江",
    "昆明": "云南",
    "石家庄": "河北",
}

_REGION_LOOKUP: dict[str, tuple[str, str]] = {}
for _short, _longs in PROVINCES.items():
    for _spelling in (_short, *_longs):
        _REGION_LOOKUP[_spelling] = (_short, "")
for _city, _province in CITIES.items():
    for _spelling in (_city, _city + "市"):
        _REGION_LOOKUP[_spelling] = (_province, _city)


def text_clean(value: object) -> str:
    """Trim, fold full-width spaces and runs of whitespace, drop NUL and other control bytes.

    NFKC would also fold full-width letters, but it rewrites CJK punctuation users typed on
    purpose, so only spaces are folded here.
    """
    if value is None:
        return ""
    if type(value) is str and len(value) <= 64:
        return _text_clean_short(value)  # cells repeat a lot (regions, industries, titles)
    return _text_clean(str(value))


def _text_clean(text: str) -> str:
    if text.isprintable() and "  " not in text:
        # Nothing to drop or fold: a printable text holds no control byte, no U+3000 and no
        # whitespace but the plain space (tested over every code point), so only the ends go.
        return text.strip()
    text = _CONTROL.sub("", text).replace("\u3000", " ")
    return _SPACES.sub(" ", text).strip()


_text_clean_short = lru_cache(maxsize=32768)(_text_clean)


def phone_normalize(raw: object, *, region: str = DEFAULT_PHONE_REGION) -> str | None:
    """E.164 form of a phone number, or None when it cannot be a real number.

    Full-width digits, spaces, dashes, brackets and the 0086 / +86 prefixes all parse to the
    same value, so '138-0013-8000' and '(+86)13800138000' dedup as one contact.
    """
    text = text_clean(raw)
    if not text:
        return None
    text = unicodedata.normalize("NFKC", text)
    if text.startswith("00"):
        text = "+" + text[2:]
    if region == "CN" and _CN_MOBILE_PLAIN.fullmatch(text):
        return "+86" + text
    return _phone_parse(text, region) or _phone_in_text(text, region)


@lru_cache(maxsize=4096)
def _phone_in_text(text: str, region: str) -> str | None:
    """The first valid number inside a cell that holds more than a number: '138 0013 8000
    （微信同号）', '13800138000/13900139000', '138-0013-8000 转 123', '13800138000.0' (a
    spreadsheet's number cell). phonenumbers' matcher finds it; only a cell that the plain parse
    refused gets here, so ordinary rows never pay for the scan."""
    for match in phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.VALID):
        return phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
    return None


# What Excel writes for a long number in a General-format column: its last digits are gone.
SCIENTIFIC_NUMBER = re.compile(r"[0-9](?:\.[0-9]+)?[eE]\+?[0-9]+")


# A bare 11-digit mainland mobile number (most rows of a Chinese file) is what phonenumbers
# returns with +86 in front (checked against it for every 6-digit prefix); 179… is left to the
# library because it strips 179xx as an IP-dialling prefix.
_CN_MOBILE_PLAIN = re.compile(r"1(?:[3-68-9][0-9]|7[0-8])[0-9]{8}")


@lru_cache(maxsize=65536)
def _phone_parse(text: str, region: str) -> str | None:
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number) and not _cn_mobile_shaped(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


_CN_MOBILE = re.compile(r"^1[3-9]\d{9}$")


def _cn_mobile_shaped(number: phonenumbers.PhoneNumber) -> bool:
    """An 11-digit Chinese number starting 13–19 is kept even when phonenumbers' metadata does
    not list its range yet: carriers open new ranges faster than the library ships, and losing
    a real lead costs more than keeping an odd one."""
    return number.country_code == 86 and bool(_CN_MOBILE.match(str(number.national_number)))


def email_normalize(raw: object) -> str | None:
    """Trimmed, lower-cased address, or None when it is not an address at all."""
    text = unicodedata.normalize("NFKC", text_clean(raw)).replace(" ", "").lower()
    if not text or not _EMAIL.match(text) or len(text) > 254:
        return None
    return text


def region_normalize(raw: object) -> tuple[str, str]:
    """(province, city): '北京'/'北京市' -> ('北京', ''); '杭州' -> ('浙江', '杭州').

    Unknown names come back trimmed and unchanged, never guessed.
    """
    text = text_clean(raw)
    if not text:
        return "", ""
    return _REGION_LOOKUP.get(text, (text, ""))


_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def company_size_parse(raw: object) -> int | None:
    """Head count from what people write: '300', '100-499' (lower bound), '1000+', '1,200人'.

    Raises ValueError for text without a number, so validation can name the field.
    """
    text = unicodedata.normalize("NFKC", text_clean(raw)).replace(",", "")
    if not text:
        return None
    match = _NUMBER.search(text)
    if not match:
        raise ValueError(text)
    return int(Decimal(match.group()))


def decimal_or_none(value: object) -> Decimal | None:
    """A finite Decimal from a number or numeric text; None for anything else. Decimal() also
    accepts "NaN" and "Infinity", whose ordering comparisons raise: a rule value or a lead value
    like that must compare as "not a number", never break the scoring or routing of a lead."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def budget_parse(raw: object) -> Decimal | None:
    """A decimal amount from '50', '50.5', '1,000', '¥300'; ValueError when there is no number."""
    text = unicodedata.normalize("NFKC", text_clean(raw)).replace(",", "").lstrip("¥$￥").strip()
    if not text:
        return None
    try:
        amount = Decimal(text)
    except InvalidOperation as exc:
        raise ValueError(text) from exc
    if not amount.is_finite():  # "NaN" (pandas' empty cell, JSON's NaN) and "Infinity" parse too
        raise ValueError(text)
    return amount


_TRUE = {"1", "true", "yes", "y", "是", "对", "t"}


def flag_parse(raw: object) -> bool:
    if isinstance(raw, bool):
        return raw
    return text_clean(raw).lower() in _TRUE
