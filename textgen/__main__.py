"""`python -m textgen` runs the command line."""

from textgen.cli.app import main

if __name__ == "__main__":
    main()
