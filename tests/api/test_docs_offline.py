"""The documentation works as a guide offline (issue 43).

- The built pages load MathJax from the build itself (``_static/mathjax``, bundled by the
  ``sphinx-mathjax-offline`` package of the ``docs`` extra), never from a CDN, so a local copy renders
  formulas without network.  Checked on a text-only build of the front page and the user guide
  (``GANPRIOR_DOCS_EXECUTE=none``, a few seconds), into a temporary folder.
- No user-guide page carries a benchmark timing: measurements live in ``benchmarks/README.md`` beside the
  committed results, and the guide links to them.
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys

import pytest
from conftest import REPO_ROOT

DOCS = REPO_ROOT / "docs"
USER_GUIDE = DOCS / "user_guide"

pytestmark = pytest.mark.skipif(not (DOCS / "conf.py").is_file(), reason="docs/ not present (installed package)")


def _conf_extensions() -> list[str]:
    """The ``extensions`` list of docs/conf.py, read without running the file."""
    tree = ast.parse((DOCS / "conf.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "extensions" for t in node.targets):
            return ast.literal_eval(node.value)
    raise AssertionError("docs/conf.py defines no extensions list")


def test_conf_bundles_mathjax():
    extensions = _conf_extensions()
    assert "sphinx.ext.mathjax" in extensions
    assert "sphinx-mathjax-offline" in extensions, "docs/conf.py must serve MathJax from the build, not a CDN"
    assert "mathjax_path" not in (DOCS / "conf.py").read_text(), "mathjax_path would override the bundled copy"


_SCRIPT = re.compile(r"<script[^>]*\bsrc=\"([^\"]*)\"", re.I)


def test_built_pages_reference_no_remote_mathjax(tmp_path):
    pytest.importorskip("sphinx")
    pytest.importorskip("sphinx-mathjax-offline", reason="the docs extra: pip install -e .[docs]")
    out = tmp_path / "html"
    env = dict(os.environ, GANPRIOR_DOCS_EXECUTE="none", GANPRIOR_DOCS_THREADS="1", OMP_NUM_THREADS="1")
    env.pop("GANPRIOR_DOCS_INTERSPHINX", None)
    # the front page and the user guide only: the pages with maths, and a build of seconds
    # a copy of docs/: sphinx-gallery writes its pages into the source tree, and CI builds the real docs (with the
    # tutorials executed) at the same time as the tests run
    src = tmp_path / "docs"
    shutil.copytree(DOCS, src, ignore=shutil.ignore_patterns("_build", "auto_tutorials", "generated"))
    cmd = [sys.executable, "-m", "sphinx", "-q", "-b", "html", "-D", "include_patterns=index.rst,user_guide/**",
           "-d", str(tmp_path / "doctrees"), str(src), str(out)]
    run = subprocess.run(cmd, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]

    pages = sorted(out.glob("user_guide/*.html"))
    assert len(pages) >= 5, f"the user guide was not built: {pages}"
    with_maths = 0
    for page in [out / "index.html", *pages]:
        html = page.read_text(encoding="utf-8")
        mathjax = [src for src in _SCRIPT.findall(html) if "mathjax" in src.lower()]
        remote = [src for src in mathjax if "://" in src or src.startswith("//")]
        assert not remote, f"{page.relative_to(out)} loads MathJax from the network: {remote}"
        assert "cdn.jsdelivr.net/npm/mathjax" not in html and "mathjax@" not in html, page.relative_to(out)
        if mathjax:
            with_maths += 1
            for src in mathjax:  # the script the page names is in the build
                assert (page.parent / src).resolve().is_file(), f"{page.relative_to(out)}: {src} is not in the build"
    assert with_maths >= 5, "expected the user-guide pages with formulas to load MathJax"
    # the fonts the CommonHTML output loads come with it
    assert list((out / "_static" / "mathjax" / "output" / "chtml" / "fonts").rglob("*.woff"))


# A number followed by a unit of time or a speed-up: "66 s", "34 seconds", "2.5 ms", "3 min", "1.8x faster",
# "5 times faster", "took 12 h".  Such measurements belong in benchmarks/README.md beside the results.
_TIMING = re.compile(
    r"\b\d+(?:[.,]\d+)?\s*(?:-\s*\d+(?:\.\d+)?\s*)?"
    r"(?:s|sec|secs|seconds?|ms|milliseconds?|min|minutes?|h|hours?)\b(?!\w)"
    r"|\b\d+(?:\.\d+)?\s*(?:x|times)\s+(?:faster|slower|quicker)\b"
    r"|\btook\s+(?:about\s+)?\d",
    re.I,
)
# Mentions that are not benchmark timings, allowed explicitly: (file, text matched).
_TIMING_ALLOWED: set[tuple[str, str]] = set()


def _strip_literals(text: str) -> str:
    """The prose of an rst page: no inline literals (``...``), roles' targets or code blocks."""
    text = re.sub(r"``[^`]*``", " ", text)
    text = re.sub(r":[a-z:]+:`[^`]*`", " ", text)
    lines, out, in_block, indent = text.splitlines(), [], False, 0
    for line in lines:
        stripped = line.lstrip()
        if in_block:
            if stripped and len(line) - len(stripped) <= indent:
                in_block = False
            else:
                continue
        if re.match(r"\.\. (code-block|code|literalinclude|math)::", stripped):
            in_block, indent = True, len(line) - len(stripped)
            continue
        out.append(line)
    return "\n".join(out)


def test_timing_regex_catches_measurements():
    caught = ["one CPU thread took 66 s with the default", "34 s with one ISTA step", "about 2.5 seconds",
              "ran 18 times slower", "1.8x faster than", "in 3 min", "0.4 ms per step"]
    for text in caught:
        assert _TIMING.search(_strip_literals(text)), text
    for text in ["m = 25", "10 restarts x 300 Adam steps", "5 folds", "a 64x64 DCGAN", "``steps=1000``",
                 ":math:`m = 100`", "3-5 solves"]:
        assert not _TIMING.search(_strip_literals(text)), text


@pytest.mark.parametrize("page", sorted(p.name for p in USER_GUIDE.glob("*.rst") if not p.name.startswith("_")))
def test_user_guide_carries_no_timing(page):
    prose = _strip_literals((USER_GUIDE / page).read_text(encoding="utf-8"))
    found = [m.group(0) for m in _TIMING.finditer(prose) if (page, m.group(0)) not in _TIMING_ALLOWED]
    assert not found, (f"docs/user_guide/{page} carries timings {found}: move the measurement to "
                       "benchmarks/README.md beside its results and link to it from the guide")
