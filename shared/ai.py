"""The one AI client: openai's `AsyncOpenAI`, or a deterministic extractive writer when
no key is configured (so the embedded default works offline)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import httpx

from shared.errors import ApiError
from shared.jobs.retry import retry_after_seconds
from shared.settings import Settings

if TYPE_CHECKING:  # imported where a client is made: half a second of CPU at every start
    import openai

EXTRACTIVE_MODEL = "extractive"
STORIES_BY_LENGTH = {"short": 3, "medium": 5, "long": 8}
HEADINGS = {
    "brief": "Brief",
    "analytical": "Analysis",
    "casual": "Quick catch-up",
    "newsletter": "Newsletter",
}
AUDIENCES = {
    "general": "for everyone",
    "investors": "for investors",
    "tech": "for tech readers",
    "students": "for students",
}
CLOSINGS = {
    "neutral": "That is the news.",
    "optimistic": "Plenty to look forward to.",
    "critical": "Worth reading with a sceptical eye.",
}


class AIServiceError(ApiError):
    """The AI service failed: a 502 or 504 to a request; a job also asks whether trying
    again later may help (`retryable`: 429, 5xx, a timeout, a dropped connection) and how
    long the service asked it to wait (`wait_seconds`, its `Retry-After`)."""

    def __init__(
        self, code: str, message: str, *, retryable: bool, wait_seconds: float | None = None
    ) -> None:
        super().__init__(code, message)  # no `retry_after`: the client gets no Retry-After
        self.retryable = retryable
        self.wait_seconds = wait_seconds


def _failure(exc: openai.APIError) -> AIServiceError:
    import openai

    message = f"the AI service failed: {type(exc).__name__}"
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        wait = retry_after_seconds(exc.response.headers.get("retry-after"))
        busy = status == 429 or status >= 500
        return AIServiceError("upstream_error", message, retryable=busy, wait_seconds=wait)
    # A refused, dropped or broken connection may work next time.
    retryable = isinstance(exc, openai.APIConnectionError)
    return AIServiceError("upstream_error", message, retryable=retryable)


class DigestWriter:
    """Writes a digest's text from news items and the chosen options."""

    def __init__(self, settings: Settings, *, http_client: httpx.AsyncClient | None = None) -> None:
        self.timeout = settings.ai_timeout_seconds
        self._client: openai.AsyncOpenAI | None = None
        self.model = EXTRACTIVE_MODEL
        if settings.openai_api_key:
            import openai

            self.model = settings.openai_model
            self._client = openai.AsyncOpenAI(
                api_key=settings.openai_api_key,
                base_url=settings.openai_base_url,
                timeout=settings.ai_timeout_seconds,
                max_retries=0,  # a retry would double the user's wait; the caller decides
                # openai accepts an httpx client at run time but types only its httpx2 one.
                http_client=http_client,  # type: ignore[arg-type]
            )

    @property
    def configured(self) -> bool:
        return self._client is not None

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()

    async def write(self, *, news: Sequence[dict[str, Any]], options: dict[str, str]) -> str:
        if self._client is None or not news:
            return extractive_digest(news, options)
        import openai  # imported already: the client is made

        try:
            # The raw answer: the SDK would build a model from any JSON without checking it.
            async with asyncio.timeout(self.timeout):  # also a server that drips bytes
                raw = await self._client.chat.completions.with_raw_response.create(
                    model=self.model,
                    messages=[
                        {"role": "system", "content": _system_prompt(options)},
                        {"role": "user", "content": _user_prompt(news, options)},
                    ],
                )
        except (openai.APITimeoutError, TimeoutError):
            raise AIServiceError(
                "upstream_timeout",
                f"the AI service did not answer within {self.timeout:g} s",
                retryable=True,
            ) from None
        except openai.APIError as exc:  # an error status, a refused or broken connection
            raise _failure(exc) from None
        return completion_text(raw.content)


def _bad_answer(what: str) -> ApiError:
    return ApiError("upstream_error", f"the AI service answered {what}")


def completion_text(body: bytes) -> str:
    """The digest in a chat-completions answer; any other answer is the AI service's fault."""
    try:
        answer = json.loads(body)
    except ValueError:  # an HTML error page with a 200, or garbage
        raise _bad_answer("with garbage (not JSON)") from None
    choices = answer.get("choices") if isinstance(answer, dict) else None
    if not isinstance(choices, list) or not choices:
        raise _bad_answer("without choices")
    message = choices[0].get("message") if isinstance(choices[0], dict) else None
    if not isinstance(message, dict):
        raise _bad_answer("without a message")
    content = message.get("content")
    if not isinstance(content, str):
        raise _bad_answer("without text content")
    if not content.strip():
        raise ApiError("upstream_error", "the AI service returned an empty digest")
    return content.strip()


def _system_prompt(options: dict[str, str]) -> str:
    return (
        f"You write {options['style']} news digests in a {options['tone']} tone, "
        f"{options['length']} in length, {AUDIENCES[options['audience']]}. "
        "Use only the news given; do not invent facts."
    )


def _user_prompt(news: Sequence[dict[str, Any]], options: dict[str, str]) -> str:
    lines = [f"Write a {options['style']} digest of these {len(news)} news items."]
    for item in news:
        lines.append(f"- [{item['category']}] {item['title']}: {item['summary']}")
    return "\n".join(lines)


def _first_sentence(text: str) -> str:
    sentence = text.strip().split(". ")[0].strip()
    return sentence if sentence.endswith(".") or not sentence else sentence + "."


def extractive_digest(news: Sequence[dict[str, Any]], options: dict[str, str]) -> str:
    """A digest built from the news itself: same news and options, same text."""
    if not news:
        return "No news matched the chosen categories."
    stories = list(news)[: STORIES_BY_LENGTH[options["length"]]]
    heading = f"{HEADINGS[options['style']]} {AUDIENCES[options['audience']]}"
    lines = [f"{heading}: {len(stories)} of {len(news)} stories"]
    for item in stories:
        line = f"- [{item['category']}] {item['title']}"
        if options["length"] != "short" and item["summary"]:
            summary = (
                item["summary"] if options["length"] == "long" else _first_sentence(item["summary"])
            )
            line += f" — {summary}"
        lines.append(line)
    lines.append(CLOSINGS[options["tone"]])
    return "\n".join(lines)
