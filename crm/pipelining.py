"""Work on the next items of a stream in a second process while this one handles the current.

A big import is CPU-bound in Python, and about a third of its time is reading, decoding,
splitting and validating rows: work that needs no database. On a machine with a second core a
forked child does that for the next batches while the parent dedups, routes and writes the
current one, so the two halves overlap instead of adding up.

Hand-written rather than concurrent.futures: ProcessPoolExecutor.map consumes its whole input
up front (a 100k-row file would sit in memory) and pickles every input item to the worker,
whereas the forked child here reads the stream itself and only results travel, in order,
one item in front of the parent.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import signal
import traceback
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

from django.db import connections

T = TypeVar("T")
R = TypeVar("R")

_ITEM, _FAILED, _END = "item", "failed", "end"


class ChildDied(RuntimeError):
    """The preparing process ended without saying why (killed, out of memory)."""


def fork_available() -> bool:
    """A fork is possible here: POSIX, and not inside a daemonic multiprocessing worker (a
    django-q2 worker is one, and may not have children)."""
    return "fork" in multiprocessing.get_all_start_methods() and not multiprocessing.current_process().daemon


def pipelined_map(
    items: Iterable[T], fn: Callable[[T], R], *, fork: bool = True
) -> Iterator[tuple[T, R | Exception]]:
    """(item, fn(item)) in the order of `items`; an exception fn raised is yielded in place of
    its result (and nothing after it is computed), so the caller decides what it means.

    With `fork`, a forked child iterates `items` and runs `fn`, one item ahead of the caller
    (it computes the next while the caller handles this one); the caller must not touch the
    iterator after calling this. An exception raised by the iteration itself (a reader error)
    is raised here when the caller reaches it, after every item before it was yielded. `fn`
    must not use the database: the child shares the parent's connections, so a query there
    raises instead of corrupting them."""
    if not fork or not fork_available():
        yield from _sequential(items, fn)
        return
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_produce, args=(items, fn, receiver, sender), daemon=True)
    child.start()
    # Each end lives in one process only, so a dead peer shows: EOFError here, BrokenPipeError there.
    sender.close()
    try:
        while True:
            try:
                message = receiver.recv()
            except EOFError:
                child.join()
                raise ChildDied(
                    f"the process preparing the next rows ended unexpectedly (exit code {child.exitcode})"
                ) from None
            if message[0] == _END:
                return
            if message[0] == _FAILED:
                raise message[1]
            _, item, result = message
            yield item, result
            if isinstance(result, Exception):
                return
    finally:
        receiver.close()
        if child.is_alive():
            child.terminate()
        child.join()


def _sequential(items: Iterable[T], fn: Callable[[T], R]) -> Iterator[tuple[T, R | Exception]]:
    for item in items:
        try:
            result = fn(item)
        except Exception as exc:
            yield item, exc
            return
        yield item, result


def _produce(items: Iterable[T], fn: Callable[[T], R], receiver, sender) -> None:
    """The child's loop. It ends through multiprocessing's os._exit, so the parent's database
    connections it inherited are never closed from here (closing one would end the parent's
    session on the shared socket). A parent that is gone (killed) breaks the pipe: the child
    then ends too instead of waiting for a reader for ever."""
    receiver.close()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    _database_forbid()
    try:
        try:
            for item in items:
                try:
                    result = fn(item)
                except Exception as exc:
                    sender.send((_ITEM, item, _transportable(exc)))
                    return
                sender.send((_ITEM, item, result))
        except (BrokenPipeError, ConnectionResetError):
            return
        except Exception as exc:
            sender.send((_FAILED, _transportable(exc)))
            return
        sender.send((_END,))
    except (BrokenPipeError, ConnectionResetError):
        return


def _database_forbid() -> None:
    def refuse(execute, sql, params, many, context):
        raise RuntimeError(f"pipelined_map: the child process must not query the database ({sql[:60]!r})")

    for connection in connections.all():
        connection.execute_wrappers.append(refuse)


def _transportable(exc: Exception) -> Exception:
    """The exception itself when it survives pickling, else a RuntimeError with its text; the
    child's traceback rides along as a note either way."""
    exc.add_note(f"in the preparing process (pid {os.getpid()}):\n{traceback.format_exc()}")
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:
        plain = RuntimeError(f"{type(exc).__name__}: {exc}")
        for note in getattr(exc, "__notes__", ()):
            plain.add_note(note)
        return plain
    return exc
