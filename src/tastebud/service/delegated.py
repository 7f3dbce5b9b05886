"""``Delegated``: a method of the ``PreferenceLearning`` facade that is a method of one part.

``record_preference = Delegated("recording", Recording.record_preference)`` makes
``learning.record_preference(...)`` call ``learning.recording.record_preference(...)``, with
that method's signature (for type checkers too) and docstring, written once, in the part.
"""

from __future__ import annotations

from collections.abc import Callable
from types import MethodType
from typing import Any, Concatenate, Generic, ParamSpec, Self, TypeVar, overload

P = ParamSpec("P")
R = TypeVar("R")


class Delegated(Generic[P, R]):
    """The method ``method`` of the facade's attribute ``part``."""

    def __init__(self, part: str, method: Callable[Concatenate[Any, P], R]) -> None:
        self.part = part
        self.method = method
        self.__doc__ = method.__doc__

    @overload
    def __get__(self, facade: None, owner: type[Any]) -> Self: ...
    @overload
    def __get__(self, facade: object, owner: type[Any]) -> Callable[P, R]: ...
    def __get__(self, facade: object | None, owner: type[Any]) -> Self | Callable[P, R]:
        if facade is None:
            return self
        bound: Callable[P, R] = MethodType(self.method, getattr(facade, self.part))
        return bound
