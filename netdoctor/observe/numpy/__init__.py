"""The NumPy observer: finds the arrays a program trains and watches what each update applies.

``backend`` is the observer (:class:`NumpyBackend`: its state and the program's events); what it
records while watching is in ``updates``, ``targets``, ``outputs``, ``activations`` and ``views``;
``arrays`` the object-graph walk that finds parameters and buffers, ``verdicts`` turns its records
into findings.
"""
