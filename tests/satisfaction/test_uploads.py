"""The one upload sniffer: a file is what its first bytes say (no database)."""

from __future__ import annotations

import io
import random
import zipfile

import pytest

from satisfaction.uploads import sniff

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00"
       b"\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N"
       b"\x00\x00\x00\x00IEND\xaeB`\x82")
PAD = b"\x00" * 40
# The ftyp box of an MPEG-4 file with the generic brand "isom" (Android recorders write it).
FTYP_ISOM = b"\x00\x00\x00\x1cftypisom\x00\x00\x02\x00isomiso2mp41"


def _moov_with_handler(handler: bytes) -> bytes:
    """A movie box at the front of the file ("fast start") whose first track has ``handler``."""
    hdlr = b"\x00\x00\x00\x21hdlr" + b"\x00" * 8 + handler + b"\x00" * 13
    return b"\x00\x00\x01\x00moov\x00\x00\x00\x6cmvhd" + b"\x00" * 100 + hdlr


def _zip() -> bytes:
    # A fixed date: the bytes are a test id, and each xdist process must collect the same ids.
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(zipfile.ZipInfo("photo.jpg", date_time=(2026, 1, 1, 0, 0, 0)),
                         "not really")
    return buffer.getvalue()


@pytest.mark.parametrize(("head", "kind", "extension", "content_type"), [
    # Photos as phones take them and browsers show them.
    (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + PAD, "photo", "jpg", "image/jpeg"),
    (PNG, "photo", "png", "image/png"),
    (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + PAD, "photo", "heic", "image/heic"),
    (b"\x00\x00\x00\x18ftypheix\x00\x00\x00\x00mif1heix" + PAD, "photo", "heic", "image/heic"),
    (b"GIF89a\x01\x00\x01\x00" + PAD, "photo", "gif", "image/gif"),
    (b"RIFF\x24\x00\x00\x00WEBPVP8 " + PAD, "photo", "webp", "image/webp"),
    # Audio: what phones, messengers and recorder pens write.
    (b"ID3\x03\x00\x00\x00\x00\x00\x00" + PAD, "audio", "mp3", "audio/mpeg"),
    (b"\xff\xfb\x90\x64" + PAD, "audio", "mp3", "audio/mpeg"),
    (b"\xff\xfa\x90\x64" + PAD, "audio", "mp3", "audio/mpeg"),  # no ID3, CRC-protected frame
    (b"\xff\xe3\x18\xc4" + PAD, "audio", "mp3", "audio/mpeg"),  # no ID3, MPEG 2.5 frame
    (b"\xff\xf1\x50\x80" + PAD, "audio", "aac", "audio/aac"),
    (b"#!AMR\n" + PAD, "audio", "amr", "audio/amr"),
    (b"RIFF\x24\x00\x00\x00WAVEfmt " + PAD, "audio", "wav", "audio/wav"),
    (b"OggS\x00\x02" + PAD, "audio", "ogg", "audio/ogg"),  # WhatsApp/WeChat voice notes
    (b"\x00\x00\x00\x20ftypM4A \x00\x00\x00\x00M4A mp42isom" + PAD, "audio", "m4a", "audio/mp4"),
    (FTYP_ISOM + PAD, "audio", "m4a", "audio/mp4"),
    (b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00isommp42" + PAD, "audio", "m4a", "audio/mp4"),
    (FTYP_ISOM + _moov_with_handler(b"soun"), "audio", "m4a", "audio/mp4"),
    # PDF and video.
    (b"%PDF-1.7\n" + PAD, "pdf", "pdf", "application/pdf"),
    (b"\x00\x00\x00\x18ftypmp41\x00\x00\x00\x00mp41isom" + PAD, "video", "mp4", "video/mp4"),
    (FTYP_ISOM + _moov_with_handler(b"vide"), "video", "mp4", "video/mp4"),
])
def test_accepted_types_are_recognised_by_their_bytes(head, kind, extension, content_type):
    sniffed = sniff(head)
    assert sniffed is not None
    assert (sniffed.kind, sniffed.extension, sniffed.content_type) == (
        kind, extension, content_type)


def test_the_name_does_not_matter_a_png_renamed_pdf_is_a_photo():
    # sniff never sees the name: what a browser or a customer calls "scan.pdf" is what it holds.
    sniffed = sniff(PNG)
    assert sniffed is not None
    assert (sniffed.kind, sniffed.content_type) == ("photo", "image/png")


@pytest.mark.parametrize("head", [
    random.Random(20240601).randbytes(256),
    b"<!DOCTYPE html>\n<html><head><title>x</title></head><body></body></html>",
    _zip(),
    b"MZ\x90\x00" + b"\x00" * 60,
    b"hello, this is a text file renamed to photo.jpg",
    b"\x00\x00\x00\x1cftypM4V " + PAD,  # M4V video: attachments never took it
    b"BM\x3a\x00\x00\x00\x00\x00\x00\x00\x36\x00" + PAD,  # bitmap: not a phone photo
    b"8BPS\x00\x01" + PAD,  # Photoshop document
    b"fLaC\x00\x00\x00\x22" + PAD,
    b"",
])
def test_other_content_is_none(head):
    assert sniff(head) is None
