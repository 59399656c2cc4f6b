"""`python -m bittern.cli`, as `bittern`."""

from . import main

if __name__ == "__main__":
    raise SystemExit(main())
