"""Data only: textgen's base models, one folder each (en-base, zh-base).

textgen finds them through the entry-point group ``textgen.models``; see
``textgen/run/installed.py`` for the folder layout and the manifest check, and
each folder's ``card.md`` for how the model was trained and how good it is.
"""
