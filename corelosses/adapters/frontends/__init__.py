"""Front-ends generated from the catalog, built on the backends one level up:
``torch_modules`` (``corelosses.torch``), ``keras_losses`` (``corelosses.keras``),
``jax_api`` (``corelosses.jax``) and ``_wrap``, what they share."""
