"""The lookup key of a username or an email address: the one form registration stores
(`users.username_key`, `users.email_key`) and every lookup compares, so that whatever form
an address is written in (NFC or NFD, an internationalised domain in Unicode or in
punycode, any case) it names the one account. Pure: neither the web framework nor the
database.

Registration reads the address with email-validator (pydantic's `EmailStr`): its local part
in NFC, its domain as IDNA2008 (UTS #46) gives it back in Unicode, lower-cased. The key is
that normalised address lower-cased; `name_key` computes it from any form without refusing
one (an address email-validator refuses is keyed by its NFC form, which names no account).
An address of ASCII letters whose domain holds no punycode label is its own normalised form
but for case, so only the others pay for email-validator (~0.1-0.6 ms), and a domain's key
is remembered (`MAX_REMEMBERED_DOMAINS`)."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from functools import lru_cache

from email_validator import EmailNotValidError, validate_email

# The domains whose key is remembered: the addresses of one import or calendar client name
# few domains, each normalised once.
MAX_REMEMBERED_DOMAINS = 1024
# Internationalised domains (non-ASCII, or with a punycode label) normalised for one batch of
# addresses (`keys_of`: an import's or a CalDAV write's people): ~0.1-0.6 ms each, so at most
# ~60 ms. Past it an address is keyed by its NFC form, which still names an account whose
# domain is written as it was registered (in Unicode, NFC): only a punycode or mapped form
# past the hundredth distinct domain of one write is not recognised.
MAX_IDN_DOMAINS = 100


def name_key(text: str) -> str:
    """The key of a login name or address: a username trimmed and lower-cased; an email
    address normalised as registration normalises it, then lower-cased."""
    text = text.strip()
    local, at, domain = text.rpartition("@")
    if not at:
        return text.lower()
    if not _needs_idna(domain):
        return _nfc_key(text)
    return f"{_nfc_key(local)}@{_domain_key(domain)}"


def keys_of(addresses: Iterable[str]) -> dict[str, str]:
    """Each address's `name_key`, at most MAX_IDN_DOMAINS internationalised domains of them
    normalised by IDNA (the others keyed by their NFC form)."""
    keys: dict[str, str] = {}
    normalised: set[str] = set()
    for address in addresses:
        if address in keys:
            continue
        domain = address.strip().rpartition("@")[2]
        if _needs_idna(domain) and domain not in normalised:
            if len(normalised) >= MAX_IDN_DOMAINS:
                keys[address] = _nfc_key(address.strip())
                continue
            normalised.add(domain)
        keys[address] = name_key(address)
    return keys


def _needs_idna(domain: str) -> bool:
    return not domain.isascii() or "xn--" in domain.lower()


def _nfc_key(text: str) -> str:
    """NFC, lower-cased: email-validator's local part is the NFC form (RFC 6532 §3.1), and
    the key of an address it is not asked about."""
    return unicodedata.normalize("NFC", text).lower()


@lru_cache(maxsize=MAX_REMEMBERED_DOMAINS)
def _domain_key(domain: str) -> str:
    """The domain as registration stores it: email-validator's (UTS #46 mapping, IDNA2008,
    the Unicode form), lower-cased; its NFC form if email-validator refuses it. The local
    part plays no role in a domain's normalisation, so a fixed one stands in."""
    try:
        found = validate_email(f"x@{domain}", check_deliverability=False).domain
    except EmailNotValidError:
        found = unicodedata.normalize("NFC", domain)
    return found.lower()
