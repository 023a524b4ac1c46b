"""Printable QR posters for the counter (SVG and PNG, the store's name on them), via segno."""

from __future__ import annotations

import io
from pathlib import Path
from xml.sax.saxutils import escape

import segno
from django.conf import settings
from PIL import Image, ImageDraw, ImageFont

from satisfaction.models import Store

POSTER_TITLE = "顾客满意度调查 · Customer survey"
POSTER_HINT = "扫码评价本店服务 · Scan to rate our service"
# Font candidates for the PNG (SVG leaves fonts to the printer's browser).
FONT_PATHS = [
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
]


def _qr(url: str) -> segno.QRCode:
    return segno.make(url, error="m", micro=False)


def qr_svg_inline(payload: str) -> str:
    """An inline <svg> of a QR code (for pages showing a receipt invitation)."""
    return _qr(payload).svg_inline(scale=5, border=2)


def poster_svg(*, store: Store, url: str) -> bytes:
    data_uri = _qr(url).svg_data_uri(scale=10, border=2)
    width, height = 600, 860
    name = escape(f"{store.name}（{store.code}）")
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}">'
        f'<rect width="100%" height="100%" fill="#ffffff"/>'
        f'<rect x="0" y="0" width="{width}" height="90" fill="#0b7a53"/>'
        f'<text x="300" y="58" font-size="30" text-anchor="middle" fill="#ffffff" '
        f'font-family="PingFang SC, Microsoft YaHei, Noto Sans CJK SC, sans-serif">'
        f'{escape(POSTER_TITLE)}</text>'
        f'<text x="300" y="150" font-size="34" text-anchor="middle" fill="#1f2933" '
        f'font-weight="bold" font-family="PingFang SC, Microsoft YaHei, Noto Sans CJK SC, '
        f'sans-serif">{name}</text>'
        f'<image x="100" y="190" width="400" height="400" href="{data_uri}"/>'
        f'<text x="300" y="650" font-size="24" text-anchor="middle" fill="#1f2933" '
        f'font-family="PingFang SC, Microsoft YaHei, Noto Sans CJK SC, sans-serif">'
        f'{escape(POSTER_HINT)}</text>'
        f'<text x="300" y="700" font-size="18" text-anchor="middle" fill="#6b7785" '
        f'font-family="monospace">{escape(url)}</text>'
        f'</svg>')
    return svg.encode()


def _font(size: int) -> ImageFont.ImageFont:
    for path in [*getattr(settings, "SURVEY_POSTER_FONTS", []), *FONT_PATHS]:
        if Path(path).exists():
            return ImageFont.truetype(path, size)
    return ImageFont.load_default(size)


def poster_png(*, store: Store, url: str) -> bytes:
    buffer = io.BytesIO()
    _qr(url).save(buffer, kind="png", scale=16, border=2)
    code_image = Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")
    code_image = code_image.resize((800, 800), Image.Resampling.NEAREST)
    poster = Image.new("RGB", (1200, 1720), "white")
    draw = ImageDraw.Draw(poster)
    draw.rectangle((0, 0, 1200, 180), fill="#0b7a53")
    draw.text((600, 90), POSTER_TITLE, font=_font(56), fill="white", anchor="mm")
    draw.text((600, 290), f"{store.name}（{store.code}）", font=_font(68), fill="#1f2933",
              anchor="mm")
    poster.paste(code_image, (200, 380))
    draw.text((600, 1290), POSTER_HINT, font=_font(46), fill="#1f2933", anchor="mm")
    draw.text((600, 1380), url, font=_font(32), fill="#6b7785", anchor="mm")
    out = io.BytesIO()
    poster.save(out, format="PNG", optimize=True)
    return out.getvalue()
