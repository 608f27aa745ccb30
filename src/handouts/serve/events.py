"""Server-sent events: what the browser hears without asking (a preview rebuilt, a file changed
on disk, a build's progress). One broker per app; any thread may publish."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

HEARTBEAT_S = 15.0  # a comment line now and then, so proxies and browsers keep the stream
QUEUE_LIMIT = 200  # a browser this far behind misses events (it reloads what it shows)


class Broker:
    """Fan-out of events to every open stream, and which documents the streams watch."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queues: set[asyncio.Queue[str | None]] = set()
        self._watched: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._closed = False

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._closed = False

    def publish(self, event: str, data: dict[str, Any]) -> None:
        """Send ``event`` to every stream; safe to call from any thread."""
        message = f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        with self._lock:
            queues = list(self._queues)
        for queue in queues:
            loop.call_soon_threadsafe(_offer, queue, message)

    def watched(self) -> set[str]:
        """The documents (output paths) some open page is showing."""
        with self._lock:
            return {name for name, count in self._watched.items() if count > 0}

    def close(self) -> None:
        """End every stream (the server is stopping)."""
        self._closed = True
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        with self._lock:
            queues = list(self._queues)
        for queue in queues:
            loop.call_soon_threadsafe(_offer, queue, None)

    async def stream(self, watch: list[str]) -> AsyncIterator[str]:
        """The events for one browser page, with heartbeats; ``watch`` names the documents
        it shows, whose previews are kept up to date when their files change."""
        queue: asyncio.Queue[str | None] = asyncio.Queue(QUEUE_LIMIT)
        with self._lock:
            self._queues.add(queue)
            self._watched.update(watch)
        try:
            yield "retry: 2000\n\n"
            while not self._closed:
                try:
                    message = await asyncio.wait_for(queue.get(), HEARTBEAT_S)
                except TimeoutError:
                    yield ": still here\n\n"
                    continue
                if message is None:
                    return
                yield message
        finally:
            with self._lock:
                self._queues.discard(queue)
                self._watched.subtract(watch)


def _offer(queue: asyncio.Queue[str | None], message: str | None) -> None:
    with contextlib.suppress(asyncio.QueueFull):
        queue.put_nowait(message)
