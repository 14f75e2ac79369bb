"""Give the accounts list a column for account numbers.

Lists made by 0002 before numbers existed lack it; lists made since have
it already, and are left alone. The rows of accounts opened before then
get their numbers when those accounts are numbered (``manage.py
number_accounts`` records a ``NumberAssigned`` event for each, and the list
follows it).
"""

from __future__ import annotations

from typing import Any

from django.db import migrations


def add_number_column(apps: Any, schema_editor: Any) -> None:
    from esbank_site.persistence.read_models.migrating import (  # noqa: PLC0415
        change_accounts_list,
    )

    change_accounts_list(schema_editor, lambda view: view.add_number_column())


class Migration(migrations.Migration):
    # Not atomic, as 0001 to 0003: the view's own connection needs the locks.
    atomic = False
    dependencies = [("esbank_site", "0003_accounts_list_summary")]
    operations = [
        migrations.RunPython(add_number_column, migrations.RunPython.noop),
    ]
