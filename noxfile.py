"""nox sessions: tests (all backends), one per backend, lint, check, bench.

``nox -s tests`` runs the suite on every installed backend, the tests marked
``slow`` apart (``nox -s tests_slow`` runs those); ``nox -s
tests_torch`` (etc.) one backend; ``nox -s lint``; ``nox -s check`` runs
``corelosses check``. ``CORELOSSES_TORCH_SPEC`` overrides the torch
requirement (CI pins the local CPU build, torch==2.13.0).
"""

from __future__ import annotations

import os

import nox

nox.options.sessions = ["lint", "package", "docs", "tests"]
nox.options.reuse_existing_virtualenvs = True

TORCH = os.environ.get("CORELOSSES_TORCH_SPEC", "torch==2.13.0")
BACKENDS = ("numpy", "array_api_strict", "torch", "jax", "dask")


def _install(session, extras="all"):
    # torch first, pinned, so nothing pulls a CUDA build from the index
    session.install(TORCH)
    session.install("-e", f".[{extras}]")


def _pytest(session, backends=None, marks="not slow"):
    env = {"CORELOSSES_TEST_BACKENDS": backends} if backends else {}
    workers = os.environ.get("CORELOSSES_TEST_WORKERS", "2")
    # worksteal: an idle worker takes queued tests from a busy one (the long
    # compile and JAX cases otherwise bunch up on one worker at the end)
    args = session.posargs or ["-n", workers, "--dist", "worksteal", "-m", marks]
    # pytest exits 5 when it collected nothing (e.g. a backend not installed)
    session.run("pytest", *args, env=env, success_codes=[0, 5])


@nox.session
def tests(session):
    """The whole suite on every installed backend."""
    _install(session)
    _pytest(session)


@nox.session
def tests_slow(session):
    """The tests marked ``slow`` (a Dask cluster, the example scripts, long cases), which
    ``tests`` leaves out to keep CI under 30 minutes on 2 cores."""
    _install(session)
    _pytest(session, marks="slow")


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
def package(session):
    """Build the wheel and sdist, check them, run the wheel from a clean venv; mypy.

    ``python -m build`` (sdist, then the wheel built from it), ``twine check
    --strict`` and ``check-wheel-contents``; the wheel installed with its runtime
    dependencies only in a fresh venv, where ``corelosses list`` and ``corelosses
    check`` (NumPy) run; ``mypy`` on the package (configured in pyproject.toml).
    """
    import glob
    import shutil
    import tempfile

    session.install("build", "twine", "check-wheel-contents", "mypy", "numpy", "array-api-compat")
    tmp = tempfile.mkdtemp(prefix="corelosses-package-")
    try:
        dist = os.path.join(tmp, "dist")
        session.run("python", "-m", "build", "--outdir", dist)
        wheels = glob.glob(os.path.join(dist, "*.whl"))
        sdists = glob.glob(os.path.join(dist, "*.tar.gz"))
        if len(wheels) != 1 or len(sdists) != 1:
            session.error(f"expected one wheel and one sdist, got {wheels + sdists}")
        session.run("twine", "check", "--strict", *wheels, *sdists)
        session.run("check-wheel-contents", *wheels)
        venv = os.path.join(tmp, "venv")
        session.run("python", "-m", "venv", venv)
        bindir = os.path.join(venv, "Scripts" if os.name == "nt" else "bin")
        py = os.path.join(bindir, "python")
        session.run(py, "-m", "pip", "install", "-q", wheels[0], external=True)
        # from outside the source tree: the installed wheel, not the checkout
        session.run(py, "-c", CHECK_WHEEL, external=True)
        session.run(os.path.join(bindir, "corelosses"), "list", external=True, silent=True)
        session.run(
            os.path.join(bindir, "corelosses"), "check", "--backends", "numpy", external=True
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    session.run("mypy")


CHECK_WHEEL = """
import os, sys
sys.path = [p for p in sys.path if os.path.abspath(p or '.') != os.getcwd()]
import corelosses as cl
assert 'site-packages' in cl.__file__, cl.__file__
assert os.path.exists(os.path.join(os.path.dirname(cl.__file__), 'py.typed'))
print('corelosses', cl.__version__, 'from', os.path.dirname(cl.__file__), len(cl.catalog()), 'functions')
"""


@nox.session
def docs(session):
    """The documentation site, warnings as errors: docs/_build/html/index.html.

    The API pages, their figures, the migration guide and the gallery are
    generated from the catalog at build time (docs/_generate.py). When Chromium
    is installed (Debian's ``chromium``), ``docs/_render_check.py`` then opens one
    reference page and the migration guide headless, checks that the figure and
    the table render and saves screenshots to docs/_build/screenshots/.
    """
    _install(session, "all,docs")
    out = os.path.join("docs", "_build", "html")
    session.run(
        "sphinx-build", "-W", "--keep-going", "-E", "-b", "html", "docs", out,
        env={"KERAS_BACKEND": os.environ.get("KERAS_BACKEND", "jax")},
    )  # fmt: skip
    session.run("python", os.path.join("docs", "_render_check.py"), out)


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
