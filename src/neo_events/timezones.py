"""IANA time zone names: the one list every zone name the API takes is checked against.

`zoneinfo` opens more than zones: `localtime` (the host's zone, whatever it is), `Factory`
(a placeholder zone meaning "not set"), `posixrules`, `posix/…` and `right/…` copies, files
under the zone directory. None of them names a place, so none is accepted (issue #17).
"""

from __future__ import annotations

from functools import lru_cache
from zoneinfo import available_timezones

PSEUDO_ZONES = frozenset({"Factory", "localtime", "posixrules"})


@lru_cache(maxsize=1)
def iana_zone_names() -> frozenset[str]:
    """The zones of the IANA database: `available_timezones()` (which already skips
    `posix/`, `right/` and files that are not zones) without the pseudo-zones beside them."""
    return frozenset(available_timezones()) - PSEUDO_ZONES
