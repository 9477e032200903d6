"""The `textgen` command line: thin click commands over the library.

Only this package (and `textgen.serve`) talks to users. Each command parses its
options, calls the library and prints; library errors become one line.
"""

from textgen.cli.app import cli, main

__all__ = ["cli", "main"]
