"""The NumPy observer: finds the arrays a program trains and watches what each update applies.

``backend`` is the observer (:class:`NumpyBackend`), ``arrays`` the object-graph
walk that finds parameters and buffers, ``verdicts`` turns its records into findings.
"""
