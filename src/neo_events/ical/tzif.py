"""The instants at which an IANA zone's offset may change, read from its TZif file (RFC 8536):
the file zoneinfo itself reads, found as zoneinfo finds it (`zoneinfo.TZPATH`, then the
`tzdata` package).

Only where the changes are is taken from the file; what they are (offsets, names) is asked of
zoneinfo (`vtimezones`). Reading a file is a few hundred bytes unpacked: microseconds, where
finding the same instants by sampling zoneinfo costs about 40 ms a zone."""

from __future__ import annotations

import importlib.resources
import os
import struct
import zoneinfo

_HEADER = struct.Struct(">4s c 15x 6l")  # magic, version, then the six counts


def transitions(name: str) -> tuple[int, ...] | None:
    """The zone's transition times (POSIX seconds, ascending) from its version 2+ data (64-bit
    times) or, in a version 1 file, its only data; None if the file cannot be found or read
    as TZif."""
    data = _read(name)
    if data is None:
        return None
    try:
        return _times(data)
    except (struct.error, ValueError):
        return None


def _times(data: bytes) -> tuple[int, ...]:
    magic, version, *counts = _HEADER.unpack_from(data, 0)
    if magic != b"TZif":
        raise ValueError("not a TZif file")
    size = 4
    offset = _HEADER.size
    if version != b"\x00":  # skip the 32-bit block to the second header
        offset += _block_length(counts, size)
        magic, _, *counts = _HEADER.unpack_from(data, offset)
        if magic != b"TZif":
            raise ValueError("no second TZif header")
        size = 8
        offset += _HEADER.size
    timecnt = counts[3]
    times = struct.unpack_from(f">{timecnt}{'q' if size == 8 else 'l'}", data, offset)
    if any(a >= b for a, b in zip(times, times[1:], strict=False)):
        raise ValueError("transition times out of order")
    return times


def _block_length(counts: list[int], size: int) -> int:
    isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt = counts
    times = timecnt * (size + 1)  # each time and its type's index
    return times + typecnt * 6 + charcnt + leapcnt * (size + 4) + isstdcnt + isutcnt


def _read(name: str) -> bytes | None:
    if not name or name.startswith("/") or ".." in name.split("/"):
        return None
    for root in zoneinfo.TZPATH:
        path = os.path.join(root, name)
        if os.path.isfile(path):
            with open(path, "rb") as file:
                return file.read()
    try:
        resource = importlib.resources.files("tzdata.zoneinfo").joinpath(*name.split("/"))
        return resource.read_bytes()
    except (ModuleNotFoundError, FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None
