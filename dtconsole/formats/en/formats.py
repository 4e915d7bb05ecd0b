"""English: "1 Dec 2026, 09:30:05 UTC+0800"; short: "2026-12-01 09:30 UTC+0800"."""

DATETIME_FORMAT = r"j M Y, H:i:s \U\T\CO"
SHORT_DATETIME_FORMAT = r"Y-m-d H:i \U\T\CO"
