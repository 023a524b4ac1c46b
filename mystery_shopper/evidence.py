"""Evidence files are recognised by their content, never by their name.

``filetype`` knows JPEG, PNG, HEIC, MP3, M4A, AAC, AMR and WAV; a few real-world variants it
misses are checked by magic bytes here (MP3 frames without an ID3 tag, and MPEG-4 audio whose
brand is ``isom``/``mp42`` as some Android recorders write it).
"""

from __future__ import annotations

from dataclasses import dataclass

import filetype

PHOTO_TYPES = {"jpg": "image/jpeg", "png": "image/png", "heic": "image/heic"}
AUDIO_TYPES = {"mp3": "audio/mpeg", "m4a": "audio/mp4", "aac": "audio/aac", "amr": "audio/amr",
               "wav": "audio/wav"}


@dataclass(frozen=True, slots=True)
class Sniffed:
    kind: str  # "photo" | "audio"
    extension: str
    content_type: str


def _magic(head: bytes) -> str | None:
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:
        layer = (head[1] >> 1) & 0x03
        if layer == 0:
            return "aac"
        return "mp3"
    if head[4:8] == b"ftyp" and head[8:12] in (b"M4A ", b"M4B ", b"isom", b"mp42", b"dash"):
        return "m4a"
    if head[4:8] == b"ftyp" and head[8:12] in (b"heic", b"heix", b"mif1", b"msf1", b"hevc"):
        return "heic"
    if head.startswith(b"#!AMR"):
        return "amr"
    return None


def sniff(head: bytes) -> Sniffed | None:
    """The evidence type of a file from its first bytes, or None if not an accepted type."""
    guess = filetype.guess(head)
    extension = guess.extension if guess is not None else None
    if extension not in PHOTO_TYPES and extension not in AUDIO_TYPES:
        extension = _magic(head)
    if extension in PHOTO_TYPES:
        return Sniffed("photo", extension, PHOTO_TYPES[extension])
    if extension in AUDIO_TYPES:
        return Sniffed("audio", extension, AUDIO_TYPES[extension])
    return None
