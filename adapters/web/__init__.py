"""Audit web pages: printable HTML without JavaScript (`router`, mounted by the app).

The router brings no authentication of its own: the application that mounts it
puts it behind its auth dependency.
"""

from adapters.web import deps, forms
from adapters.web.pages import router

del forms  # imported for its routes, which it adds to `router`

__all__ = ["deps", "router"]
