"""Evidence is recognised by content, not name (no database)."""

import io

import pytest
from PIL import Image

from mystery_shopper.evidence import sniff
from tests.mystery_shopper.factories import jpeg_bytes, wav_bytes


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4)).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.mark.parametrize(("head", "kind", "extension"), [
    (jpeg_bytes(), "photo", "jpg"),
    (_png(), "photo", "png"),
    (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 40, "photo", "heic"),
    (wav_bytes(), "audio", "wav"),
    (b"ID3\x03\x00\x00\x00\x00\x00\x00" + b"\x00" * 40, "audio", "mp3"),
    (b"\xff\xfb\x90\x64" + b"\x00" * 40, "audio", "mp3"),
    (b"\xff\xf1\x50\x80" + b"\x00" * 40, "audio", "aac"),
    (b"#!AMR\n" + b"\x00" * 40, "audio", "amr"),
    (b"\x00\x00\x00\x20ftypM4A \x00\x00\x00\x00M4A mp42isom" + b"\x00" * 40, "audio", "m4a"),
    (b"\x00\x00\x00\x1cftypisom\x00\x00\x02\x00isomiso2mp41" + b"\x00" * 40, "audio", "m4a"),
])
def test_accepted_types_are_recognised_by_their_bytes(head, kind, extension):
    sniffed = sniff(head)
    assert sniffed is not None
    assert (sniffed.kind, sniffed.extension) == (kind, extension)


@pytest.mark.parametrize("head", [b"hello, this is a text file renamed to photo.jpg",
                                  b"%PDF-1.7\n" + b"\x00" * 40,
                                  b"MZ\x90\x00" + b"\x00" * 60, b"",
                                  # a video: complaint attachments take it, evidence does not
                                  b"\x00\x00\x00\x18ftypmp41\x00\x00\x00\x00mp41isom"
                                  + b"\x00" * 40])
def test_other_content_is_rejected(head):
    assert sniff(head) is None
