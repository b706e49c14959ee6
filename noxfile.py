"""nox sessions: tests (all backends), one per backend, lint, check, bench.

``nox -s tests`` runs the whole suite on every installed backend; ``nox -s
tests_torch`` (etc.) one backend; ``nox -s lint``; ``nox -s check`` runs
``corelosses check``. ``CORELOSSES_TORCH_SPEC`` overrides the torch
requirement (CI pins the local CPU build, torch==2.13.0).
"""

from __future__ import annotations

import os

import nox

nox.options.sessions = ["lint", "tests"]
nox.options.reuse_existing_virtualenvs = True

TORCH = os.environ.get("CORELOSSES_TORCH_SPEC", "torch==2.13.0")
BACKENDS = ("numpy", "array_api_strict", "torch", "jax", "dask")


def _install(session, extras="all"):
    # torch first, pinned, so nothing pulls a CUDA build from the index
    session.install(TORCH)
    session.install("-e", f".[{extras}]")


def _pytest(session, backends=None):
    env = {"CORELOSSES_TEST_BACKENDS": backends} if backends else {}
    args = session.posargs or ["-n", os.environ.get("CORELOSSES_TEST_WORKERS", "2")]
    # pytest exits 5 when it collected nothing (e.g. a backend not installed)
    session.run("pytest", *args, env=env, success_codes=[0, 5])


@nox.session
def tests(session):
    """The whole suite on every installed backend."""
    _install(session)
    _pytest(session)


@nox.session
@nox.parametrize("backend", BACKENDS)
def tests_backend(session, backend):
    """The suite on one backend: nox -s "tests_backend(backend='torch')"."""
    _install(session)
    _pytest(session, backend)


@nox.session
def lint(session):
    session.install("ruff>=0.6")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", "corelosses")


@nox.session
def check(session):
    """corelosses check on every installed backend."""
    _install(session)
    session.run("corelosses", "check")


@nox.session
def bench(session):
    """Speed against native implementations (benchmarks/)."""
    _install(session)
    session.run("python", "-m", "benchmarks", *session.posargs)
