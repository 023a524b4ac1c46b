"""Evidence files are recognised by their content, never by their name.

The chain's one upload sniffer (``satisfaction.uploads``) says what a file is; evidence accepts
photos and audio recordings of it (so the same audio types as complaint attachments).
"""

from __future__ import annotations

from satisfaction.uploads import AUDIO, PHOTO, Sniffed
from satisfaction.uploads import sniff as sniff_upload

EVIDENCE_KINDS = frozenset({PHOTO, AUDIO})

__all__ = ["EVIDENCE_KINDS", "Sniffed", "sniff"]


def sniff(head: bytes) -> Sniffed | None:
    """The evidence type of a file from its first bytes, or None if not an accepted type."""
    sniffed = sniff_upload(head)
    if sniffed is None or sniffed.kind not in EVIDENCE_KINDS:
        return None
    return sniffed
