"""`python -m bittern`: the command line."""

from bittern.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
