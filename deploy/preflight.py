"""`make serve`'s (and the web unit's) first step: refuse production without its secrets.

Reads the environment and the file ENV_FILE names, as the settings do, and says in one
sentence what is missing, instead of a traceback from the first command that loads the
settings. Then loads the settings, so a malformed key is reported the same way.
"""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REQUIRED = ("SECRET_KEY", "CREDENTIALS_KEY")


def main() -> int:
    import environ
    from django.core.exceptions import ImproperlyConfigured

    environ.Env.read_env(os.environ.get("ENV_FILE") or str(ROOT / ".env"), overwrite=False)
    missing = [name for name in REQUIRED if not os.environ.get(name)]
    if missing:
        print(
            f"make serve: {' and '.join(missing)} must be set in the environment (or in the "
            "file ENV_FILE names) to run with DEBUG off; see .env.example for how to "
            "generate them.",
            file=sys.stderr,
        )
        return 1
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dtconsole.settings")
    try:
        import django

        django.setup()
    except ImproperlyConfigured as exc:
        print(f"make serve: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
