"""`python -m textgen` runs the command line."""

from textgen.cli import main

if __name__ == "__main__":
    main()
