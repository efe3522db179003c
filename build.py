"""The build command-line entry: see `python build.py --help`."""

from stepwise.cli import run

if __name__ == "__main__":
    run()
