"""The API's request body parser: DRF's JSON parser, refusing bodies nested too deeply.

``json.loads`` raises RecursionError (not ValueError) on a body nested some hundreds of levels
deep, which DRF's parser lets through as a 500; here it is the same 400 as any bad body.
"""

from typing import Any

from django.utils.translation import gettext as _
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


class BoundedJSONParser(JSONParser):
    """JSONParser whose too-deep bodies answer 400 instead of 500."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise ParseError(_("JSON parse error - the body nests too deeply.")) from exc
