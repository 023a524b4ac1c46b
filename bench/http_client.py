"""A minimal asyncio HTTP/1.1 client for the load benches (``bench/morning.py``,
``bench/pos_load.py``).

The benches run the client on the same two cores as gunicorn and PostgreSQL, so what the
client costs per request is taken from the server it measures. httpx spent about 4.5 ms of CPU
per request here (connection pool, header models, its own parser); real browsers and tills run
elsewhere. This client does only what the benches need: one request per connection
(``Connection: close``, as gunicorn's sync workers answer anyway), the status, the headers
(``Set-Cookie`` more than once) and the body, with ``Content-Length`` or chunked bodies.
"""

from __future__ import annotations

import asyncio
import json as jsonlib
from urllib.parse import urlencode, urlsplit


class Headers:
    def __init__(self, items: list[tuple[str, str]]) -> None:
        self.items = items

    def get(self, name: str, default: str | None = None) -> str | None:
        values = self.get_list(name)
        return values[0] if values else default

    def get_list(self, name: str) -> list[str]:
        name = name.lower()
        return [value for key, value in self.items if key == name]


class Response:
    def __init__(self, status_code: int, headers: Headers, content: bytes) -> None:
        self.status_code = status_code
        self.headers = headers
        self.content = content

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")

    def json(self) -> object:
        return jsonlib.loads(self.content)


def _dechunk(body: bytes) -> bytes:
    out, rest = bytearray(), body
    while rest:
        size_line, _, rest = rest.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out += rest[:size]
        rest = rest[size + 2:]
    return bytes(out)


def parse(raw: bytes) -> Response:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    items = []
    for line in lines[1:]:
        key, _, value = line.partition(":")
        items.append((key.strip().lower(), value.strip()))
    headers = Headers(items)
    if (headers.get("transfer-encoding") or "").lower() == "chunked":
        body = _dechunk(body)
    elif (length := headers.get("content-length")) is not None:
        body = body[:int(length)]
    return Response(status, headers, body)


class Client:
    """``async with Client("http://127.0.0.1:8000", headers={...}) as client``; then
    ``await client.get(path, headers=...)`` and ``await client.post(path, data=... | json=...,
    headers=...)``."""

    def __init__(self, base_url: str, *, headers: dict[str, str] | None = None,
                 timeout: float = 120) -> None:
        parts = urlsplit(base_url)
        self.base_url = base_url.rstrip("/")
        self.host, self.port = parts.hostname, parts.port or 80
        self.headers = dict(headers or {})
        self.timeout = timeout

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    async def request(self, method: str, path: str, *, body: bytes = b"",
                      headers: dict[str, str] | None = None) -> Response:
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}",
                 "Connection: close", f"Content-Length: {len(body)}"]
        lines += [f"{k}: {v}" for k, v in {**self.headers, **(headers or {})}.items()]
        reader, writer = await asyncio.open_connection(self.host, self.port)
        try:
            writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
            raw = await asyncio.wait_for(reader.read(), self.timeout)  # to EOF: one request
        finally:
            writer.close()
        return parse(raw)

    async def get(self, path: str, *, headers: dict[str, str] | None = None) -> Response:
        return await self.request("GET", path, headers=headers)

    async def post(self, path: str, *, data: dict | None = None, json: object = None,
                   headers: dict[str, str] | None = None) -> Response:
        if json is not None:
            body = jsonlib.dumps(json).encode()
            kind = "application/json"
        else:
            body = urlencode(data or {}).encode()
            kind = "application/x-www-form-urlencoded"
        return await self.request("POST", path, body=body,
                                  headers={"Content-Type": kind, **(headers or {})})
