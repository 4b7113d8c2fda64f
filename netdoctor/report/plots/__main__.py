"""``python -m netdoctor.report.plots REPORT.json DIR``: the plots of a saved ``--json`` report, as PNG files in DIR."""

import sys

from netdoctor.report.plots.figures import main

if __name__ == "__main__":
    sys.exit(main())
