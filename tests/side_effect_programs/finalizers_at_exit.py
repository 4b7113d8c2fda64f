"""A cycle of objects with finalizers, left to the collector at exit; the collector's state seen by atexit (``netdoctor run`` sets the program's objects aside while it writes its report, and hands them back)."""
import atexit
import gc


class Node:
    def __del__(self):
        print("finalized", flush=True)


a, b = Node(), Node()
a.other, b.other = b, a
atexit.register(lambda: print("at exit: frozen", gc.get_freeze_count(), "enabled", gc.isenabled(), flush=True))
print("done")
