"""Each version's SKILL.md body rendered once, stored with the renderer version that made it."""

from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from skreg_catalog.database import Base


class RenderedBody(Base):
    """A version's body as sanitised HTML (without the partial notice, which is built on read).

    Versions are immutable, so a rendering stays right until the renderer changes:
    `renderer_version` older than `RENDERER_VERSION` means "re-render me"
    (`skreg_catalog.rendering.stored`). A separate table, not columns on versions: the
    many reads that load version rows never carry the HTML, and purging drops one row.
    """

    __tablename__ = "catalog_rendered_bodies"
    # The background pass looks for rows older than the current renderer.
    __table_args__ = (Index("ix_catalog_rendered_bodies_renderer_version", "renderer_version"),)

    version_id: Mapped[int] = mapped_column(
        ForeignKey("catalog_versions.id", ondelete="CASCADE"), primary_key=True
    )
    html: Mapped[str] = mapped_column(Text)
    source_bytes: Mapped[int] = mapped_column(Integer)  # the whole body, UTF-8
    rendered_bytes: Mapped[int] = mapped_column(Integer)  # how much of it was rendered
    plain: Mapped[bool] = mapped_column(Boolean, default=False)  # shown preformatted
    renderer_version: Mapped[int] = mapped_column(Integer)
    document: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    # Its BLAKE2b-128 (hex): the page's ETag hashes this and what changes, not the page.
    document_digest: Mapped[str | None] = mapped_column(String(32), default=None)
    document_version: Mapped[int | None] = mapped_column(Integer, default=None)
