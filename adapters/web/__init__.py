"""Audit web pages: printable HTML without JavaScript (`router`, mounted by the app).

The router brings no authentication of its own: the application that mounts it
puts it behind its auth dependency.
"""

from adapters.web import deps, forms, pages, years
from adapters.web.site import router

del forms, pages, years  # imported for their routes, which they add to `router`

__all__ = ["deps", "router"]
