"""Who acts, and for how long a token may let them.

Light on purpose: the command line's options name them before anything heavy loads.
"""

from __future__ import annotations

from typing import Literal

Role = Literal["insurer", "prefecture", "ministry", "auditor", "reader"]
ROLES: tuple[Role, ...] = ("insurer", "prefecture", "ministry", "auditor", "reader")
DEFAULT_TOKEN_DAYS = 90
"""How long a token issued without a chosen lifetime lasts."""
MAX_TOKEN_DAYS = 3660
"""The longest a token may last (a bounded lifetime)."""
