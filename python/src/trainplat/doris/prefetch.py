"""Reading the next chunk while this one is parsed.

Fetching (the server or SQLite producing rows, the driver receiving them) and parsing
(Arrow's JSON reader, the Parquet writer) both release the GIL for most of their time, so
on a thread of its own the reader overlaps with the parser; a MySQL-protocol server also
works on the next statement meanwhile. The queue is bounded, so memory stays a few chunks."""

import threading
from collections.abc import Iterator
from queue import Empty, Full, Queue
from typing import Any, TypeVar

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
