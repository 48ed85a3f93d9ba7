"""The catalog service's declarative base: its own MetaData, so it owns exactly its tables."""

from skreg_common.db import new_metadata
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    """Base of every catalog model."""

    metadata = new_metadata()
