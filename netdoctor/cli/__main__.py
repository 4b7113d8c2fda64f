"""``python -m netdoctor.cli``: the same as the ``netdoctor`` command."""

import sys

from netdoctor.cli.app import main

if __name__ == "__main__":  # importing this module (pkgutil.walk_packages does) must not run the command
    sys.exit(main())
