"""``{{ value|readable }}``: a stored value as text (``dtconsole.readable``)."""

from typing import Any

from django import template

from dtconsole.readable import readable as as_text

register = template.Library()


@register.filter
def readable(value: Any) -> str:
    return as_text(value)
