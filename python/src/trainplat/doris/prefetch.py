"""Reading the next chunk while this one is parsed, and writing the last one meanwhile.

Fetching (the server or SQLite producing rows, the driver receiving them), parsing (Arrow's
JSON reader) and writing (the Parquet writer) each release the GIL for most of their time,
so on threads of their own the reader and the writer overlap with the parser; a
MySQL-protocol server also works on the next statement meanwhile. The queues are bounded,
so memory stays a few chunks."""

import threading
from collections.abc import Callable, Iterator
from queue import Empty, Full, Queue
from types import TracebackType
from typing import Any, Generic, TypeVar

T = TypeVar("T")

_POLL_S = 0.1  # how often a blocked side checks whether the other has stopped


def prefetched(items: Iterator[T], depth: int = 1) -> Iterator[T]:
    """The items of `items`, produced on a reader thread at most `depth` ahead. An error of
    the reader is raised here, in the consumer; a consumer that stops early (or fails)
    stops the reader, which closes `items`."""
    if depth < 1:
        raise ValueError(f"prefetch depth must be positive, got {depth}")
    queue: Queue[tuple[str, Any]] = Queue(maxsize=depth)
    stop = threading.Event()

    def hand_over(kind: str, value: Any) -> bool:
        while not stop.is_set():
            try:
                queue.put((kind, value), timeout=_POLL_S)
                return True
            except Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not hand_over("item", item):
                    return
            hand_over("done", None)
        except BaseException as error:  # handed to the consumer, which raises it
            hand_over("error", error)
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()

    reader = threading.Thread(target=produce, name="doris-prefetch", daemon=True)
    reader.start()
    try:
        while True:
            try:
                kind, value = queue.get(timeout=_POLL_S)
            except Empty:
                if not reader.is_alive() and queue.empty():
                    raise RuntimeError("the prefetch reader stopped without a result") from None
                continue
            if kind == "done":
                return
            if kind == "error":
                raise value
            yield value
    finally:
        stop.set()
        reader.join()


class InBackground(Generic[T]):
    """Calls `call` with each item `put`, in order, on a thread of its own, at most `depth`
    items behind. The first error of a call is raised by the next `put` or by leaving the
    `with` block, and no later item is called; leaving the block waits for the calls."""

    _DONE = object()

    def __init__(self, call: Callable[[T], None], depth: int = 1, name: str = "background") -> None:
        if depth < 1:
            raise ValueError(f"background depth must be positive, got {depth}")
        self._call = call
        self._queue: Queue[Any] = Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._work, name=name, daemon=True)

    def __enter__(self) -> "InBackground[T]":
        self._thread.start()
        return self

    def put(self, item: T) -> None:
        self._raise_error()
        self._queue.put(item)

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        # The worker lives until it takes _DONE, so this put always finds room.
        self._queue.put(self._DONE)
        self._thread.join()
        if kind is None:
            self._raise_error()

    def _work(self) -> None:
        while (item := self._queue.get()) is not self._DONE:
            if self._error is not None:
                continue  # drained, not called: the caller learns of the error first
            try:
                self._call(item)
            except BaseException as error:  # raised in the caller's thread
                self._error = error

    def _raise_error(self) -> None:
        if self._error is not None:
            raise self._error
