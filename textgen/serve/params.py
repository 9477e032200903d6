"""Request bodies: parsed, checked and capped before any work starts.

Both APIs end in one `Request`: textgen's own (`POST /api/generate`) and the
OpenAI-compatible one (`POST /v1/completions`, whose names and defaults follow
OpenAI's). Both take every sampling setting of `textgen.generate.settings` by
its name (`top_k`), and every poem option of `textgen.generate.poetry.spec`
(`form`, `acrostic`, ...). A bad value is an `ApiError` that names the parameter.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from textgen.errors import InvalidArgument
from textgen.generate.poetry.spec import POEM_OPTIONS, PoemSpec
from textgen.generate.samplers import SamplerSettings
from textgen.generate.settings import SETTINGS
from textgen.serve.config import Limits

__all__ = ["ApiError", "Limits", "Request", "native_request", "openai_request"]


class ApiError(Exception):
    """An error answered as JSON: `{"error": {"message", "type", "param", "code"}}`.

    Attributes:
        status: the HTTP status.
        message: what is wrong and how to fix it.
        param: the request parameter at fault, if any.
        headers: extra response headers (e.g. Retry-After).
    """

    TYPES = {400: "invalid_request_error", 401: "authentication_error", 404: "not_found_error",
             405: "invalid_request_error", 413: "request_too_large", 421: "wrong_host",
             503: "server_busy"}

    def __init__(self, status: int, message: str, param: str | None = None,
                 headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.message, self.param = status, message, param
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        """The JSON body."""
        return {"error": {"message": self.message, "type": self.TYPES.get(self.status, "error"),
                          "param": self.param, "code": self.status}}


@dataclass
class Request:
    """One generation request, checked.

    Attributes:
        model: the model's name (checked against the served ones by the caller).
        prompt: text to continue.
        length: tokens per sample.
        settings: the sampling settings (temperature, top-k, top-p, ...).
        n: samples.
        seed: sample i uses seed + i; None draws one.
        stop: strings that end a sample.
        stream: answer with server-sent events.
        drop_unknown: leave out prompt characters the model never saw.
        max_lines: end a sample with its Nth line break; None: no line limit.
        poem: the poem options given (`form`, `acrostic`, ...), for `Generator.run`.
        length_key: the API's name for `length` ("max_tokens" in OpenAI's), for errors.
    """

    model: str
    prompt: str = ""
    length: int = 200
    settings: SamplerSettings = field(default_factory=SamplerSettings)
    n: int = 1
    seed: int | None = None
    stop: list[str] = field(default_factory=list)
    stream: bool = False
    drop_unknown: bool = False
    max_lines: int | None = None
    poem: dict[str, Any] = field(default_factory=dict)
    length_key: str = "length"


SETTING_KEYS = {s.name for s in SETTINGS}  # the sampling settings, in both APIs
POEM_KEYS = {o.name for o in POEM_OPTIONS}  # the poem options, in both APIs
NATIVE_KEYS = {"model", "prompt", "length", *SETTING_KEYS, *POEM_KEYS, "seed", "n", "stop",
               "stream", "drop_unknown", "max_lines"}


def native_request(body: Any, limits: Limits, default_model: str | None) -> Request:
    """Parses a `POST /api/generate` body (unknown keys are refused, to catch typos).

    Raises:
        ApiError: 400 naming the bad parameter, or 413 for an over-long prompt.
    """
    body = _object(body)
    unknown = sorted(set(body) - NATIVE_KEYS)
    if unknown:
        raise ApiError(400, f"unknown parameter {unknown[0]!r}; the parameters are "
                       + ", ".join(sorted(NATIVE_KEYS)), unknown[0])
    return _request(body, limits, default_model, body.get("prompt", ""), "length", 200,
                    drop_unknown=_bool(body, "drop_unknown"))


def openai_request(body: Any, limits: Limits, default_model: str | None) -> Request:
    """Parses a `POST /v1/completions` body with OpenAI's names and defaults
    (max_tokens 16, temperature 1, top_p 1), plus textgen's other sampling
    settings (`top_k`, `repetition_penalty`, ...) and poem options (`form`,
    `acrostic`, ...) as extensions (as vLLM takes them), and `max_lines`.
    Parameters textgen has no use for (logprobs, user, ...) are ignored, as
    OpenAI-compatible servers do.

    Raises:
        ApiError: 400 naming the bad parameter, or 413 for an over-long prompt.
    """
    body = _object(body)
    prompt = body.get("prompt", "")
    if isinstance(prompt, list):  # OpenAI takes a list of prompts; one is supported
        if len(prompt) != 1 or not isinstance(prompt[0], str):
            raise ApiError(400, "`prompt` must be a string (or a list of one string)", "prompt")
        prompt = prompt[0]
    if body.get("echo"):
        raise ApiError(400, "`echo` is not supported", "echo")
    return _request(body, limits, default_model, prompt, "max_tokens", 16)


def _request(body: dict, limits: Limits, default_model: str | None, prompt: Any,
             length_key: str, length_default: int, drop_unknown: bool = False) -> Request:
    """The parameters both APIs share, checked.

    Args:
        body: the request's JSON object.
        limits: the server's caps.
        default_model: the model when the request names none (a one-model server).
        prompt: the prompt as sent.
        length_key: the API's name for the length ("length", "max_tokens").
        length_default: its default; a poem left without one may take up to the
            server's limit (it ends when whole).
        drop_unknown: leave out prompt characters the model never saw.
    """
    poem, spec = _poem(body)
    if spec.active and body.get(length_key) is None:
        length_default = limits.max_length
    return Request(
        model=_model(body, default_model),
        prompt=_prompt(prompt, limits),
        length=_int(body, length_key, length_default, 0, limits.max_length),
        settings=_settings(body),
        n=_int(body, "n", 1, 1, limits.max_n),
        seed=_seed(body),
        stop=_stop(body.get("stop"), limits),
        stream=_bool(body, "stream"),
        drop_unknown=drop_unknown,
        max_lines=_max_lines(body),
        poem=poem,
        length_key=length_key,
    )


def _object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ApiError(400, "the request body must be a JSON object")
    return body


def _model(body: dict, default: str | None) -> str:
    name = body.get("model", default)
    if name is None:
        raise ApiError(400, "`model` is required: this server has several (GET /api/models)",
                       "model")
    if not isinstance(name, str):
        raise ApiError(400, "`model` must be a string (a name from GET /api/models)", "model")
    return name


def _prompt(prompt: Any, limits: Limits) -> str:
    if prompt is None:
        return ""
    if not isinstance(prompt, str):
        raise ApiError(400, "`prompt` must be a string", "prompt")
    if len(prompt) > limits.max_prompt:
        raise ApiError(413, f"`prompt` is {len(prompt):,} characters; this server takes at most "
                       f"{limits.max_prompt:,} (textgen serve --max-prompt)", "prompt")
    return prompt


def _int(body: dict, name: str, default: int, low: int, high: int | None) -> int:
    value = body.get(name, default)
    if value is None:
        return default
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ApiError(400, f"`{name}` must be an integer. Received: {value!r}", name)
    if value < low or (high is not None and value > high):
        where = f"between {low} and {high:,}" if high is not None else f">= {low}"
        cap = " (this server's limit)" if high is not None and value > high else ""
        raise ApiError(400, f"`{name}` must be {where}{cap}. Received: {value}", name)
    return value


def _number(body: dict, name: str, default: float) -> float:
    value = body.get(name, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ApiError(400, f"`{name}` must be a finite number. Received: {value!r}", name)
    return float(value)


def _settings(body: dict) -> SamplerSettings:
    """Every declared sampling setting: its type, then its range (the error names it)."""
    values = {}
    for s in SETTINGS:
        if s.kind is int:
            value = _int(body, s.name, s.default, s.low, s.high)
        else:
            value = _number(body, s.name, s.default)
        try:
            s.check(value)
        except InvalidArgument as e:
            raise ApiError(400, str(e), s.name) from None
        values[s.name] = value
    return SamplerSettings(**values)


def _poem(body: dict) -> tuple[dict[str, Any], PoemSpec]:
    """The poem options given ({} when none is given), and their `PoemSpec`.

    Whether the model can write the poem (a character model that knows the heads)
    is checked when the job's prompt is read.
    """
    poem: dict[str, Any] = {}
    for o in POEM_OPTIONS:
        value = body.get(o.name)
        if value is None or value == "":  # as when left out
            continue
        if o.flag:
            if not _bool(body, o.name):
                continue  # off, as when left out
            value = True
        elif not isinstance(value, str):
            raise ApiError(400, f"`{o.name}` must be a string. Received: {value!r}", o.name)
        if o.choices is not None:
            value = o.normalize(value) if o.normalize else value
            if value not in o.choices:
                raise ApiError(400, f"`{o.name}` must be one of {', '.join(o.choices)}. "
                               f"Received: {body[o.name]!r}", o.name)
        poem[o.name] = value
    try:
        spec = PoemSpec(**poem)
    except InvalidArgument as e:
        # The option at fault is one given: the one the message names, else the first.
        param = next((k for k in poem if f"`{k}`" in str(e)), next(iter(poem)))
        raise ApiError(400, str(e), param) from None
    return poem, spec


def in_api_words(message: str, request: Request) -> tuple[str, str | None]:
    """A library error in the request's words: the library's `length` is the API's
    length key and its prime the prompt. Returns the message and the parameter at
    fault (the first one it names, else the first poem option given)."""
    message = (message.replace("`length`", f"`{request.length_key}`")
               .replace("Received: length=", f"Received: {request.length_key}=")
               .replace("the prime", "the prompt").replace("Received: prime=", "Received: prompt="))
    keys = NATIVE_KEYS | {request.length_key}
    named = [k for k in re.findall(r"`(\w+)`", message) if k in keys]
    if named:
        return message, named[0]
    if "the prompt" in message:
        return message, "prompt"
    return message, next(iter(request.poem), None)


def _seed(body: dict) -> int | None:
    if body.get("seed") is None:
        return None
    return _int(body, "seed", 0, 0, 2**31 - 1)


def _max_lines(body: dict) -> int | None:
    if body.get("max_lines") is None:
        return None
    return _int(body, "max_lines", 0, 1, None)


def _bool(body: dict, name: str) -> bool:
    value = body.get(name, False)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise ApiError(400, f"`{name}` must be true or false. Received: {value!r}", name)
    return value


def _stop(stop: Any, limits: Limits) -> list[str]:
    if stop is None:
        return []
    stops = [stop] if isinstance(stop, str) else stop
    if (not isinstance(stops, list) or not all(isinstance(s, str) and s for s in stops)
            or len(stops) > limits.max_stops):
        raise ApiError(400, f"`stop` must be a non-empty string or a list of at most "
                       f"{limits.max_stops} non-empty strings", "stop")
    return stops
