"""``python -m tastebud``: the same as the ``tastebud`` command."""

from tastebud.cli import main

if __name__ == "__main__":
    main()
