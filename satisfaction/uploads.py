"""Uploaded files are recognised by their content, never by their name or declared type.

The one sniffer for every upload of the chain: mystery-shopper evidence accepts photos and audio,
complaint attachments accept photos, audio, PDF and video. Each caller decides which kinds it
accepts; this module decides what a file is.

``filetype`` knows most formats; a few real-world variants it misses are checked by magic bytes
here (MP3 frames without an ID3 tag, MPEG-4 audio whose brand is ``isom``/``mp42`` as some
Android recorders write it, and HEIC brands it does not know). An MPEG-4 file with such a
generic brand is audio unless a video track shows in the bytes given (its index is at the front
of "fast start" files): pass a few kilobytes to tell the two apart.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import filetype

PHOTO = "photo"
AUDIO = "audio"
PDF = "pdf"
VIDEO = "video"
KINDS = frozenset({PHOTO, AUDIO, PDF, VIDEO})

# Photos as phones take and send them, and browsers show them (HEIC: iPhones); drawings,
# raw camera files and editor formats are not photos of a store.
PHOTO_TYPES = {"jpg": "image/jpeg", "png": "image/png", "heic": "image/heic",
               "gif": "image/gif", "webp": "image/webp"}
# Phone recorders and messengers: iOS (M4A), Android (M4A/AMR/AAC), WeChat/WhatsApp voice
# notes (AMR, OGG), recorder pens (MP3, WAV).
AUDIO_TYPES = {"mp3": "audio/mpeg", "m4a": "audio/mp4", "aac": "audio/aac", "amr": "audio/amr",
               "wav": "audio/wav", "ogg": "audio/ogg"}
PDF_TYPES = {"pdf": "application/pdf"}
VIDEO_TYPES = {"mp4": "video/mp4"}

_TYPES = {**{ext: (PHOTO, mime) for ext, mime in PHOTO_TYPES.items()},
          **{ext: (AUDIO, mime) for ext, mime in AUDIO_TYPES.items()},
          **{ext: (PDF, mime) for ext, mime in PDF_TYPES.items()},
          **{ext: (VIDEO, mime) for ext, mime in VIDEO_TYPES.items()}}

# An ISO-BMFF handler box ("hdlr": version and flags, pre_defined, then the handler type).
_VIDEO_HANDLER = re.compile(rb"hdlr.{8}vide", re.DOTALL)


@dataclass(frozen=True, slots=True)
class Sniffed:
    kind: str  # "photo" | "audio" | "pdf" | "video"
    extension: str
    content_type: str


def _magic(head: bytes) -> str | None:
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:
        layer = (head[1] >> 1) & 0x03
        if layer == 0:
            return "aac"
        return "mp3"
    if head[4:8] == b"ftyp" and head[8:12] in (b"M4A ", b"M4B ", b"isom", b"mp42", b"dash"):
        return "mp4" if _VIDEO_HANDLER.search(head) else "m4a"
    if head[4:8] == b"ftyp" and head[8:12] in (b"heic", b"heix", b"mif1", b"msf1", b"hevc"):
        return "heic"
    if head.startswith(b"#!AMR"):
        return "amr"
    return None


def sniff(head: bytes) -> Sniffed | None:
    """What a file is from its first bytes, or None if it is none of the kinds above.

    ``filetype`` first; what it does not recognise as an accepted type goes to the magic-byte
    checks, and only then is an MPEG-4 file that ``filetype`` calls video taken as a video (its
    generic brands are shared with audio recordings).
    """
    guess = filetype.guess(head)
    extension = guess.extension if guess is not None else None
    if extension not in _TYPES or extension in VIDEO_TYPES:
        extension = _magic(head) or extension
    if extension not in _TYPES:
        return None
    kind, content_type = _TYPES[extension]
    return Sniffed(kind, extension, content_type)
