"""Sphinx configuration of the ganprior documentation.

Build (from the repository root, warnings as errors)::

    python -m sphinx -W --keep-going -b html docs docs/_build/html

The maths is rendered by a MathJax copied into ``_static/mathjax`` from the ``sphinx-mathjax-offline`` package
(the ``docs`` extra), so a built copy renders formulas without network (``tests/api/test_docs_offline.py``).

The tutorials in ``docs/tutorials/`` are executed at build time by sphinx-gallery.
Environment variables:

- ``GANPRIOR_DOCS_EXECUTE``: a regular expression; only tutorials whose path matches it are executed
  (the others are rendered without output).  Default: all of them.  ``GANPRIOR_DOCS_EXECUTE=none``
  executes none (a quick build of the text and the API reference).
- ``GANPRIOR_DOCS_THREADS``: torch CPU threads for the tutorials (default: ``$OMP_NUM_THREADS`` if set,
  else min(2, CPU count)).  On a busy machine use 1.
- ``GANPRIOR_DOCS_INTERSPHINX=1``: link to the NumPy, PyTorch and scikit-learn docs.  Off by default
  because it downloads their inventories; the build must work offline.
- ``GANPRIOR_DATA``: where the full datasets live (the training tutorial reads MNIST from there); when
  unset, ``../shared/data`` beside the repository is used if it exists.
"""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

DOCS = Path(__file__).resolve().parent
REPO = DOCS.parent
sys.path.insert(0, str(REPO))

import ganprior  # noqa: E402

# -- the data the tutorials read, and how hard they may use the machine ---------------------------------
_shared = REPO.parent / "shared" / "data"
if not os.environ.get("GANPRIOR_DATA") and _shared.is_dir():
    os.environ["GANPRIOR_DATA"] = str(_shared)

import torch  # noqa: E402

# GANPRIOR_DOCS_THREADS, else OMP_NUM_THREADS, else up to 2 (more threads than free cores slows torch down a lot)
_threads = os.environ.get("GANPRIOR_DOCS_THREADS") or os.environ.get("OMP_NUM_THREADS") or min(2, os.cpu_count() or 1)
torch.set_num_threads(int(_threads))

# -- the methods table is generated from the registry, so it lists every registered method ------------
(DOCS / "user_guide" / "_methods_table.rst").write_text(ganprior.solvers.registry.methods_table())

# -- project ----------------------------------------------------------------------------------------------
project = "ganprior"
author = "the ganprior developers"
copyright = "2025, the ganprior developers"
version = release = ganprior.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx-mathjax-offline",  # serves MathJax from _static/mathjax: the maths renders without network
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "user_guide/_methods_table.rst", "**.ipynb_checkpoints", "tutorials/*", "auto_tutorials/*.py", "auto_tutorials/*.zip"]
root_doc = "index"
default_role = "code"

# -- API reference ----------------------------------------------------------------------------------------
autosummary_generate = True
autosummary_imported_members = False
autodoc_default_options = {"member-order": "bysource"}
autodoc_typehints = "none"  # the numpydoc Parameters sections say it better than the annotations
add_module_names = False

numpydoc_show_class_members = False  # our class template lists the members itself
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
numpydoc_xref_param_type = False

# -- cross-references to other projects (opt-in: they need the network) -----------------------------------
if os.environ.get("GANPRIOR_DOCS_INTERSPHINX") == "1":
    extensions.append("sphinx.ext.intersphinx")
    intersphinx_mapping = {
        "python": ("https://docs.python.org/3", None),
        "numpy": ("https://numpy.org/doc/stable/", None),
        "torch": ("https://pytorch.org/docs/stable/", None),
        "sklearn": ("https://scikit-learn.org/stable/", None),
    }
    intersphinx_timeout = 10

# -- tutorials ----------------------------------------------------------------------------------------------
_execute = os.environ.get("GANPRIOR_DOCS_EXECUTE", "").strip()
sphinx_gallery_conf = {
    "examples_dirs": ["tutorials"],
    "gallery_dirs": ["auto_tutorials"],
    "filename_pattern": _execute if _execute and _execute != "none" else r"/plot_",
    "plot_gallery": "False" if _execute == "none" else "True",
    "within_subsection_order": "FileNameSortKey",
    "download_all_examples": False,
    "remove_config_comments": True,
    "min_reported_time": 1,
    "abort_on_example_error": False,
    "backreferences_dir": None,
    "show_memory": False,
    "capture_repr": (),
}
# matplotlib runs headless; sphinx-gallery's scraper closes the figures after each block
os.environ.setdefault("MPLBACKEND", "Agg")
warnings.filterwarnings("ignore", message="Matplotlib is currently using agg", category=UserWarning)

# -- HTML ---------------------------------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"ganprior {release}"
html_static_path = []
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc", "sourcelink"],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
html_sidebars = {"index": [], "installation": [], "changelog": []}
html_show_sourcelink = True


# -- autodoc hooks --------------------------------------------------------------------------------------------
def _private(cls) -> bool:
    return any(part.startswith("_") for part in (cls.__name__, *cls.__module__.split(".")))


def _public_bases(app, name, obj, options, bases):
    """Show the first public ancestor instead of a private base class (``_Wrapper`` -> ``torch.nn.Module``,
    ``ganprior.training._loop.TrainingLoop`` -> ``object``)."""
    for i, base in enumerate(bases):
        if _private(base):
            bases[i] = next(b for b in base.__mro__ if not _private(b))
    if len(bases) > 1:  # a private mix-in beside a public base: show the public base alone
        bases[:] = [b for b in dict.fromkeys(bases) if b is not object]


def _skip_module_hooks(app, what, name, obj, skip, options):
    """Hide overrides of ``torch.nn.Module`` hooks (``extra_repr``, ...) on modules; keep ``forward``."""
    qualname = getattr(obj, "__qualname__", "")
    module = sys.modules.get(getattr(obj, "__module__", None) or "")
    if what != "class" or "." not in qualname or module is None or name == "forward":
        return None
    owner = getattr(module, qualname.split(".")[0], None)
    if isinstance(owner, type) and issubclass(owner, torch.nn.Module) and hasattr(torch.nn.Module, name):
        return True
    return None


def setup(app):
    app.connect("autodoc-process-bases", _public_bases)
    app.connect("autodoc-skip-member", _skip_module_hooks)
