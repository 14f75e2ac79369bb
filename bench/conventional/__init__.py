"""The conventional way, for comparison: a balance column and a row per movement.

Installed only by ``bench.settings``, never by the site. It serves the same
deposit and transfer requests as the event-sourced bank (same middleware,
forms, idempotency tokens, templates and answers) from two ordinary tables:
each command locks the account rows with ``select_for_update``, updates the
balance and inserts one row per movement, in one transaction.
"""
