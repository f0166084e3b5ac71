"""flashgen: Telegram posts in, Anki decks out.

The public API, which the command line uses and nothing more: read the settings once,
read posts, build decks, judge cards, measure against gold facts, preview a request.

    from flashgen import build, load_settings
    settings = load_settings()
    result = build(["saved/"], "decks", generator=settings.generator, checks=settings.checks)
"""

from flashgen.client import ChatRequest, ModelClient, OpenAIClient, preload
from flashgen.config import load_settings
from flashgen.errors import FlashgenError, InputError
from flashgen.evaluate import EvalReport, format_report
from flashgen.group import DEFAULT_MAX_TOPICS, ROOT_DECK
from flashgen.models import BuildResult, Card, InputFormat, Post, ReadOptions, Verification
from flashgen.pipeline import CheckReport, build, check_file, evaluate_inputs, preview_request
from flashgen.review import ReviewServer, redirect_page, serve
from flashgen.settings import CheckConfig, GeneratorConfig, Settings, Topic
from flashgen.sources import read_posts

__all__ = [
    "DEFAULT_MAX_TOPICS",
    "ROOT_DECK",
    "BuildResult",
    "Card",
    "ChatRequest",
    "CheckConfig",
    "CheckReport",
    "EvalReport",
    "FlashgenError",
    "GeneratorConfig",
    "InputError",
    "InputFormat",
    "ModelClient",
    "OpenAIClient",
    "Post",
    "ReadOptions",
    "ReviewServer",
    "Settings",
    "Topic",
    "Verification",
    "build",
    "check_file",
    "evaluate_inputs",
    "format_report",
    "load_settings",
    "preload",
    "preview_request",
    "read_posts",
    "redirect_page",
    "serve",
]
__version__ = "0.1.0"
