"""Give the accounts list its one-row summary, added up from its rows.

The view keeps the summary with every row it changes; a list kept before
then has rows but no summary yet. Its table is created as 0002 creates the
others (through the view, ``CREATE TABLE IF NOT EXISTS``), then filled from
the rows while writers of rows wait. With a CIPHER_KEY the rows are sealed,
so they are opened with the bank's key, and the summary is sealed too.

Processes still running the code from before the summary change rows
without changing it: stop them before migrating, as for any schema change,
or rebuild the list afterwards (``manage.py rebuild_projection
AccountsList``); ``manage.py bank_audit`` reports a summary that disagrees
with the events.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations


def add_up_accounts_list(apps: Any, schema_editor: Any) -> None:
    from esbank_site.persistence.read_models.migrating import (  # noqa: PLC0415
        change_accounts_list,
    )

    change_accounts_list(schema_editor, lambda view: view.recount_summary())


class Migration(migrations.Migration):
    # Not atomic, as 0001 and 0002: the view's own connection needs the locks.
    atomic = False
    dependencies = [("esbank_site", "0002_projection_tables")]
    operations = [
        migrations.RunPython(add_up_accounts_list, migrations.RunPython.noop),
    ]
