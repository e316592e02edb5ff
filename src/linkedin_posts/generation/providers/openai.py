"""Any OpenAI-compatible chat-completions API: OpenAI, Azure OpenAI's v1 endpoint, Ollama, vLLM,
LM Studio. Configured by LP_AI_BASE_URL, LP_AI_MODEL and LP_AI_API_KEY.

Every HTTP call goes through the ProviderGuard (slots, breaker, timeout, retries); the SDK's own
retries are off. Whatever the SDK or the connection raises leaves here as a ProviderError
subclass, whose message never carries the key or the upstream body.
"""

import json
import time
from collections.abc import AsyncGenerator, AsyncIterator, Iterator, Mapping
from contextlib import aclosing, contextmanager
from email.utils import parsedate_to_datetime
from functools import partial

import httpx2
import openai
from openai.types.chat import (
    ChatCompletion,
    ChatCompletionMessageParam,
    ChatCompletionSystemMessageParam,
    ChatCompletionUserMessageParam,
)
from openai.types.completion_usage import CompletionUsage

from linkedin_posts.config import Settings
from linkedin_posts.generation.exceptions import (
    ProviderBadResponse,
    ProviderError,
    ProviderInvalidOutput,
    ProviderRateLimited,
    ProviderRejected,
    ProviderTimeout,
    ProviderUnavailable,
)
from linkedin_posts.generation.prompts import PROMPTS, RenderedPrompt
from linkedin_posts.generation.providers.base import (
    Brief,
    Chunk,
    Completion,
    Goal,
    RewriteTask,
    Sampling,
    Usage,
)
from linkedin_posts.generation.resilience import ProviderGuard
from linkedin_posts.generation.transport import bounded_transport
from linkedin_posts.generation.validation import clean_output
from linkedin_posts.posts.schemas import MAX_BODY_CODE_POINTS, count_graphemes

OPENAI_BASE_URL = "https://api.openai.com/v1"
# Local servers (Ollama, vLLM, LM Studio) want no key, but the SDK wants a string.
NO_KEY = "unused"


class OpenAIProvider:
    name = "openai"
    languages: frozenset[str] | None = None

    def __init__(self, settings: Settings, guard: ProviderGuard) -> None:
        self.model = settings.ai_model
        self.fingerprint = f"{settings.ai_model}+prompts-{PROMPTS.fingerprint}"
        self._guard = guard
        base_url = settings.ai_base_url or OPENAI_BASE_URL
        key = settings.ai_api_key.get_secret_value() if settings.ai_api_key else NO_KEY
        seconds = settings.ai_timeout_seconds
        timeout = httpx2.Timeout(seconds, connect=min(5.0, seconds))
        self._client = openai.AsyncOpenAI(
            api_key=key,
            base_url=base_url,
            max_retries=0,
            timeout=timeout,
            http_client=httpx2.AsyncClient(
                timeout=timeout,
                transport=bounded_transport(
                    base_url,
                    max_bytes=settings.ai_max_response_bytes,
                    max_connections=settings.ai_max_concurrency,
                ),
            ),
        )
        # Touched now: the SDK imports the resource's modules on first use, which took 0.2 s,
        # inside the first call's timeout.
        self._completions = self._client.chat.completions

    async def generate(self, brief: Brief, sampling: Sampling) -> Completion:
        return await self._complete(PROMPTS.generate(brief), sampling)

    async def rewrite(self, task: RewriteTask, sampling: Sampling) -> Completion:
        completion = await self._complete(PROMPTS.rewrite(task), sampling)
        note = _note(task, completion.text)
        return Completion(completion.text, usage=completion.usage, notes=(note,))

    async def stream(self, brief: Brief, sampling: Sampling) -> AsyncGenerator[Chunk, None]:
        prompt = PROMPTS.generate(brief)
        # aclosing: a client that goes away closes the HTTP stream now, not when collected.
        async with aclosing(self._guard.stream(lambda: self._pieces(prompt, sampling))) as chunks:
            async for chunk in chunks:
                yield chunk

    async def aclose(self) -> None:
        await self._client.close()

    async def _complete(self, prompt: RenderedPrompt, sampling: Sampling) -> Completion:
        """A valid post, asking a second time, with the next seed, when the first is not one.

        The same seed would, from a provider that honours it, bring the same answer back.
        """
        usage = Usage()
        for extra in range(2):
            seed = sampling.seed + extra
            text, finish, used = await self._guard.call(
                partial(self._create, prompt, sampling, seed)
            )
            usage += used
            try:
                # Checked here, not in the attempt, where the guard would retry it as a failure.
                _check_length(finish)
                return Completion(clean_output(text, prompt=prompt), usage=usage)
            except ProviderInvalidOutput:
                if extra:
                    raise
        raise AssertionError("unreachable: the second invalid answer raises")

    async def _create(
        self, prompt: RenderedPrompt, sampling: Sampling, seed: int
    ) -> tuple[str, object, Usage]:
        with _mapped_errors():
            completion = await self._completions.create(
                model=self.model,
                messages=_messages(prompt),
                temperature=sampling.temperature,
                max_tokens=sampling.max_tokens,
                seed=seed,
                n=1,
            )
        # A 200 that is not JSON comes back from the SDK as the body's text.
        if not isinstance(completion, ChatCompletion):
            raise ProviderBadResponse("The AI provider's answer is not a chat completion.")
        choices = getattr(completion, "choices", None)
        if not isinstance(choices, list) or not choices:
            raise ProviderBadResponse("The AI provider's answer has no choices.")
        choice = choices[0]
        message = getattr(choice, "message", None)
        content = getattr(message, "content", None)
        finish = getattr(choice, "finish_reason", None)
        _check_filter(finish)
        if not isinstance(content, str):
            raise ProviderBadResponse("The AI provider's answer has no text.")
        return content, finish, _usage(getattr(completion, "usage", None))

    async def _pieces(self, prompt: RenderedPrompt, sampling: Sampling) -> AsyncIterator[Chunk]:
        """The stream's text as it comes, then its usage; then the whole text is validated."""
        parts: list[str] = []
        length = 0
        with _mapped_errors():
            events = await self._completions.create(
                model=self.model,
                messages=_messages(prompt),
                temperature=sampling.temperature,
                max_tokens=sampling.max_tokens,
                seed=sampling.seed,
                n=1,
                stream=True,
                stream_options={"include_usage": True},
            )
            try:
                async for event in events:
                    for choice in event.choices or ():
                        text = choice.delta.content if choice.delta else None
                        if text:
                            parts.append(text)
                            length += len(text)
                            if length > MAX_BODY_CODE_POINTS:  # no need to hear the rest
                                raise ProviderInvalidOutput(
                                    "The AI provider's post ran over LinkedIn's length."
                                )
                            yield Chunk(text)
                        _check_filter(choice.finish_reason)
                        _check_length(choice.finish_reason)
                    if event.usage is not None:
                        yield Chunk("", usage=_usage(event.usage))
            finally:
                await events.close()
        clean_output("".join(parts), prompt=prompt)


@contextmanager
def _mapped_errors() -> Iterator[None]:
    """Turn what the SDK and the connection raise into the ProviderError a client should see."""
    try:
        yield
    except ProviderError:
        raise
    except openai.APIStatusError as exc:
        raise _status_error(exc) from None  # its message and body may quote the key
    except openai.APIConnectionError as exc:
        ours = _our_cause(exc)
        if ours is not None:
            raise ours from None
        if isinstance(exc, openai.APITimeoutError):
            raise ProviderTimeout("The AI provider did not answer in time.") from exc
        raise ProviderUnavailable("The AI provider could not be reached.") from exc
    except (openai.APIError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        # A malformed body, or an error event in the middle of a stream.
        raise ProviderBadResponse("The AI provider sent an answer that could not be read.") from exc
    except openai.OpenAIError as exc:
        raise ProviderError(f"The AI provider's client failed ({type(exc).__name__}).") from exc


def _status_error(exc: openai.APIStatusError) -> ProviderError:
    status = exc.status_code
    ref = exc.request_id
    said = f"upstream HTTP {status}" + (f", request id {ref}" if ref else "")
    retry_after = retry_after_seconds(exc.response.headers)
    if status == 429:
        if exc.code == "insufficient_quota":  # the account is out of credit: waiting won't help
            return ProviderRejected(f"The AI provider's account has no quota left ({said}).")
        return ProviderRateLimited(
            f"The AI provider is rate limiting us ({said}).", retry_after=retry_after
        )
    if status == 408 or status == 504:
        return ProviderTimeout(f"The AI provider timed out ({said}).")
    if status == 503:
        return ProviderUnavailable(
            f"The AI provider is unavailable ({said}).", retry_after=retry_after
        )
    if status >= 500 or status == 409:  # 409: OpenAI's "lock timeout", worth another try
        return ProviderError(f"The AI provider failed ({said}).", retry_after=retry_after)
    return ProviderRejected(f"The AI provider refused the request ({said}).")


def retry_after_seconds(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """The wait a response asks for: `retry-after-ms`, or `retry-after` in seconds or as a date."""
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _our_cause(exc: BaseException) -> ProviderError | None:
    """Our transport's own error, should the SDK have wrapped it."""
    cause = exc.__cause__ or exc.__context__
    for _ in range(10):  # a chain is short; a cycle must not hang us
        if cause is None or isinstance(cause, ProviderError):
            return cause
        cause = cause.__cause__ or cause.__context__
    return None


def _check_filter(reason: object) -> None:
    if reason == "content_filter":
        error = ProviderBadResponse("The AI provider's content filter withheld the post.")
        error.retryable = False  # the same request would be filtered again
        raise error


def _check_length(reason: object) -> None:
    if reason == "length":
        raise ProviderInvalidOutput("The AI provider's post was cut off at the token limit.")


def _messages(prompt: RenderedPrompt) -> list[ChatCompletionMessageParam]:
    system: ChatCompletionSystemMessageParam = {"role": "system", "content": prompt.system}
    user: ChatCompletionUserMessageParam = {"role": "user", "content": prompt.user}
    return [system, user]


def _usage(usage: CompletionUsage | None) -> Usage:
    if usage is None:
        return Usage()
    return Usage(
        prompt_tokens=getattr(usage, "prompt_tokens", 0) or 0,
        completion_tokens=getattr(usage, "completion_tokens", 0) or 0,
    )


def _note(task: RewriteTask, text: str) -> str:
    """What the rewrite was asked to do, in a sentence, with the one number that can be told."""
    match task.goal:
        case Goal.SHORTEN:
            before, after = count_graphemes(task.text.strip()), count_graphemes(text)
            return f"Shortened from {before} to {after} characters."
        case Goal.STRONGER_HOOK:
            return "Rewrote the opening line as a stronger hook."
        case Goal.ADD_HASHTAGS:
            return "Added hashtags on the last line."
        case Goal.FIX_FORMATTING:
            return "Fixed the formatting for LinkedIn."
        case Goal.TONE:
            return f"Rewrote in a {task.tone} tone."
