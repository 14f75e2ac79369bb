"""Spies on an application's store: events read, replies lost after a commit."""

from __future__ import annotations

from typing import Any

import pytest
from eventsourcing.persistence import IntegrityError


def count_events_read(recorder: Any, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many events each ``select_events`` call returns, from now on."""
    real_select_events = recorder.select_events
    read: list[int] = []

    def counting_select_events(*args: Any, **kwargs: Any) -> Any:
        events = real_select_events(*args, **kwargs)
        read.append(len(events))
        return events

    monkeypatch.setattr(recorder, "select_events", counting_select_events)
    return read


def lose_the_first_reply(accounts: Any, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The first save commits, then fails as if the connection had dropped.

    The library's retry of the insert then collides with what committed,
    as ``IntegrityError``. Returns the recordings that were committed.
    """
    real_save = accounts.save
    lost: list[Any] = []

    def save_then_lose_the_reply(*objs: Any, **kwargs: Any) -> Any:
        recordings = real_save(*objs, **kwargs)
        if not lost:
            lost.append(recordings)
            raise IntegrityError
        return recordings

    monkeypatch.setattr(accounts, "save", save_then_lose_the_reply)
    return lost
