"""flashgen: Telegram posts in, Anki decks out."""

from flashgen.errors import FlashgenError, InputError
from flashgen.models import Card, Post
from flashgen.sources import read_posts

__all__ = ["Card", "FlashgenError", "InputError", "Post", "read_posts"]
__version__ = "0.1.0"
