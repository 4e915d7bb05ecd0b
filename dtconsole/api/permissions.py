"""Who may call the API: every answer needs a console role.

Writes are checked by the services they call (``dtconsole.access.services.require``); a
viewset also names the permission its writes need (``write_permission``, or per action in
``action_permissions``), so a refused caller gets the 403 before the body is even validated,
naming the role needed, exactly as the service would.
"""

from rest_framework.permissions import SAFE_METHODS, BasePermission

from dtconsole.access import roles
from dtconsole.access.services import AccessDenied, require


class HasRole(BasePermission):
    """An active user with a role; writes also need the viewset's write permission."""

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False  # DRF answers 401 with the authentication challenge
        require(user, roles.VIEW)
        needed = getattr(view, "action_permissions", {}).get(getattr(view, "action", None))
        if needed is None and request.method not in SAFE_METHODS:
            needed = getattr(view, "write_permission", None)
        if needed:
            require(user, needed)
        return True


__all__ = ["AccessDenied", "HasRole"]
