"""`name_key`: one key for every form of an address, equal to the key stored before it existed
(the lower-cased address as registration's email-validator normalised it), so the stored
`users.email_key` column needs no migration."""

from __future__ import annotations

import pytest
from email_validator import validate_email

from neo_events.auth.names import MAX_IDN_DOMAINS, keys_of, name_key

REGISTERED = [
    "alice@example.com",
    "Alice.Smith+tag@Example.COM",
    "zoé@bücher.de",
    "zoe\u0301@BU\u0308CHER.de",
    "x@xn--bcher-kva.de",
    "Ünal@straße.de",
    "δοκιμή@παράδειγμα.δοκιμή",
    "用户@例子.广告",
    "postmaster@EXAMPLE.org",
    "i̇stanbul@türkiye.com.tr",
    "x@ｅｘａｍｐｌｅ.com",
]


@pytest.mark.parametrize("address", REGISTERED)
def test_the_key_of_a_stored_address_is_the_key_stored_before(address: str) -> None:
    normalised = validate_email(address, check_deliverability=False).normalized
    old_key = normalised.strip().lower()  # auth/service.py's `_key` until 2026-12
    assert name_key(normalised) == old_key
    assert name_key(address) == old_key  # the form as typed names the same account
    assert name_key(name_key(address)) == name_key(address)


@pytest.mark.parametrize(
    "form",
    [
        "cafe\u0301@x.org",
        "CAFÉ@X.ORG",
        " café@x.org ",
        "café@X.org",
    ],
)
def test_every_form_of_an_address_has_one_key(form: str) -> None:
    assert name_key(form) == name_key("café@x.org") == "café@x.org"


def test_domains_in_punycode_and_unicode_have_one_key() -> None:
    assert name_key("x@xn--bcher-kva.de") == name_key("X@Bücher.DE") == "x@bücher.de"


def test_a_username_and_an_address_email_validator_refuses_are_keyed_without_it() -> None:
    assert name_key("  Alice ") == "alice"
    assert name_key("bob@users.neo-events.invalid") == "bob@users.neo-events.invalid"
    assert name_key("not an address@bu\u0308cher") == "not an address@bücher"


def test_one_batch_normalises_at_most_max_idn_domains_by_idna() -> None:
    decoded = "x@bücher.de"
    punycode = [f"x@xn--bcher-kva.d{n}e" for n in range(MAX_IDN_DOMAINS)]
    keys = keys_of(["x@xn--bcher-kva.de", *punycode, "y@xn--bcher-kva.de", "late@xn--ab-fka.de"])
    assert keys["x@xn--bcher-kva.de"] == decoded
    assert keys["y@xn--bcher-kva.de"] == "y@bücher.de"  # a domain already normalised
    assert keys["late@xn--ab-fka.de"] == "late@xn--ab-fka.de"  # past the bound: as written
    assert keys_of(["Zoe\u0301@x.org"]) == {"Zoe\u0301@x.org": "zoé@x.org"}
