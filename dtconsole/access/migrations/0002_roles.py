"""The three roles as Django groups, each with exactly its permissions (roles.ROLES)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

ROLES = {
    "viewer": ["view_console"],
    "operator": ["view_console", "run_sync", "decide_sync"],
    "administrator": [
        "view_console",
        "run_sync",
        "decide_sync",
        "change_directory",
        "manage_providers",
        "manage_users",
    ],
}


def create_roles(apps, schema_editor):
    # Permissions are normally created after migrate; the groups need them now.
    config = apps.get_app_config("access")
    config.models_module = True
    create_permissions(config, apps=apps, verbosity=0)
    config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in ROLES.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.set(
            Permission.objects.filter(content_type__app_label="access", codename__in=codenames)
        )


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("access", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
