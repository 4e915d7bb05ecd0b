"""`python -m connectors.dingtalk.sandbox` runs the sandbox CLI."""

import sys

from .cli import main

sys.exit(main())
