"""Storage: the schema, its migrations and the repository, the only place with SQL."""

from tastebud.store.database import connect
from tastebud.store.repository import Repository

__all__ = ["Repository", "connect"]
