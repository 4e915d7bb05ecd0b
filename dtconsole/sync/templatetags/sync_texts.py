"""``{{ event.message|text:event.message_args }}``: a stored sentence in the reader's language."""

from django import template

from dtconsole.dingtalk_texts import translate
from dtconsole.sync.texts import render

register = template.Library()


@register.filter
def text(msgid: str, args=None) -> str:
    return render(msgid or "", args or {})


@register.filter
def catalogue(value: str) -> str:
    """A stored English text the catalogue knows (a default field name), in the reader's
    language; anything else (an admin's own name) as it is."""
    return translate(value or "")
