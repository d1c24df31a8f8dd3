"""The HTTP API (`kofu serve`): `create_app()` builds it (docs/API.md)."""
