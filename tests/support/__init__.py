"""Helpers shared by the test suites; fixtures stay in the conftest.py files.

- ``databases``: the PostgreSQL test server, throwaway databases on it, and
  a fresh bank on a test database (``fresh_bank``, ``erase_events``);
- ``rawdb``: raw SQL and locks on a test database, from outside the bank;
- ``spies``: spies on an application's store;
- ``http``: the htmx header and signed-in Django test clients;
- ``html``: elements of an HTML page, found whatever their attributes' order;
- ``processes``: the bank's processes (gunicorn, ``run_processors``) started
  from a test, and their ``/health/``;
- ``netns``: "machines" as network namespaces, links to cut or impair, and a
  PostgreSQL cluster of a test's own;
- ``traffic``: money moved from the test process, and the exactly-once check;
- ``http_workload``: real HTTP clients against a real server, and the checks
  made afterwards;
- ``browser``: logging in and watching for reloads in a real Chromium;
- ``feed``: the staff feed's credentials and a bank with some history.
"""
