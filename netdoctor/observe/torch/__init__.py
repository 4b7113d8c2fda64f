"""The PyTorch observer: watches modules, optimizers and losses through PyTorch's own hooks.

``backend`` is the observer (:class:`TorchBackend`, installed when any module of the
program first imports torch), ``watch`` the hooks on modules and optimizers and
their records, ``losses`` what reaches the losses, ``models`` which model is which
(construction sites, the program's names for loose tensors), ``calls`` calls made
as if from the user's line and functional dropout, ``sites`` the user's lines,
``leak`` the batch-independence probe, ``rules`` turns the records into findings.
"""
