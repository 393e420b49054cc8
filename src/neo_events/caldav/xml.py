"""WebDAV XML in and out: bodies parsed safely, multistatus and error bodies built.

Parsing uses defusedxml's expat parser with DTDs forbidden (so no entity can be declared: a
billion-laughs body is refused before any expansion), a byte bound, a nesting bound and an
element bound, so a request body costs at most MAX_XML_BYTES and MAX_ELEMENTS of parsing. A
property list (PROPFIND, and the REPORTs' DAV:prop) is read by `prop_names`: duplicates
dropped, at most MAX_PROPS names, so an answer holds at most MAX_PROPS properties per
resource. Pure: no web framework, no database.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from xml.etree import ElementTree as ET
from xml.sax.saxutils import escape

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser

DAV = "DAV:"
CALDAV = "urn:ietf:params:xml:ns:caldav"
CS = "http://calendarserver.org/ns/"
ICAL = "http://apple.com/ns/ical/"

MAX_XML_BYTES = 512 * 1024  # a multiget of 2,000 hrefs is ~150 KiB
MAX_DEPTH = 24  # the deepest legitimate body (calendar-query filters) nests 7 levels
# elements in one body: each costs ~2 µs of parsing (the TreeBuilder's callbacks), so 512 KiB of
# `<d:x/>` (~90,000) would cost ~170 ms; the largest legitimate body is a calendar-multiget of
# service.MAX_MULTIGET (5,000) hrefs and its properties
MAX_ELEMENTS = 8_192
# distinct properties one PROPFIND or REPORT may ask for (400 past it), as PROPPATCH's
# MAX_CHANGES; clients ask for a few dozen at most. Each is answered for each resource, so an
# answer holds at most MAX_PROPS x the resources listed (listing.MAX_LISTED) properties.
MAX_PROPS = 100

for _prefix, _uri in (("d", DAV), ("c", CALDAV), ("cs", CS), ("ical", ICAL)):
    ET.register_namespace(_prefix, _uri)


def tag(namespace: str, name: str) -> str:
    return f"{{{namespace}}}{name}"


class BadXml(ValueError):
    """The body is not a WebDAV request we can read; str(exc) says why."""


class _Bounded(ET.TreeBuilder):
    def __init__(self) -> None:
        super().__init__()
        self.depth = 0
        self.elements = 0

    def start(self, tag: Any, attrs: Any) -> ET.Element:
        self.depth += 1
        self.elements += 1
        if self.depth > MAX_DEPTH:
            raise BadXml(f"the body nests deeper than {MAX_DEPTH} elements")
        if self.elements > MAX_ELEMENTS:
            raise BadXml(f"the body has more than {MAX_ELEMENTS} elements")
        return super().start(tag, attrs)

    def end(self, tag: Any) -> ET.Element:
        self.depth -= 1
        return super().end(tag)


def parse(body: bytes) -> ET.Element | None:
    """The body's root element (None for an empty body); BadXml when it is not safe XML."""
    if not body.strip():
        return None
    if len(body) > MAX_XML_BYTES:
        raise BadXml(f"the body is larger than {MAX_XML_BYTES} bytes")
    parser = DefusedXMLParser(target=_Bounded(), forbid_dtd=True, forbid_entities=True)
    try:
        parser.feed(body)
        root = parser.close()
    except DefusedXmlException as exc:
        raise BadXml(f"forbidden XML: {exc.__class__.__name__}") from None
    except ET.ParseError as exc:
        raise BadXml(f"not well-formed XML: {exc}") from None
    if not isinstance(root, ET.Element):
        raise BadXml("no root element")
    return root


def child(parent: ET.Element, namespace: str, name: str) -> ET.Element | None:
    return parent.find(tag(namespace, name))


def requested_props(root: ET.Element | None) -> tuple[str, list[str]]:
    """('prop', [tags]) for a DAV:prop list, ('allprop'|'propname', []) otherwise; an empty
    PROPFIND body means allprop (RFC 4918 §9.1)."""
    if root is None:
        return "allprop", []
    if root.tag not in (tag(DAV, "propfind"), tag(DAV, "sync-collection"), *_REPORTS):
        raise BadXml(f"unexpected root element {root.tag}")
    if root.find(tag(DAV, "propname")) is not None:
        return "propname", []
    prop = root.find(tag(DAV, "prop"))
    if prop is None:
        return "allprop", []
    return "prop", prop_names(prop)


def prop_names(prop: ET.Element) -> list[str]:
    """The tags a DAV:prop names, in order, each once (RFC 4918 asks no echo of a repeated
    property); BadXml past MAX_PROPS distinct ones."""
    names: dict[str, None] = {}
    for node in prop:
        names[node.tag] = None
        if len(names) > MAX_PROPS:
            raise BadXml(f"a request names at most {MAX_PROPS} properties")
    return list(names)


_REPORTS = (tag(CALDAV, "calendar-query"), tag(CALDAV, "calendar-multiget"))


@dataclass(slots=True)
class Response:
    """One DAV:response of a multistatus: found properties, missing ones, or a bare status."""

    href: str
    found: list[ET.Element] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)  # PROPPATCH: what was not done, why
    status: int | None = None  # a response without properties (404 in sync-collection)
    text: str | None = None  # the whole DAV:response, written already (props.describe_items)


@dataclass(frozen=True, slots=True)
class Refusal:
    """Properties a PROPPATCH did not change, with one status (403, 409, 424), the precondition
    that failed if there is one (RFC 4918 §16, in the propstat's DAV:error) and why."""

    status: int
    names: list[str]
    condition: tuple[str, str] | None = None
    description: str | None = None


_REASONS = {
    200: "OK",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    424: "Failed Dependency",
    507: "Insufficient Storage",
}


def status_line(code: int) -> str:
    return f"HTTP/1.1 {code} {_REASONS.get(code, '')}".rstrip()


def element(
    namespace: str, name: str, text: str | None = None, *children: ET.Element
) -> ET.Element:
    node = ET.Element(tag(namespace, name))
    if text is not None:
        node.text = text
    node.extend(children)
    return node


def href(value: str) -> ET.Element:
    return element(DAV, "href", value)


def multistatus(responses: Iterable[Response], *, sync_token: str | None = None) -> bytes:
    """A DAV:multistatus, written as text: for a calendar of thousands of items, building an
    element tree and serializing it cost several times more than the answer's database work."""
    prefixes = dict(PREFIXES)
    out: list[str] = []
    for item in responses:
        if item.text is not None:
            out.append(item.text)
            continue
        out.append(f"<d:response><d:href>{escape(item.href)}</d:href>")
        if item.status is not None:
            out.append(f"<d:status>{status_line(item.status)}</d:status></d:response>")
            continue
        groups = [Refusal(200, []), Refusal(404, item.missing), *item.refused]
        for index, group in enumerate(groups):
            found = item.found if index == 0 else ()
            if not found and not group.names:
                continue
            out.append("<d:propstat><d:prop>")
            for prop in found:
                _write(prop, out, prefixes)
            for name in group.names:
                out.append(f"<{_name(name, prefixes)}/>")
            out.append(f"</d:prop><d:status>{status_line(group.status)}</d:status>")
            if group.condition is not None:
                out.append("<d:error>")
                _write(element(*group.condition), out, prefixes)
                out.append("</d:error>")
            if group.description:
                out.append(f"<d:responsedescription>{escape(group.description)}")
                out.append("</d:responsedescription>")
            out.append("</d:propstat>")
        out.append("</d:response>")
    if sync_token is not None:
        out.append(f"<d:sync-token>{escape(sync_token)}</d:sync-token>")
    declared = " ".join(f'xmlns:{p}="{escape(uri, _QUOTES)}"' for uri, p in prefixes.items())
    head = f'<?xml version="1.0" encoding="utf-8"?>\n<d:multistatus {declared}>'
    return (head + "".join(out) + "</d:multistatus>").encode()


def qualified(name: str, prefixes: dict[str, str]) -> str:
    """A property's `{namespace}name` as `prefix:name`, with the prefixes of `multistatus`
    (a namespace it does not know gets the next `xN`, added to `prefixes`)."""
    return _name(name, prefixes)


def text_of(node: ET.Element) -> str:
    """An element as `multistatus` writes it, with its prefixes (PREFIXES)."""
    out: list[str] = []
    _write(node, out, dict(PREFIXES))
    return "".join(out)


PROPSTAT_OK = (
    "<d:propstat><d:prop>",
    f"</d:prop><d:status>{status_line(200)}</d:status></d:propstat>",
)
PROPSTAT_MISSING = (
    "<d:propstat><d:prop>",
    f"</d:prop><d:status>{status_line(404)}</d:status></d:propstat>",
)


def error(conditions: Sequence[ET.Element], detail: str | None = None) -> bytes:
    """A DAV:error body naming the failed precondition (RFC 4918 §16)."""
    root = ET.Element(tag(DAV, "error"))
    root.extend(conditions)
    if detail:
        ET.SubElement(root, tag(DAV, "responsedescription")).text = detail
    return _serialize(root)


PREFIXES = {DAV: "d", CALDAV: "c", CS: "cs", ICAL: "ical"}


def _serialize(root: ET.Element) -> bytes:
    return (
        b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode").encode()
    )


def _name(qualified: str, prefixes: dict[str, str]) -> str:
    if not qualified.startswith("{"):
        return qualified
    uri, _, local = qualified[1:].partition("}")
    prefix = prefixes.get(uri)
    if prefix is None:
        prefix = prefixes[uri] = f"x{len(prefixes)}"
    return f"{prefix}:{local}"


def _write(node: ET.Element, out: list[str], prefixes: dict[str, str]) -> None:
    name = _name(node.tag, prefixes)
    attrs = "".join(f' {_name(k, prefixes)}="{escape(v, _QUOTES)}"' for k, v in node.attrib.items())
    if len(node) == 0:
        if node.text is None:
            out.append(f"<{name}{attrs}/>")
        else:
            out.append(f"<{name}{attrs}>{escape(node.text)}</{name}>")
        return
    out.append(f"<{name}{attrs}>")
    if node.text:
        out.append(escape(node.text))
    for child in node:
        _write(child, out, prefixes)
    out.append(f"</{name}>")


_QUOTES = {'"': "&quot;"}
