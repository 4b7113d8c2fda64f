"""The PyTorch observer: watches modules, optimizers and losses through PyTorch's own hooks.

``backend`` is the observer (:class:`TorchBackend`, torch imported only when it is
installed), ``watch`` the hooks and their records, ``sites`` the user's lines,
``leak`` the batch-independence probe, ``rules`` turns the records into findings.
"""
