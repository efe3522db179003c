"""The build command-line entry: see `python build.py --help`."""

from stepwise.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
