from django.apps import AppConfig


class DirectoryConfig(AppConfig):
    name = "dtconsole.directory"
    label = "directory"
    verbose_name = "Directory"
