"""``charter server --demo``: seed the demo workspace (``charter.demo``) on first start."""

from __future__ import annotations

from ..demo import SeedReport, seed

__all__ = ["SeedReport", "seed"]
