"""Storage: the schema, its migrations and the repository, the only place with SQL."""

from tastebud.store.database import Database
from tastebud.store.repository import Repository

__all__ = ["Database", "Repository"]
