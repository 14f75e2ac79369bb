"""The bridge to Django's database: where the events and the read models live.

Django's ``DATABASES["default"]`` becomes the library's environment here,
and the library's SQLite and PostgreSQL modules are adjusted through the
hooks it offers (``PERSISTENCE_MODULE``, ``MAPPER_TOPIC``): a table set per
application on SQLite, lock timeouts that give up on PostgreSQL, events
sealed to their rows, and the SQL of the accounts list.
"""
