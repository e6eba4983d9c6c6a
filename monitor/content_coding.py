"""HTTP content codings: the ones the fetcher accepts, decoded with a cap on the decoded size.

The fetcher reads bodies as the server sent them and the parser processes decode them, so the
event loop neither inflates a feed nor copies the larger decoded body into a pipe. The cap
holds for the decoded size: a small body that inflates without end (a zip bomb) is stopped
after ``cap`` bytes.
"""

from __future__ import annotations

import zlib

#: what the fetcher asks for; anything else a server sends anyway cannot be read
ACCEPT_ENCODING = "gzip, deflate"
IDENTITY = "identity"


class TooLarge(Exception):
    """The decoded body is larger than the cap."""


class BadCoding(ValueError):
    """The body is not in the coding its Content-Encoding names, or that coding is unknown."""


def normalise(coding: str | None) -> str:
    """A Content-Encoding header value as compared here (``identity`` when absent)."""
    return (coding or "").strip().lower() or IDENTITY


def decode(body: bytes, coding: str | None, cap: int | None = None, partial: bool = False) -> bytes:
    """``body`` decoded from ``coding`` (gzip, deflate or identity).

    Raises ``TooLarge`` past ``cap`` decoded bytes and ``BadCoding`` for an unknown coding or
    corrupt data. ``partial``: only the opening of a body is wanted (an error page read in
    part): ``body`` may be cut short, and the result is cut at ``cap`` instead of refused.
    """
    coding = normalise(coding)
    if coding == IDENTITY or not body:  # an empty body says nothing about its coding
        decoded = body
    else:
        if coding in ("gzip", "x-gzip"):
            wbits = 16 + zlib.MAX_WBITS
        elif coding == "deflate":  # zlib-wrapped as the standard says, or raw as some servers do
            wbits = zlib.MAX_WBITS if _zlib_header(body) else -zlib.MAX_WBITS
        else:
            raise BadCoding(f"unsupported Content-Encoding: {coding}")
        inflater = zlib.decompressobj(wbits)
        try:
            decoded = inflater.decompress(body, 0 if cap is None else cap + 1)
        except zlib.error as exc:
            raise BadCoding(f"corrupt {coding} body ({exc})") from exc
        if not inflater.eof and not partial and (cap is None or len(decoded) <= cap):
            raise BadCoding(f"truncated {coding} body")
    if cap is not None and len(decoded) > cap:
        if partial:
            return decoded[:cap]
        raise TooLarge(f"body larger than {cap} bytes")
    return decoded


def _zlib_header(body: bytes) -> bool:
    """Whether ``body`` opens with a zlib header (RFC 1950: deflate, header checksum)."""
    return len(body) >= 2 and body[0] & 0x0F == 8 and (body[0] << 8 | body[1]) % 31 == 0
