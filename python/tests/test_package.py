"""The package as installed: its stubs match the extension module, every
public name has a docstring, and the wheel is the stable-ABI one."""

from __future__ import annotations

import ast
import inspect
import pathlib

import alertstream
from alertstream import _native

STUB = pathlib.Path(_native.__file__).with_name("_native.pyi")


def stub_tree():
    return ast.parse(STUB.read_text())


def public(names):
    return {n for n in names if not n.startswith("_") or n in ("__getitem__", "__contains__", "__iter__", "__next__",
                                                                "__enter__", "__exit__")}


def test_stubs_are_installed_and_match_the_module():
    assert STUB.is_file() and STUB.with_name("py.typed").is_file()
    stubbed = {}
    for node in stub_tree().body:
        if isinstance(node, ast.ClassDef):
            stubbed[node.name] = {n.name for n in node.body if isinstance(n, ast.FunctionDef)} | {
                n.target.id for n in node.body if isinstance(n, ast.AnnAssign)}
        elif isinstance(node, ast.FunctionDef):
            stubbed[node.name] = None
    module_names = {n for n in dir(_native) if not n.startswith("_")}
    assert module_names == set(stubbed), f"stub and module differ: {module_names ^ set(stubbed)}"
    for name, members in stubbed.items():
        obj = getattr(_native, name)
        if members is None or issubclass(obj, BaseException):
            continue
        actual = public(n for n in vars(obj) if n != "__init__") - {"__new__"}
        assert public(members) - {"__init__"} == actual, f"{name}: {public(members) ^ actual}"


def test_every_public_name_has_a_docstring():
    for name in alertstream.__all__:
        obj = getattr(alertstream, name)
        assert inspect.getdoc(obj), f"{name} has no docstring"
        for member, value in vars(obj).items() if inspect.isclass(obj) else []:
            if not member.startswith("_") and callable(value) or isinstance(value, property):
                assert inspect.getdoc(value), f"{name}.{member} has no docstring"


def test_the_extension_uses_the_stable_abi():
    assert pathlib.Path(_native.__file__).name.endswith(".abi3.so")


def test_the_package_is_the_installed_one():
    # Imported from the environment pip installed it into, not from the checkout.
    import sys

    installed = pathlib.Path(alertstream.__file__).resolve()
    assert installed.is_relative_to(pathlib.Path(sys.prefix).resolve()), installed
    assert "site-packages" in installed.parts
