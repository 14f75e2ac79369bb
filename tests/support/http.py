"""The htmx request header, and Django test clients with a user signed in."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.test import Client

if TYPE_CHECKING:
    from django.contrib.auth.models import User

# The header htmx sends with every request it makes.
HX = {"HX-Request": "true"}


def signed_in(user: User, **kwargs: object) -> Client:
    """A test client with ``user`` logged in."""
    client = Client(**kwargs)  # type: ignore[arg-type]
    client.force_login(user)
    return client
