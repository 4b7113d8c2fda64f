"""Training programs written the way users write them, for `netdoctor run` (see manifest.py)."""
