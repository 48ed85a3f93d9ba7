"""Rendering published text (SKILL.md bodies, files) to safe HTML at a bounded cost."""

from skreg_catalog.rendering.markdown import Rendered, render_markdown
from skreg_catalog.rendering.pool import RenderLimits, RenderPool

__all__ = ["RenderLimits", "RenderPool", "Rendered", "render_markdown"]
