"""Rendering published text (SKILL.md bodies, files) to safe HTML at a bounded cost."""

from skreg_catalog.rendering.markdown import RENDERER_VERSION, Rendered, render_markdown
from skreg_catalog.rendering.pool import RenderLimits, RenderPool, RenderUnavailable

__all__ = [
    "RENDERER_VERSION",
    "RenderLimits",
    "RenderPool",
    "RenderUnavailable",
    "Rendered",
    "render_markdown",
]
