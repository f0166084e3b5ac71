"""The one model client: chat and embeddings over any OpenAI-compatible server.

Everything flashgen asks a model — cards for a post, the merging of topic labels,
embeddings for the duplicate search — goes through a `ModelClient`, so the library takes
one client as a parameter and tests hand in an in-memory one. `OpenAIClient` is the only
place that builds an `openai` SDK client: its retries of 429, 5xx and timeouts (honouring
`retry-after`), its errors turned into flashgen's, and a count of the HTTP requests it
really sent, retries included.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from flashgen.errors import LLMError, ModeRejected, RequestFailed
from flashgen.settings import ConcreteMode, GeneratorConfig

Message = dict[str, str]

# Local servers want some bearer token, and ignore it.
NO_KEY = "no-key"
# Words in an error body that say the server refused the response_format, not the post.
_MODE_HINTS = ("response_format", "json_schema", "json_object", "schema", "grammar")


@dataclass(frozen=True)
class ChatRequest:
    """Exactly what is sent for one turn of one conversation."""

    model: str
    messages: tuple[Message, ...]
    mode: ConcreteMode
    temperature: float
    max_tokens: int
    # The JSON schema the reply must follow: enforced (json_schema), handed over with
    # json_object (llama-cpp-python turns it into a grammar), or only in the prompt.
    schema: dict[str, Any] | None = None
    schema_name: str = "cards"

    def response_format(self) -> dict[str, Any] | None:
        if self.mode == "json_schema" and self.schema is not None:
            return {
                "type": "json_schema",
                "json_schema": {"name": self.schema_name, "schema": self.schema, "strict": True},
            }
        if self.mode == "json_object":
            if self.schema is None:
                return {"type": "json_object"}
            return {"type": "json_object", "schema": self.schema}
        return None

    def body(self) -> dict[str, Any]:
        """The JSON body of the chat-completions request."""
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [dict(m) for m in self.messages],
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
        }
        response_format = self.response_format()
        if response_format is not None:
            body["response_format"] = response_format
        return body

    def render_text(self) -> str:
        """The request as a person reviews it: each message, then the response format."""
        out = [
            f"# model {self.model} · structured output {self.mode} · "
            f"temperature {self.temperature} · max_tokens {self.max_tokens}"
        ]
        for message in self.messages:
            out.append(f"\n--- {message['role']} ---\n{message['content']}")
        response_format = self.response_format()
        if response_format is not None:
            dumped = json.dumps(response_format, ensure_ascii=False, indent=2)
            out.append(f"\n--- response_format ---\n{dumped}")
        return "\n".join(out) + "\n"


@dataclass(frozen=True)
class ChatReply:
    """What came back for one request."""

    content: str
    finish_reason: str | None = "stop"
    refusal: str | None = None
    tokens_in: int = 0
    tokens_out: int = 0
    raw: str | None = None  # the server's JSON body, for the cache


class ModelClient(Protocol):
    """What flashgen needs of a model server: the OpenAI SDK, or a fake in tests.

    `complete` is for many conversations at once in one event loop; `chat` and `embed`
    are for single calls outside one. Failures are RequestFailed (this call failed),
    ModeRejected (the structured-output mode was refused) or LLMError (the server cannot
    be used at all).
    """

    chat_requests: int  # chat requests sent so far, retries included
    embedding_requests: int

    async def complete(self, request: ChatRequest) -> ChatReply: ...

    def chat(self, request: ChatRequest) -> ChatReply: ...

    def embed(self, model: str, texts: Sequence[str]) -> list[list[float]]: ...

    async def aclose(self) -> None: ...

    def close(self) -> None: ...


class OpenAIClient:
    """A ModelClient over the `openai` SDK; its clients are made on first use."""

    def __init__(self, config: GeneratorConfig) -> None:
        self.config = config
        self.base_url = config.base_url or "https://api.openai.com/v1"
        self.chat_requests = 0
        self.embedding_requests = 0
        self._secret = config.api_key.get_secret_value() if config.api_key else None
        self._lock = threading.Lock()
        self._async: Any = None
        self._sync: Any = None

    def _count(self, path: str) -> None:
        with self._lock:
            if path.endswith("/embeddings"):
                self.embedding_requests += 1
            else:
                self.chat_requests += 1

    def _options(self) -> dict[str, Any]:
        return {
            "api_key": self._secret or NO_KEY,
            "base_url": self.config.base_url,
            "timeout": self.config.timeout,
            "max_retries": self.config.max_retries,
        }

    def _async_client(self) -> Any:
        if self._async is None:
            import openai  # imported here: the offline path should not pay for it

            hooks = _deadline_hooks(self.config.timeout, self._count, asynchronous=True)
            http = openai.DefaultAsyncHttpxClient(event_hooks=hooks)
            self._async = openai.AsyncOpenAI(**self._options(), http_client=http)
        return self._async

    def _sync_client(self) -> Any:
        if self._sync is None:
            import openai

            hooks = _deadline_hooks(self.config.timeout, self._count, asynchronous=False)
            http = openai.DefaultHttpxClient(event_hooks=hooks)
            self._sync = openai.OpenAI(**self._options(), http_client=http)
        return self._sync

    async def complete(self, request: ChatRequest) -> ChatReply:
        body = request.body()
        with self._errors("response_format" in body):
            # The SDK's generic POST keeps its retries, retry-after, timeouts and typed
            # errors, but skips re-walking every message through its TypedDict transforms
            # and building response models: at a thousand requests those cost more than
            # the answers do. It also sends json_object with a schema, outside its types.
            client = self._async_client()
            data = await client.post("/chat/completions", cast_to=object, body=body)
        return self._reply(data)

    def chat(self, request: ChatRequest) -> ChatReply:
        body = request.body()
        with self._errors("response_format" in body):
            data = self._sync_client().post("/chat/completions", cast_to=object, body=body)
        return self._reply(data)

    def embed(self, model: str, texts: Sequence[str]) -> list[list[float]]:
        with self._errors(False):
            # Floats, not the SDK's default base64: llama.cpp and others answer floats only.
            body = {"model": model, "input": list(texts), "encoding_format": "float"}
            data = self._sync_client().post("/embeddings", cast_to=object, body=body)
        try:
            items = sorted(data["data"], key=lambda item: item["index"])
            vectors = [[float(x) for x in item["embedding"]] for item in items]
        except (KeyError, TypeError, ValueError) as exc:
            raise RequestFailed(f"unreadable embeddings from {self.base_url} ({exc})") from exc
        if len(vectors) != len(texts) or any(len(v) != len(vectors[0]) or not v for v in vectors):
            raise RequestFailed(
                f"expected {len(texts)} vectors of one size from {self.base_url}, "
                f"got {len(vectors)}"
            )
        return vectors

    def _reply(self, data: Any) -> ChatReply:
        """The reply in a chat-completions body; any other shape is this request's failure."""
        if not isinstance(data, dict):
            raise RequestFailed("the server's answer is not a JSON object")
        choices = data.get("choices")
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            raise RequestFailed("the server answered with no choices")
        choice = choices[0]
        message = choice.get("message")
        if not isinstance(message, dict):
            raise RequestFailed("the server's choice holds no message")
        usage = data.get("usage")
        if not isinstance(usage, dict):
            usage = {}
        content, refusal = message.get("content"), message.get("refusal")
        finish = choice.get("finish_reason")
        return ChatReply(
            content=content if isinstance(content, str) else "",
            finish_reason=finish if isinstance(finish, str) else None,
            refusal=refusal if isinstance(refusal, str) else None,
            tokens_in=_count(usage.get("prompt_tokens")),
            tokens_out=_count(usage.get("completion_tokens")),
            raw=json.dumps(data, ensure_ascii=False),
        )

    @contextlib.contextmanager
    def _errors(self, has_format: bool) -> Iterator[None]:
        """The SDK's exceptions, as flashgen's: what failed, on one line, the key blanked."""
        import openai

        try:
            yield
        except openai.APITimeoutError as exc:
            # A response that took longer than --timeout from request to last byte.
            limit = f"{self.config.timeout:g} s"
            raise RequestFailed(f"no answer within the timeout of {limit}") from exc
        except openai.APIConnectionError as exc:
            import httpx2 as httpx

            # Refused or unresolvable: the server cannot be used. Dropped after connecting
            # (a reset, a proxy that hangs up): only this request failed.
            refused = isinstance(exc.__cause__, httpx.ConnectError | httpx.ConnectTimeout)
            if refused:
                reason = f"cannot connect to {self.base_url} ({exc.__cause__ or exc})"
            else:
                reason = f"the connection to {self.base_url} was dropped ({exc.__cause__ or exc})"
            raise RequestFailed(self.blank(reason), connection=refused) from exc
        except openai.APIStatusError as exc:
            message = self.blank(error_text(exc))
            raise status_error(exc.status_code, message, has_format) from exc
        except (openai.APIError, ValueError) as exc:  # a body that is not JSON, say
            reason = f"unreadable answer from {self.base_url} ({type(exc).__name__}: {exc})"
            raise RequestFailed(self.blank(" ".join(reason.split())[:300])) from exc

    def blank(self, text: str) -> str:
        """The text with the API key blanked out, wherever it came from."""
        return text.replace(self._secret, "***") if self._secret else text

    async def aclose(self) -> None:
        if self._async is not None:
            await self._async.close()
            self._async = None

    def close(self) -> None:
        if self._sync is not None:
            self._sync.close()
            self._sync = None


def _deadline_hooks(seconds: float, count: Any, *, asynchronous: bool) -> dict[str, list[Any]]:
    """httpx event hooks that count each request sent and give each response `seconds`
    from its request to its last byte.

    The SDK's timeout bounds each wait for a byte, so a body trickling in could take
    forever; past the deadline the body raises the ReadTimeout a slow read would, which
    the SDK retries. Hooks, unlike a transport of our own, leave the proxies of the
    environment (HTTPS_PROXY) in place.
    """
    import httpx2 as httpx

    key = "flashgen.deadline"

    def late(request: Any) -> Any:
        return httpx.ReadTimeout(f"the response took over {seconds:g} s", request=request)

    class AsyncBody(httpx.AsyncByteStream):
        def __init__(self, inner: Any, request: Any) -> None:
            self.inner, self.request = inner, request

        async def __aiter__(self) -> Any:
            chunks = self.inner.__aiter__()
            while True:
                # timeout_at costs a timer, not a task as wait_for does: it runs per chunk.
                try:
                    async with asyncio.timeout_at(self.request.extensions[key]):
                        chunk = await chunks.__anext__()
                except StopAsyncIteration:
                    return
                except TimeoutError:
                    raise late(self.request) from None
                yield chunk

        async def aclose(self) -> None:
            await self.inner.aclose()

    class SyncBody(httpx.SyncByteStream):
        def __init__(self, inner: Any, request: Any) -> None:
            self.inner, self.request = inner, request

        def __iter__(self) -> Any:
            # A blocking read cannot be cut short; each is bounded by the read timeout, and
            # the deadline is checked between them.
            for chunk in self.inner:
                if time.monotonic() > self.request.extensions[key]:
                    raise late(self.request)
                yield chunk

        def close(self) -> None:
            self.inner.close()

    if asynchronous:

        async def started(request: Any) -> None:
            count(request.url.path)
            request.extensions[key] = asyncio.get_running_loop().time() + seconds

        async def answered(response: Any) -> None:
            response.stream = AsyncBody(response.stream, response.request)

        return {"request": [started], "response": [answered]}

    def started_sync(request: Any) -> None:
        count(request.url.path)
        request.extensions[key] = time.monotonic() + seconds

    def answered_sync(response: Any) -> None:
        response.stream = SyncBody(response.stream, response.request)

    return {"request": [started_sync], "response": [answered_sync]}


def _count(value: Any) -> int:
    """A token count as a server reports it, or 0 when it is not a whole number."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def status_error(status: int, message: str, has_format: bool) -> LLMError:
    """What an HTTP error status means for flashgen: the server is unusable, the mode was
    refused, or only this request failed."""
    if status in (401, 403):
        return LLMError(f"the server refused the API key (HTTP {status}): {message}")
    mentions_format = any(hint in message.lower() for hint in _MODE_HINTS)
    if has_format and status in (400, 415, 422, 500, 501) and mentions_format:
        return ModeRejected(f"HTTP {status}: {message}")
    if status == 404:
        return LLMError(f"not found (HTTP 404), check the base URL and the model: {message}")
    return RequestFailed(f"HTTP {status}: {message}")


def error_text(exc: Any) -> str:
    """The server's own words about an error, on one line, without a traceback."""
    body = getattr(exc, "body", None)
    text: Any = getattr(exc, "message", exc)
    if isinstance(body, dict):
        inner = body.get("error", body)
        text = (inner.get("message") if isinstance(inner, dict) else inner) or json.dumps(body)
    # llama-cpp-python appends a Python traceback to its error messages.
    text = str(text).split(' File "', 1)[0]
    return " ".join(text.split())[:300]


def preload() -> None:
    """Import the SDK now: a command that will ask a model loads it first, before the heap
    is frozen (see the CLI), so its many objects are never walked by the collector."""
    import openai  # noqa: F401


def open_client(config: GeneratorConfig | None) -> OpenAIClient | None:
    """The client for a configuration that asks a model, else None (the offline path)."""
    if config is None or not config.uses_llm():
        return None
    if not (config.base_url or config.api_key):
        raise LLMError(
            "no model server configured: set --base-url (OPENAI_BASE_URL) for a local "
            "server, or OPENAI_API_KEY for api.openai.com"
        )
    return OpenAIClient(config)
