"""``{{ event.message|text:event.message_args }}``: a stored sentence in the reader's language."""

from django import template

from dtconsole.sync.texts import render

register = template.Library()


@register.filter
def text(msgid: str, args=None) -> str:
    return render(msgid or "", args or {})
