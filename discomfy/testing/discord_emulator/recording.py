"""What the bot did, kept for assertions, and waiting for it without sleeping.

Every REST request is recorded with its decoded body (JSON, or multipart parts with file
bytes); every limit violation and every unhandled route too. ``Waiters`` lets a test await the
first item matching a predicate, looking at what already happened first, always with a timeout.
"""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any, Callable, Generic, Iterable, TypeVar

T = TypeVar("T")


@dataclasses.dataclass
class RequestPart:
    name: str
    filename: str | None
    content_type: str | None
    data: bytes


@dataclasses.dataclass
class RecordedRequest:
    method: str
    path: str  # without the /api/v10 prefix, e.g. "/channels/1/messages"
    query: dict[str, str]
    headers: dict[str, str]
    json: Any = None
    parts: list[RequestPart] = dataclasses.field(default_factory=list)
    status: int | None = None
    response: Any = None
    invalid_json: bytes | None = None  # the raw body when it was not JSON

    @property
    def files(self) -> list[RequestPart]:
        """Uploaded files (``files[n]`` parts), in order."""
        return [p for p in self.parts if p.filename is not None]

    def __repr__(self) -> str:
        return f"<RecordedRequest {self.method} {self.path} -> {self.status}>"


@dataclasses.dataclass
class Violation:
    """A request Discord would have rejected; the bot got Discord's error for it."""

    method: str
    path: str
    status: int
    code: int
    message: str
    errors: dict[str, Any] | None = None

    def __str__(self) -> str:
        detail = f" {self.errors}" if self.errors else ""
        return f"{self.method} {self.path}: {self.status} (code {self.code}) {self.message}{detail}"


class Waiters(Generic[T]):
    """Futures resolved by the first new item matching their predicate."""

    def __init__(self, what: str) -> None:
        self._what = what
        self._pending: list[tuple[Callable[[T], bool], asyncio.Future[T]]] = []

    def notify(self, item: T) -> None:
        for predicate, future in list(self._pending):
            if future.done():
                continue
            try:
                matched = predicate(item)
            except Exception as exc:  # a broken predicate should fail the test, not hang it
                future.set_exception(exc)
                continue
            if matched:
                future.set_result(item)

    async def wait(self, predicate: Callable[[T], bool], existing: Iterable[T], timeout: float,
                   seen: Callable[[], Iterable[Any]]) -> T:
        for item in list(existing):
            if predicate(item):
                return item
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        entry = (predicate, future)
        self._pending.append(entry)
        try:
            async with asyncio.timeout(timeout):
                return await future
        except asyncio.TimeoutError:
            listing = "\n  ".join(repr(x) for x in list(seen())[-15:]) or "(nothing)"
            raise AssertionError(
                f"no {self._what} matched within {timeout} s; the latest ones were:\n  {listing}"
            ) from None
        finally:
            self._pending.remove(entry)


class Observers:
    """Callbacks told about every item as it happens, for as long as they are registered
    (unlike ``Waiters``, which resolve once): a live view of what the emulator records."""

    def __init__(self) -> None:
        self._callbacks: list[Callable[..., None]] = []

    def add(self, callback: Callable[..., None]) -> Callable[[], None]:
        """Register ``callback``; returns the function that unregisters it."""
        self._callbacks.append(callback)

        def remove() -> None:
            if callback in self._callbacks:
                self._callbacks.remove(callback)

        return remove

    def notify(self, *args: Any) -> None:
        for callback in list(self._callbacks):
            callback(*args)
