"""Every way people write the same phone, e-mail or region normalizes to one value."""

import pytest

from leads.normalize import company_size_parse, email_normalize, phone_normalize, region_normalize, text_clean

SAME_MOBILE = [
    "13800138000",
    "138 0013 8000",
    "138-0013-8000",
    "+86 13800138000",
    "+86-138-0013-8000",
    "(+86)13800138000",
    "008613800138000",
    "0086 138 0013 8000",
    "１３８００１３８０００",
    "\u3000138 0013 8000 ",
]


@pytest.mark.parametrize("raw", SAME_MOBILE)
def test_each_chinese_mobile_format_is_one_e164_number(raw):
    assert phone_normalize(raw) == "+8613800138000"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("010-62345678", "+861062345678"),
        ("+1 650 253 0000", "+16502530000"),
        ("+44 20 7946 0958", "+442079460958"),
    ],
)
def test_landlines_and_foreign_numbers_stay_valid(raw, expected):
    assert phone_normalize(raw) == expected


def test_a_mobile_shaped_number_in_a_range_the_library_does_not_know_is_kept():
    assert phone_normalize("154 0013 8000") == "+8615400138000"


@pytest.mark.parametrize(
    "raw",
    [
        "13800138000.0",  # a spreadsheet's number cell written out as a float
        "138 0013 8000（微信同号）",
        "13800138000/13900139000",  # two numbers in one cell: the first is the contact
        "手机：138-0013-8000 转 123",
    ],
)
def test_a_number_inside_a_cell_with_more_text_is_found(raw):
    assert phone_normalize(raw) == "+8613800138000"


def test_a_phone_excel_shortened_to_scientific_notation_is_refused_with_the_cause():
    from django import forms

    from leads.forms import phone_clean

    with pytest.raises(forms.ValidationError, match="scientific notation|科学计数法"):
        phone_clean("1.38001E+10")


@pytest.mark.parametrize(
    "raw", ["12345", "1380013800", "12800138000", "abc", "", None, "+86 00000000000", "订单号 20261130123456"]
)
def test_impossible_phone_numbers_are_none(raw):
    assert phone_normalize(raw) is None


@pytest.mark.parametrize(
    "raw", ["Wang@Example.CN", "  WANG@EXAMPLE.CN ", "wang@example.cn\u3000", "ｗａｎｇ@example.cn"]
)
def test_emails_are_trimmed_and_lower_cased(raw):
    assert email_normalize(raw) == "wang@example.cn"


@pytest.mark.parametrize("raw", ["not-an-email", "a@b", "@example.cn", "a b@example", ""])
def test_bad_emails_are_none(raw):
    assert email_normalize(raw) is None


@pytest.mark.parametrize(
    ("raw", "expected"), [("北京", ("北京", "")), ("北京市", ("北京", "")), ("浙江省", ("浙江", ""))]
)
def test_region_spellings_map_to_one_province(raw, expected):
    assert region_normalize(raw) == expected


def test_a_city_maps_to_its_province_and_keeps_the_city():
    assert region_normalize("杭州市") == region_normalize("杭州") == ("浙江", "杭州")


def test_an_unknown_region_is_kept_as_written():
    assert region_normalize(" 火星 ") == ("火星", "")


def test_text_is_trimmed_with_full_width_spaces_and_nul_bytes_removed():
    assert text_clean("\u3000恒通\x00科技  有限公司 ") == "恒通科技 有限公司"


@pytest.mark.parametrize(
    ("raw", "expected"), [("300", 300), ("100-499", 100), ("1000+", 1000), ("1,200人", 1200), ("", None)]
)
def test_company_size_text_becomes_a_head_count(raw, expected):
    assert company_size_parse(raw) == expected
