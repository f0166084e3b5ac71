"""Generate: cards from posts, by the offline rules or by an LLM."""

from flashgen.generate.llm import generate_llm
from flashgen.generate.offline import generate_offline, generate_offline_all

__all__ = ["generate_llm", "generate_offline", "generate_offline_all"]
