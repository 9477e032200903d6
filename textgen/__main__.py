"""`python -m textgen` runs the command line."""

from textgen.cli.main import main

if __name__ == "__main__":
    main()
