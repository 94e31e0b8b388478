"""Every public name has a numpydoc docstring, and the API reference lists every public name.

"Public" means: every module of the package whose dotted path has no component starting with an
underscore, and in each such module the names in its ``__all__`` (or, without one, the public names it
defines).  For each public class or function the
test requires a docstring; a function (or a class constructor, or a public method) that takes parameters
must document them in a numpydoc ``Parameters`` section.  With numpydoc installed (the ``docs`` extra),
the parameter names documented must match the signature.  The API reference (``docs/api/*.rst``) must
list every public class and function under one of its public paths.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import pkgutil
import re

import pytest
from conftest import REPO_ROOT

import ganprior

DOCS_API = REPO_ROOT / "docs" / "api"


def public_modules() -> list[str]:
    """Dotted names of the public modules of ganprior, sorted."""
    names = ["ganprior"]
    for info in pkgutil.walk_packages(ganprior.__path__, prefix="ganprior."):
        if any(part.startswith("_") for part in info.name.split(".")):
            continue
        names.append(info.name)
    return sorted(names)


def _own_routines(cls):
    """Public methods and properties that ``cls`` defines or inherits from a ganprior class.

    Overrides of ``torch.nn.Module`` hooks (``extra_repr``, ...) are left out, ``forward`` excepted.
    """
    import torch

    seen = set()
    for klass in cls.__mro__:
        if not klass.__module__.startswith("ganprior"):
            continue
        for name, attr in vars(klass).items():
            if name.startswith("_") or name in seen:
                continue
            seen.add(name)
            if name != "forward" and hasattr(torch.nn.Module, name) and issubclass(cls, torch.nn.Module):
                continue
            if isinstance(attr, (staticmethod, classmethod)):
                attr = attr.__func__
            if inspect.isfunction(attr):
                yield f"{attr.__module__}.{attr.__qualname__}", attr
            elif isinstance(attr, property) and attr.fget is not None:
                yield f"{attr.fget.__module__}.{attr.fget.__qualname__}", attr


def public_names(module) -> list[str]:
    """``module.__all__``, or else the public names the module itself defines."""
    if hasattr(module, "__all__"):
        return list(module.__all__)
    return sorted(n for n, v in vars(module).items()
                  if not n.startswith("_") and getattr(v, "__module__", None) == module.__name__)


def public_objects():
    """(qualified path, object) for every public class and function, each object once."""
    out, seen = [], set()
    for modname in public_modules():
        module = importlib.import_module(modname)
        for name in public_names(module):
            obj = getattr(module, name)
            if not (inspect.isclass(obj) or inspect.isfunction(obj)) or id(obj) in seen:
                continue
            if not getattr(obj, "__module__", "").startswith("ganprior"):
                continue
            seen.add(id(obj))
            out.append((f"{modname}.{name}", obj))
    return out


def _takes_parameters(func, *, bound: bool) -> bool:
    try:
        params = list(inspect.signature(func).parameters.values())
    except (TypeError, ValueError):
        return False
    if bound and params and params[0].name in ("self", "cls"):
        params = params[1:]
    return bool(params)


def _has_section(doc: str, title: str) -> bool:
    return re.search(rf"^\s*{title}\n\s*-{{{len(title)}}}\s*$", doc, flags=re.M) is not None


def _problems(path: str, obj, seen_members: set) -> list[str]:
    problems = []
    doc = inspect.getdoc(obj) if not inspect.isclass(obj) else obj.__doc__
    if not doc or not doc.strip():
        return [f"{path}: no docstring"]
    doc = inspect.cleandoc(doc)
    if inspect.isclass(obj):
        init = obj.__init__
        own_init = any("__init__" in vars(k) and k.__module__.startswith("ganprior") for k in obj.__mro__[:-1])
        if dataclasses.is_dataclass(obj):
            if not _has_section(doc, "Attributes"):
                problems.append(f"{path}: a dataclass needs an Attributes section")
            else:
                attrs = doc.split("Attributes", 1)[1]
                problems += [f"{path}: field {f.name!r} missing from the Attributes section"
                             for f in dataclasses.fields(obj) if not re.search(rf"^{f.name} :", attrs, flags=re.M)]
        elif own_init and _takes_parameters(init, bound=True) and not _has_section(doc, "Parameters"):
            problems.append(f"{path}: the constructor takes parameters but the class docstring has no "
                            "Parameters section")
        for mpath, member in _own_routines(obj):
            if id(member) in seen_members:  # an inherited member is checked once, where it is defined
                continue
            seen_members.add(id(member))
            # an override without a docstring of its own inherits the documented base method's (as autodoc shows it)
            mdoc = inspect.getdoc(member) if inspect.isfunction(member) else member.__doc__
            if not mdoc or not mdoc.strip():
                problems.append(f"{mpath}: no docstring")
            elif inspect.isfunction(member) and _takes_parameters(member, bound=True) \
                    and not _has_section(inspect.cleandoc(mdoc), "Parameters"):
                problems.append(f"{mpath}: takes parameters but has no Parameters section")
    elif _takes_parameters(obj, bound=False) and not _has_section(doc, "Parameters"):
        problems.append(f"{path}: takes parameters but has no Parameters section")
    return problems


def test_public_modules_have_docstrings():
    missing = []
    for modname in public_modules():
        module = importlib.import_module(modname)
        if not (module.__doc__ or "").strip():
            missing.append(f"{modname}: no module docstring")
        missing += [f"{modname}.{n}: listed in __all__ but missing" for n in getattr(module, "__all__", [])
                    if not hasattr(module, n)]
    assert not missing, "\n".join(missing)


def test_public_names_have_numpydoc_docstrings():
    problems, seen_members = [], set()
    for path, obj in public_objects():
        problems += _problems(path, obj, seen_members)
    assert not problems, f"{len(problems)} public names lack documentation:\n" + "\n".join(problems)


def test_documented_parameters_match_signatures():
    """numpydoc's validator: PR01 (parameter not documented) and PR02 (documented but not a parameter)."""
    pytest.importorskip("numpydoc")
    from numpydoc.validate import validate

    problems, seen = [], set()
    for path, obj in public_objects():
        targets = [] if dataclasses.is_dataclass(obj) else [path]  # dataclass fields: see the test above
        if inspect.isclass(obj):
            for mpath, member in _own_routines(obj):
                if inspect.isfunction(member) and id(member) not in seen:
                    seen.add(id(member))
                    targets.append(mpath)
        for target in targets:
            for code, message in validate(target)["errors"]:
                if code in ("PR01", "PR02"):
                    problems.append(f"{target}: {code} {message}")
    assert not problems, "\n".join(problems)


def _documented_paths() -> set[str]:
    """Dotted paths listed in the autosummary tables of docs/api/*.rst."""
    paths = set()
    for rst in sorted(DOCS_API.glob("*.rst")):
        current = None
        in_table = False
        for line in rst.read_text().splitlines():
            m = re.match(r"\s*\.\. (?:current)?module:: (\S+)", line)
            if m:
                current = m.group(1)
                continue
            if re.match(r"\s*\.\. autosummary::", line):
                in_table = True
                continue
            if in_table:
                stripped = line.strip()
                if not stripped or stripped.startswith(":"):
                    continue
                if not line.startswith((" ", "\t")):
                    in_table = False
                    continue
                name = stripped.lstrip("~")
                paths.add(name if current is None or name.startswith("ganprior.") else f"{current}.{name}")
    return paths


def _resolve(path: str):
    """The object at a dotted path; an attribute wins over a submodule of the same name (``operators.dct``)."""
    parts = path.split(".")
    obj = importlib.import_module(parts[0])
    for i, part in enumerate(parts[1:], start=1):
        if hasattr(obj, part):
            obj = getattr(obj, part)
        else:
            obj = importlib.import_module(".".join(parts[: i + 1]))
    return obj


@pytest.mark.skipif(not DOCS_API.is_dir(), reason="docs/api not present (installed package)")
def test_api_reference_lists_every_public_name():
    documented = {id(_resolve(p)) for p in _documented_paths()}
    missing = [path for path, obj in public_objects() if id(obj) not in documented]
    assert not missing, "Public names missing from docs/api/*.rst:\n" + "\n".join(missing)
