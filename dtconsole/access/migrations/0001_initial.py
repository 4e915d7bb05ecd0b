from django.db import migrations


class Migration(migrations.Migration):
    initial = True

    dependencies = []

    operations = [
        migrations.CreateModel(
            name="Console",
            fields=[],
            options={
                "verbose_name": "console",
                "permissions": [
                    ("view_console", "Read every page and API answer (never a secret)"),
                    ("run_sync", "Start full, incremental and dry runs; re-push an object"),
                    ("decide_sync", "Approve, reject and cancel sync jobs"),
                    (
                        "change_directory",
                        "Change organisations, accounts and memberships; import CSV",
                    ),
                    (
                        "manage_providers",
                        "Bind and configure providers, field mappings and settings",
                    ),
                    ("manage_users", "Give console users their roles; deactivate them"),
                ],
                "managed": False,
                "default_permissions": (),
            },
        ),
    ]
