"""Site-wide web plumbing: the dashboard, the event stream, health,
middleware and guards.

The apps' own pages are in ``accounts/views.py`` and ``ledger/views.py``.
"""
