"""``python -m bench [--small] [--only NAME] [--out FILE]``: see :mod:`bench.run`."""

from bench.run import main

raise SystemExit(main())
