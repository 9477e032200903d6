"""The logic of `textgen sample --interactive`: turns that share one recurrent state.

Each line the user types is read into the model's state and continued; the next
line continues from there (the model remembers the conversation) until
`/reset`. Lines starting with "/" change settings (one command per sampling
setting of `textgen.generate.settings`, e.g. `/top-k 40`, and one per poem option
of `textgen.generate.poetry.spec`, e.g. `/form 七绝`). With a form or an acrostic
set, each reply is a whole poem, and the line typed is its beginning. This module
decides what each line means and returns it; `textgen/cli/sample.py` reads the
lines and prints.
"""

from __future__ import annotations

import dataclasses
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from textgen.errors import InvalidArgument, TextgenError
from textgen.generate.constraints import Constraint
from textgen.generate.generation import Generation, Prime
from textgen.generate.generator import Generator
from textgen.generate.poetry.spec import POEM_OPTIONS, PoemOption, PoemSpec
from textgen.generate.samplers import SamplerSettings
from textgen.generate.settings import SETTINGS
from textgen.model.numpy_lm import State

_SETTINGS = {s.option: s for s in SETTINGS}  # command ("top-k") -> its declaration
_POEM = {o.option[2:]: o for o in POEM_OPTIONS}  # command ("rhyme-group") -> its declaration
_OFF = ("off", "none", "-")  # what turns a poem option off
_WIDTH = 27  # where the help column starts


def _poem_help(o: PoemOption) -> str:
    value = "on|off" if o.flag else "|".join(o.choices) if o.choices else (o.metavar or "X")
    command = f"/{o.option[2:]} {value}"
    wide = sum(unicodedata.east_asian_width(c) in "WF" for c in command)  # 2 columns each
    return f"  {command:<{_WIDTH - wide - 1}} {o.summary}"


def _help() -> str:
    lines = [f"  {f'/{s.option} {s.metavar}':<{_WIDTH}}{s.summary}" for s in SETTINGS]
    lines += [f"  {command:<{_WIDTH}}{what}" for command, what in [
        ("/length N", "tokens per reply"),
        ("/max-chars N", "characters per reply at most (0 = no limit)"),
        ("/max-lines N", "lines per reply at most (0 = no limit)"),
        ("/seed S", "seed for the next reply (then S+1, ...)"),
    ]]
    lines += [_poem_help(o) for o in POEM_OPTIONS]
    lines += [f"  {command:<{_WIDTH}}{what}" for command, what in [
        ("/settings", "show the settings"),
        ("/reset", "forget the conversation"),
        ("/help", "this text"),
        ("/quit", "leave (so do Ctrl-D and Ctrl-C)"),
    ]]
    return ("Type a beginning and press Enter: the model continues it. The next line goes on\n"
            "from there (the model remembers the conversation); an empty line continues the\n"
            "text without adding any. Commands:\n" + "\n".join(lines))


HELP = _help()
COMMANDS = (*_SETTINGS, "length", "max-chars", "max-lines", "seed", *_POEM, "settings", "reset",
            "help", "quit")


@dataclass
class Reply:
    """What a line leads to: a message to show, a generation to stream, or quitting."""

    message: str = ""
    generation: Generation | None = None
    quit: bool = False


class Session:
    """An interactive conversation with a model.

    Args:
        gen: the loaded model.
        settings: the initial sampler settings.
        length: tokens per reply.
        seed: the first reply's seed (then +1 per reply); None for random.
        stop: stop strings.
        max_chars: characters per reply at most (None = no limit).
        drop_unknown: leave out characters the model never saw instead of refusing.
        constraints: rules every reply's tokens obey (`textgen.generate.constraints`).
        max_lines: lines per reply at most (None = no limit).
        poem: poem options (`PoemSpec` fields): with a form or an acrostic, each
            reply is a whole poem (length, stop, max-chars and max-lines then
            do not apply).

    Raises:
        InvalidArgument: impossible poem options, or a poem this model cannot write
            (a word model, heads it never saw).
    """

    def __init__(
        self,
        gen: Generator,
        settings: SamplerSettings,
        length: int,
        seed: int | None = None,
        stop: tuple[str, ...] = (),
        max_chars: int | None = None,
        drop_unknown: bool = False,
        constraints: Sequence[Constraint] = (),
        max_lines: int | None = None,
        poem: dict | None = None,
    ):
        self.poem = {k: v for k, v in (poem or {}).items() if v}
        spec = PoemSpec(**self.poem)  # raises for impossible options
        if spec.active:
            gen.poem(spec)  # and for a poem this model cannot write, before any turn
        self.gen, self.settings, self.length = gen, settings, length
        self.max_lines = max_lines
        self.constraints = list(constraints)
        self.seed, self.stop, self.max_chars = seed, stop, max_chars
        self.drop_unknown = drop_unknown
        self.state: State | None = None  # None: nothing read yet
        self.logits = None
        self.at_line_start = True  # whether the model's last token ended a line
        self.line_chars = 0  # characters the model read since its last line break

    def handle(self, line: str) -> Reply:
        """Interprets one input line (without its newline); mistakes become messages."""
        if line.startswith("/"):
            return self._command(line[1:].split())
        spec = PoemSpec(**self.poem)
        if spec.active:
            return self._poem(line, spec)
        if line and self.state is not None and not self.at_line_start:
            # The reply was shown with a line break after it: the model reads one too.
            line = "\n" + line
        try:
            prime = self.gen.encode_prime(line, self.drop_unknown)
        except TextgenError as e:
            return Reply(message=f"error: {e}")
        # Where the reply starts in its line: the conversation, not just this line.
        line_start = _after(self.line_chars if self.state is not None else 0, prime.text)
        if self.state is None:
            logits, state = self.gen.start(prime)
        elif prime.ids.size:
            logits, state = self.gen.start(prime, self.state)
        else:
            logits, state = self.logits, self.state
        generation = Generation(
            self.gen, prime, logits, state, self.length, self.settings, 1, self.seed,
            self.stop, self.max_chars, free_start=self.state is None and not prime.ids.size,
            constraints=self.constraints, max_lines=self.max_lines, line_start=line_start,
        )
        return self._reply(prime, generation, line_start)

    def _poem(self, line: str, spec: PoemSpec) -> Reply:
        """A whole poem that begins with `line`, on a line of its own."""
        try:
            prime = self.gen.encode_prime(line, self.drop_unknown)
            poem = self.gen.poem(spec, prime.text)
        except TextgenError as e:
            return Reply(message=f"error: {e}")
        newline = poem.layout.newline  # "" for a model that never saw a line break
        logits, state = self.logits, self.state
        if state is not None and not self.at_line_start and newline:  # on a line of its own
            logits, state = self.gen.start(self.gen.encode_prime(newline), state)
        if state is None or prime.ids.size:
            logits, state = self.gen.start(prime, state)
        poem.begin(1)
        generation = Generation(
            self.gen, prime, logits, state, len(poem.layout.slots), self.settings, 1, self.seed,
            (), None, free_start=self.state is None and not prime.ids.size,
            constraints=[*self.constraints, poem])
        return self._reply(prime, generation, len(prime.text))

    def _reply(self, prime: Prime, generation: Generation, line_start: int) -> Reply:
        """A reply's generation, once made: the next seed, and a note of what was left
        out of the line typed."""
        self.line_chars = line_start
        if self.seed is not None:
            self.seed += 1
        note = f"note: left out {' '.join(map(repr, prime.dropped))}" if prime.dropped else ""
        return Reply(message=note, generation=generation)

    def finished(self, generation: Generation) -> None:
        """Keeps the state after a reply, so that the next line continues it."""
        generation.finish()  # a reply read only in part is run to its end first
        self.state, self.logits = generation.state, generation.logits
        read = generation.last_token or generation.prime.text
        if read:
            self.at_line_start = read.endswith("\n")
        self.line_chars = _after(self.line_chars, generation.samples[0].text)

    def _command(self, words: list[str]) -> Reply:
        name, args = (words[0].lower(), words[1:]) if words else ("help", [])
        if name in ("quit", "exit", "q"):
            return Reply(quit=True)
        if name in ("help", "?"):
            return Reply(message=HELP)
        if name == "reset":
            self.state = self.logits = None
            self.at_line_start = True
            self.line_chars = 0
            return Reply(message="(conversation reset)")
        if name == "settings":
            return Reply(message=self.describe())
        if name not in (*_SETTINGS, "length", "max-chars", "max-lines", "seed", *_POEM):
            return Reply(message=f"error: unknown command /{name}; type /help")
        if name in _POEM and len(args) == 1:
            return self._set_poem(_POEM[name], args[0])
        if len(args) != 1:
            return Reply(message=f"error: /{name} takes one value, e.g. /{name} 1")
        try:
            self._set(name, args[0])
        except (ValueError, InvalidArgument) as e:
            return Reply(message=f"error: /{name} {args[0]}: {e}")
        return Reply(message=self.describe())

    def _set_poem(self, option: PoemOption, text: str) -> Reply:
        """Sets or clears (`off`) one poem option, if the poem stays possible. With
        neither a form nor an acrostic left, the rules of lines go too: free text."""
        poem = dict(self.poem)
        poem.pop(option.name, None)
        word = text.lower()
        if option.flag:
            if word not in ("on", *_OFF):
                return Reply(message=f"error: /{option.option[2:]} takes on or off")
            if word == "on":
                poem[option.name] = True
        elif option.choices and "none" in option.choices and word in _OFF:
            poem[option.name] = "none"  # /rhyme off, /tones off
        elif word not in _OFF:
            poem[option.name] = option.normalize(text) if option.normalize else text
        note = ""
        if option.name in ("form", "acrostic") and not (poem.get("form") or poem.get("acrostic")):
            dropped = [k for k in poem if k not in ("form", "acrostic")]
            poem = {}
            if dropped:
                note = f" (free text: {', '.join(dropped)} off too)"
        try:
            spec = PoemSpec(**poem)
            if spec.active:
                self.gen.poem(spec)  # this model can write it
        except InvalidArgument as e:
            return Reply(message=f"error: /{option.option[2:]} {text}: {e}")
        self.poem = poem
        return Reply(message=self.describe() + note)

    def _set(self, name: str, text: str) -> None:
        if name in _SETTINGS:
            setting = _SETTINGS[name]
            value = setting.kind(text)
            self.settings = dataclasses.replace(self.settings, **{setting.name: value})
        elif name == "length":
            self.length = _whole(text, 1)
        elif name == "max-chars":
            self.max_chars = _whole(text, 0) or None
        elif name == "max-lines":
            self.max_lines = _whole(text, 0) or None
        else:
            self.seed = _whole(text, 0)

    def describe(self) -> str:
        """The current settings on one line, each named as its command is typed."""
        shown = [f"{s.option} {getattr(self.settings, s.name):g}" for s in SETTINGS]
        shown += [f"length {self.length}", f"max-chars {self.max_chars or 'no limit'}",
                  f"max-lines {self.max_lines or 'no limit'}",
                  f"seed {'random' if self.seed is None else self.seed}"]
        spec = PoemSpec(**self.poem)
        if spec.active:  # the poem's options, defaults filled in
            values = spec.as_dict()
            shown += [f"{o.option[2:]} {'on' if values[o.name] is True else values[o.name]}"
                      for o in POEM_OPTIONS if values[o.name] not in (None, False)]
        return ", ".join(shown)


def _after(line_chars: int, text: str) -> int:
    """The characters of the current line once `text` follows `line_chars` of it."""
    return len(text) - text.rfind("\n") - 1 if "\n" in text else line_chars + len(text)


def _whole(text: str, minimum: int) -> int:
    """Parses a whole number of at least `minimum`.

    Raises:
        ValueError: not a whole number, or too small.
    """
    value = int(text)
    if value < minimum:
        raise ValueError(f"must be >= {minimum}")
    return value
