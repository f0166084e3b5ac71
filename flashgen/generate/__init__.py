"""Generate: cards from posts."""

from flashgen.generate.offline import generate_offline

__all__ = ["generate_offline"]
