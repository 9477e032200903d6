"""What poem a generation is asked for (`PoemSpec`), and its options, each declared once.

`POEM_OPTIONS` is to poems what `textgen.generate.settings.SETTINGS` is to the
sampler: the `textgen sample` options (`--form`, `--acrostic`, ...) and the
keyword arguments of `Generator.run` are made from it, and so can an HTTP API's
fields be. This module imports nothing heavy and loads no table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

from textgen.errors import InvalidArgument
from textgen.generate.poetry.forms import FORMS

RHYMES = ("pingshui", "none")
TONES = ("strict", "loose", "none")
ACROSTIC_LINE = 7  # characters a line when an acrostic comes without a form


def normal_form(name: str) -> str:
    """A form's name in the spelling of `FORMS` (七絕 -> 七绝); others unchanged."""
    return str(name).replace("絕", "绝")


@dataclass(frozen=True)
class PoemOption:
    """One poem option.

    Attributes:
        name: the `PoemSpec` field and keyword argument; the option uses dashes.
        help: the `textgen sample` option's help text.
        choices: the allowed values, or None for free text.
        flag: an on/off switch.
        metavar: the value's placeholder in help texts.
        normalize: maps other spellings of a choice to it (七絕 -> 七绝), or None.
        summary: one short line (the interactive `/help`).
    """

    name: str
    help: str
    summary: str = ""
    choices: tuple[str, ...] | None = None
    flag: bool = False
    metavar: str | None = None
    normalize: Callable[[str], str] | None = None  # other spellings of the choices

    @property
    def option(self) -> str:
        """The command-line option (`--rhyme-group`)."""
        return "--" + self.name.replace("_", "-")


POEM_OPTIONS: tuple[PoemOption, ...] = (
    PoemOption("form", choices=tuple(FORMS), normalize=normal_form,
               summary="each reply is a poem of this form (off: free text)",
               help="A classical form: 五绝/七绝 (4 lines; 絕 too), 五律/七律 (8 lines) of 5 "
                    "or 7 characters, ， and 。 in their places; the sample is exactly the poem "
                    "(a prime is its beginning). Character models only."),
    PoemOption("acrostic", metavar="HEADS", summary="藏头: line i starts with head i",
               help="藏头: line i starts with the i-th character of HEADS (at most one a "
                    "line; without --form, one line of 7 characters per head)."),
    PoemOption("rhyme", choices=RHYMES, summary="平水韵 rhyme in the even lines, or none",
               help="pingshui: the even lines end on 平声 characters of one 平水韵 group "
                    "(line 1 may rhyme). Default: pingshui with --form, else none."),
    PoemOption("rhyme_group", metavar="GROUP", summary="rhyme in this 平声 group (七阳)",
               help="The 平水韵 group to rhyme in (七阳, 十一尤, ...); default: the first "
                    "rhyming line's."),
    PoemOption("tones", choices=TONES, summary="平仄 rules",
               help="平仄: strict follows a standard template at every position, loose "
                    "keeps 二四六分明 and no 三平尾, none leaves tones free. Default: loose "
                    "with --form, else none."),
    PoemOption("no_repeat", flag=True, summary="no character twice within a line",
               help="No character twice within a line."),
)


@dataclass(frozen=True)
class PoemSpec:
    """A poem's constraints, validated. None means the default (see `POEM_OPTIONS`).

    Attributes:
        form: "五绝", "七绝", "五律" or "七律" (traditional 絕 accepted), or None.
        acrostic: the heads of the lines (藏头), or None.
        rhyme: "pingshui" or "none".
        rhyme_group: a 平声 group's name ("七阳"), or None to let the poem choose.
        tones: "strict", "loose" or "none".
        no_repeat: no character twice within a line.

    Raises:
        InvalidArgument: an unknown form, more heads than lines, a non-Han head, a
            rhyme group with rhyme "none", rules without a form or acrostic.
    """

    form: str | None = None
    acrostic: str | None = None
    rhyme: str | None = None
    rhyme_group: str | None = None
    tones: str | None = None
    no_repeat: bool = False

    def __post_init__(self) -> None:
        if self.form is not None:
            form = normal_form(self.form)
            if form not in FORMS:
                raise InvalidArgument(f"`form` must be one of {', '.join(FORMS)}. "
                                      f"Received: form={self.form!r}")
            object.__setattr__(self, "form", form)
        if self.acrostic is not None:
            from textgen.data.tokenizers.han import HAN_RUN  # (the data package loads NumPy)

            if not isinstance(self.acrostic, str) or not HAN_RUN.fullmatch(self.acrostic):
                raise InvalidArgument("`acrostic` must be Han characters, one per line. "
                                      f"Received: acrostic={self.acrostic!r}")
            if len(self.acrostic) > self.lines:
                raise InvalidArgument(
                    f"`acrostic` has {len(self.acrostic)} heads but a {self.form} has "
                    f"{self.lines} lines. Received: acrostic={self.acrostic!r}")
        if self.rhyme is not None and self.rhyme not in RHYMES:
            raise InvalidArgument(f"`rhyme` must be one of {', '.join(RHYMES)}. "
                                  f"Received: rhyme={self.rhyme!r}")
        if self.tones is not None and self.tones not in TONES:
            raise InvalidArgument(f"`tones` must be one of {', '.join(TONES)}. "
                                  f"Received: tones={self.tones!r}")
        if self.rhyme_group is not None:
            if self.rhyme == "none":
                raise InvalidArgument("`rhyme_group` needs rhyme 'pingshui'. Received: "
                                      f"rhyme='none', rhyme_group={self.rhyme_group!r}")
            from textgen.generate.poetry.table import group_index

            group_index(self.rhyme_group)  # raises for an unknown name
        if not self.active and (self.rhyme_group is not None or self.no_repeat
                                or self.rhyme == "pingshui" or self.tones not in (None, "none")):
            raise InvalidArgument("rhyme, tones and no_repeat rule a poem's lines: give a "
                                  "`form` (五绝, 七绝, 五律, 七律) or an `acrostic` too")

    @property
    def active(self) -> bool:
        """Whether a poem is asked for (a form or an acrostic)."""
        return self.form is not None or self.acrostic is not None

    @property
    def lines(self) -> int:
        """Poem lines: the form's, else one per head."""
        return FORMS[self.form][0] if self.form else len(self.acrostic or "")

    @property
    def chars(self) -> int:
        """Characters per line: the form's, else 7."""
        return FORMS[self.form][1] if self.form else ACROSTIC_LINE

    @property
    def rhymed(self) -> bool:
        """Whether the even lines rhyme (default: with a form, or with a rhyme group)."""
        if self.rhyme is None:
            return self.form is not None or self.rhyme_group is not None
        return self.rhyme == "pingshui"

    @property
    def tone_mode(self) -> str:
        """"strict", "loose" or "none" (default: loose with a form, else none)."""
        if self.tones is None:
            return "loose" if self.form is not None else "none"
        return self.tones

    @property
    def group(self) -> int | None:
        """The asked-for 平声 group's index (`table.PING_GROUPS`), or None."""
        if self.rhyme_group is None:
            return None
        from textgen.generate.poetry.table import group_index

        return group_index(self.rhyme_group)

    def as_dict(self) -> dict:
        """The constraints as given, with the defaults filled in (for JSON output)."""
        out = asdict(self)
        out.update(rhyme="pingshui" if self.rhymed else "none", tones=self.tone_mode,
                   lines=self.lines, chars=self.chars)
        return out
