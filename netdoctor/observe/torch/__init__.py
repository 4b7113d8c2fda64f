"""The PyTorch observer: watches modules, optimizers and losses through PyTorch's own hooks.

``backend`` is the observer (:class:`TorchBackend`, installed when any module of the
program first imports torch), ``watch`` the hooks and the step bookkeeping, with its
parts: ``forward`` the forward passes, ``registry`` which modules are models and their
names, ``sampling`` the parameters on sampled steps, ``losses`` what reaches the losses,
``counts`` every step's predictions against its labels, ``windows`` the statistics
windows, ``wrappers`` where the program calls train()/eval(), creates optimizers and
steps schedulers; ``records`` their typed records, ``models`` construction sites and the
program's names for loose tensors, ``calls`` calls made as if from the user's line and
functional dropout, ``sites`` the user's lines, ``tree`` a model's submodules, parameters
and mode read without running the program's attribute hooks, ``leak`` the
batch-independence probe, ``rules`` turns the records into findings.
"""
