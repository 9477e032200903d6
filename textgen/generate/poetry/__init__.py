"""Classical Chinese poetry forms as sampler constraints: 五绝 七绝 五律 七律, 藏头, 平水韵, 平仄.

Owns the 平水韵 table by character (`table`: tones and 平声 rhyme groups, loaded
once, on first use, in the vocabulary's script), the same per vocabulary id
(`lexicon`), the forms and tone templates as data (`forms`), what a request asks
for and its options declared once (`spec`), one constraint per rule (`rules`:
shape, heads, rhyme, tones, no repeats), their composition with relaxation
(`poem`) and a checker independent of the masks (`check`).

Importing this package loads no table: the first rule that runs does.
"""

# The main names, imported on first use (PEP 562): importing the package stays light
# (`textgen --help` loads no NumPy), and `from textgen.generate.poetry import
# check_poem, PoemSpec` works.
_EXPORTS = {
    "PoemSpec": "spec", "POEM_OPTIONS": "spec", "check_poem": "check", "PoemCheck": "check",
    "Poem": "poem", "Layout": "forms", "FORMS": "forms", "load_table": "table",
    "PING_GROUPS": "table",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(f"{__name__}.{_EXPORTS[name]}"), name)
