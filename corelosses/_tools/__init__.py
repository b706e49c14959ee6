"""The tooling, apart from the losses: ``cli`` (the ``corelosses`` command),
``check`` / ``check_cases`` (the loss-by-backend report), ``bench`` /
``bench_pairs`` / ``bench_timing`` (the speed comparison) and ``plot``."""
