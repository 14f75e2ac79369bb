"""Give the accounts list a column saying whether an account is frozen.

Lists made before freezes lack it; lists made since have it already, and
are left alone. Rows already there read as not frozen, as every account
was then; the list follows each ``Frozen`` and ``Unfrozen`` event from now.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations


def add_frozen_column(apps: Any, schema_editor: Any) -> None:
    from esbank_site.persistence.read_models.migrating import (  # noqa: PLC0415
        change_accounts_list,
    )

    change_accounts_list(schema_editor, lambda view: view.add_frozen_column())


class Migration(migrations.Migration):
    # Not atomic, as 0001 to 0004: the view's own connection needs the locks.
    atomic = False
    dependencies = [("esbank_site", "0004_account_numbers")]
    operations = [
        migrations.RunPython(add_frozen_column, migrations.RunPython.noop),
    ]
