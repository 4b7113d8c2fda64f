"""Generated training programs: seeded writers that compose complete programs over a style space.

Hand-written corpora (``tests/user_scripts``, ``tests/user_nets``) cover the
styles their authors thought of. The writers here compose whole training
programs from style choices (where the training code lives, containers, data
layout, where the output goes, how gradients travel, batching, loss,
activation, ...) and plant one bug or none; every buggy program has a healthy
twin that differs from it only at the bug. The NumPy writer's extended styles
(``sample_style(seed, extended=True)``) add how the loop walks the data, the
optimizer, depth, initialisation and dtype, and leave the base styles as they were.

* :mod:`generated.numpy_programs` writes NumPy programs;
* :mod:`generated.torch_programs` writes PyTorch programs;
* :mod:`generated.harness` runs a program with plain ``python`` and under
  ``netdoctor run --json FILE`` and judges the report against the label; its
  ``sample_tests`` defines the tests both fixed samples run.

``tests/test_generated_numpy.py`` and ``tests/test_generated_torch.py`` run a
fixed small sample in CI; ``python bench/sweep.py`` runs the large sweep.
"""
