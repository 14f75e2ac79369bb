"""The Accounts notification log of a bank elsewhere, read over HTTP.

``RemoteNotificationLog`` is the library's ``NotificationLogJSONClient``
over ``HTTPNotificationLogInterface``, a transport made with the standard
library's ``urllib.request``. It is a ``NotificationLog`` like the local
one, so the library's ``NotificationLogReader`` reads it section by section
exactly as it reads ``app.notification_log`` in-process.

Every failure becomes a ``FeedError`` whose message says what to check;
``TRANSIENT_ERRORS`` are the ones worth retrying later (the server is down,
slow, or answers 5xx). Redirects are never followed: the feed does not
redirect between sections, so a redirect means a wrong URL (the login page,
say), and following it would send the credentials along.
"""

from __future__ import annotations

import http.client
import json
from base64 import b64encode
from typing import IO, TYPE_CHECKING
from urllib.error import HTTPError, URLError
from urllib.parse import quote, urljoin, urlsplit
from urllib.request import (
    HTTPCookieProcessor,
    HTTPRedirectHandler,
    Request,
    build_opener,
)

from eventsourcing.application import LocalNotificationLog, Section
from eventsourcing.interface import NotificationLogInterface, NotificationLogJSONClient

if TYPE_CHECKING:
    from collections.abc import Sequence

    from eventsourcing.persistence import Notification

DEFAULT_TIMEOUT_SECONDS = 10.0

# A section of ten notifications is a few kilobytes; anything near this is
# not a section, and is not worth holding in memory.
MAX_RESPONSE_BYTES = 16 * 1024 * 1024


class FeedError(Exception):
    """Raised when the feed cannot be read; the message says why."""


class FeedUnreachableError(FeedError):
    """Raised when the server cannot be reached or does not answer in time."""


class FeedUnavailableError(FeedError):
    """Raised when the server answers with a 5xx status (try again later)."""


class FeedAuthenticationError(FeedError):
    """Raised when the server refuses the credentials (401)."""


class FeedForbiddenError(FeedError):
    """Raised when the user is known but may not read the feed (403)."""


class FeedResponseError(FeedError):
    """Raised when the answer is not a section of a notification log."""


TRANSIENT_ERRORS: tuple[type[FeedError], ...] = (
    FeedUnreachableError,
    FeedUnavailableError,
)


class _NoRedirects(HTTPRedirectHandler):
    """Turn every redirect into an ``HTTPError`` instead of following it."""

    def redirect_request(  # noqa: PLR0917 (urllib's signature)
        self,
        req: Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: http.client.HTTPMessage,
        newurl: str,
    ) -> None:
        return None


class HTTPNotificationLogInterface(NotificationLogInterface):
    """Serialised sections of a notification log, fetched from the staff feed.

    Every request carries HTTP Basic credentials; the session cookie the
    first answer sets is kept and sent back, so the server checks the
    password once per run rather than once per section.
    """

    def __init__(
        self,
        url: str,
        username: str,
        password: str,
        *,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            msg = (
                f"{url!r} is not the feed's URL: give an http(s) URL such as "
                "https://bank.example/staff/notifications/"
            )
            raise FeedError(msg)
        self.url = url if url.endswith("/") else f"{url}/"
        self.username = username
        self.timeout = timeout
        token = b64encode(f"{username}:{password}".encode()).decode("ascii")
        self._authorization = f"Basic {token}"
        self._opener = build_opener(_NoRedirects(), HTTPCookieProcessor())

    def get_log_section(self, section_id: str) -> str:
        return self._get(f"{quote(section_id, safe=',')}/")

    def get_notifications(
        self,
        start: int | None,
        limit: int,
        topics: Sequence[str] = (),
        *,
        inclusive_of_start: bool = True,
    ) -> str:
        msg = "The feed serves sections only; RemoteNotificationLog.select reads them."
        raise NotImplementedError(msg)

    def _get(self, path: str) -> str:
        """The body of the feed's answer at ``path``, or a ``FeedError``."""
        url = urljoin(self.url, path)
        request = Request(  # noqa: S310 (the scheme is checked in __init__)
            url,
            headers={
                "Authorization": self._authorization,
                "Accept": "application/json",
            },
        )
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                content_type = response.headers.get_content_type()
                body: bytes = response.read(MAX_RESPONSE_BYTES + 1)
        except HTTPError as error:
            with error:
                raise self._refusal(url, error) from error
        except (URLError, OSError, http.client.HTTPException) as error:
            reason = getattr(error, "reason", None) or error
            msg = f"Cannot reach {url}: {reason}."
            raise FeedUnreachableError(msg) from error
        if content_type != "application/json":
            msg = f"{url} answered {content_type}, not JSON: is it the feed's URL?"
            raise FeedResponseError(msg)
        if len(body) > MAX_RESPONSE_BYTES:
            msg = f"{url} answered more than {MAX_RESPONSE_BYTES} bytes."
            raise FeedResponseError(msg)
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError as error:
            msg = f"{url} answered JSON that is not UTF-8."
            raise FeedResponseError(msg) from error

    def _refusal(self, url: str, error: HTTPError) -> FeedError:
        """The ``FeedError`` that explains an error status from the server."""
        status = error.code
        said = _server_message(error)
        if status == 401:
            return FeedAuthenticationError(
                f"{url} refused the credentials of {self.username!r} (401): "
                f"check the user name and password.{said}"
            )
        if status == 403:
            return FeedForbiddenError(
                f"{self.username!r} may not read {url} (403): the feed is for "
                f"staff users.{said}"
            )
        if 300 <= status < 400:
            location = error.headers.get("Location", "elsewhere")
            return FeedResponseError(
                f"{url} redirected to {location} ({status}): is it the feed's URL?"
            )
        if status == 404:
            return FeedResponseError(
                f"Nothing at {url} (404): the feed is at /staff/notifications/ "
                "on the bank's site."
            )
        if status >= 500:
            return FeedUnavailableError(
                f"{url} answered {status} {error.reason}: the bank cannot serve "
                f"the feed right now.{said}"
            )
        return FeedResponseError(f"{url} answered {status} {error.reason}.{said}")


def _server_message(error: HTTPError) -> str:
    """The feed's own JSON explanation of an error, if it gave one."""
    try:
        explanation = json.loads(error.read(64 * 1024))["error"]
    except (ValueError, KeyError, TypeError, OSError):
        return ""
    return f" The server said: {explanation}"


class RemoteNotificationLog(NotificationLogJSONClient):
    """A notification log read through a serialising interface, such as HTTP.

    The library's JSON client decodes each section; this adds errors that
    say what went wrong, and a ``select`` made of sections, since the feed
    serves nothing else.
    """

    @classmethod
    def over_http(
        cls,
        url: str,
        username: str,
        password: str,
        *,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> RemoteNotificationLog:
        """The log served by the staff feed at ``url``."""
        return cls(
            HTTPNotificationLogInterface(url, username, password, timeout=timeout)
        )

    def __getitem__(self, section_id: str) -> Section:
        try:
            return super().__getitem__(section_id)
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            # json.loads, b64decode and UUID() raise ValueError; a body of
            # the wrong shape raises KeyError, TypeError or AttributeError.
            msg = (
                f"Section {section_id} is not a notification log section "
                f"({type(error).__name__}: {error})."
            )
            raise FeedResponseError(msg) from error

    def select(
        self,
        start: int | None,
        limit: int,
        stop: int | None = None,
        topics: Sequence[str] = (),
        *,
        inclusive_of_start: bool = True,
    ) -> list[Notification]:
        """Up to ``limit`` notifications from ``start``, read section by section."""
        first = start or 1
        if start is not None and not inclusive_of_start:
            first += 1
        selected: list[Notification] = []
        if limit <= 0:
            return selected
        section_id: str | None = LocalNotificationLog.format_section_id(
            first, first + limit - 1
        )
        while section_id is not None:
            section = self[section_id]
            for notification in section.items:
                if stop is not None and notification.id > stop:
                    return selected
                if not topics or notification.topic in topics:
                    selected.append(notification)
                    if len(selected) == limit:
                        return selected
            section_id = section.next_id
        return selected
