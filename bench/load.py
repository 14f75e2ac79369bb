"""A small HTTP load generator: asyncio, one connection per request.

gunicorn's sync workers close the connection after every response, so each
request opens its own; the generator costs little CPU per request, which
matters on a two-core machine where it shares the cores with the server.
Every client sends its next request as soon as the previous one answered.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlencode

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

HOST = "127.0.0.1"


@dataclass
class Session:
    """A signed-in user, as a browser would carry it."""

    session_key: str
    csrf_token: str

    def headers(self) -> dict[str, str]:
        return {
            "Cookie": f"sessionid={self.session_key}; csrftoken={self.csrf_token}",
            "X-CSRFToken": self.csrf_token,
            "HX-Request": "true",
        }


def post(path: str, session: Session, form: Mapping[str, str]) -> bytes:
    """An htmx form POST, as the dashboard sends it."""
    body = urlencode(form).encode()
    return _request("POST", path, session, body)


def get(path: str, session: Session, *, htmx: bool = False) -> bytes:
    """A page (or, with ``htmx``, a fragment) request."""
    headers = session.headers()
    if not htmx:
        del headers["HX-Request"]
    return _request("GET", path, session, b"", headers)


def _request(
    method: str,
    path: str,
    session: Session,
    body: bytes,
    headers: Mapping[str, str] | None = None,
) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {HOST}", "Connection: close"]
    for name, value in (headers or session.headers()).items():
        lines.append(f"{name}: {value}")
    if method == "POST":
        lines.append("Content-Type: application/x-www-form-urlencoded")
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


@dataclass
class LoadResult:
    """What ``clients`` clients got in ``seconds``."""

    seconds: float
    statuses: Counter[int] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)

    @property
    def ok(self) -> int:
        return sum(n for status, n in self.statuses.items() if 200 <= status < 300)

    @property
    def rate(self) -> float:
        """Successful requests per second."""
        return self.ok / self.seconds


async def _send(port: int, raw: bytes) -> tuple[int, bytes]:
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        writer.write(raw)
        await writer.drain()
        response = await reader.read()
    finally:
        writer.close()
    try:
        status = int(response[9:12])
    except ValueError:
        status = 0  # the server closed without answering
    return status, response


async def _drive(
    port: int,
    make_request: Callable[[int], bytes],
    clients: int,
    seconds: float,
    requests: int | None,
) -> LoadResult:
    result = LoadResult(seconds)
    started = time.perf_counter()
    deadline = started + seconds
    budget = [requests] if requests is not None else None

    async def client(number: int) -> None:
        while time.perf_counter() < deadline:
            if budget is not None:
                if budget[0] <= 0:
                    return
                budget[0] -= 1
            raw = make_request(number)
            sent = time.perf_counter()
            try:
                status, _ = await _send(port, raw)
            except OSError:
                status = 0
            result.latencies.append(time.perf_counter() - sent)
            result.statuses[status] += 1

    await asyncio.gather(*(client(n) for n in range(clients)))
    result.seconds = time.perf_counter() - started
    return result


def drive(
    port: int,
    make_request: Callable[[int], bytes],
    *,
    clients: int,
    seconds: float,
    requests: int | None = None,
) -> LoadResult:
    """``clients`` clients sending ``make_request(client)`` for ``seconds``.

    With ``requests``, stop after that many in all, even before ``seconds``.
    """
    return asyncio.run(_drive(port, make_request, clients, seconds, requests))


def fetch(port: int, raw: bytes) -> tuple[int, bytes]:
    """One request, its status and the whole response."""
    return asyncio.run(_send(port, raw))
