"""The HTTP control API (aiohttp): routes, the bearer token, the body limit, and the server thread.

Every route acts on a :class:`~livekey.control.state.Controller`. The quick calls (status, settings)
run on the event loop; the ones that may take a while (opening a video backdrop, encoding a snapshot,
finishing a recording) run on worker threads (``asyncio.to_thread``) so they never hold up another
request. The server runs its own event loop on its own thread,
so neither the pipeline's threads nor Qt's event loop ever wait on a client.

Errors come back as ``{"error": "one line"}`` with the status the error's class maps to.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import os
import sys
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aiohttp import web

from livekey.control.state import Conflict, Controller, NotReady
from livekey.errors import LivekeyError

MAX_BODY = 64 * 1024  # bytes; the largest real request (every setting at once) is under 2 KB
START_TIMEOUT = 10.0  # seconds to bind the port before start() gives up
SLOW_WORKERS = 2  # threads for the calls that take a while
SLOW_NICE = 10  # how much lower they run than the pipeline (Linux), see lower_priority()
STATUS_OF = {Conflict: 409, NotReady: 503, LivekeyError: 400}  # most specific class first
CONTROLLER = web.AppKey("controller", Controller)
TOKEN = web.AppKey("token", str)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def error(status: int, text: str, **headers: str) -> web.Response:
    return web.json_response({"error": text}, status=status, headers=headers)


def token_matches(header: str | None, token: str) -> bool:
    """Whether ``Authorization: header`` carries ``token`` (constant-time comparison)."""
    scheme, _, given = (header or "").partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.strip().encode(), token.encode())


@web.middleware
async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Authentication, then the body limit, then the handler's errors as JSON."""
    if not token_matches(request.headers.get("Authorization"), request.app[TOKEN]):
        return error(401, "missing or wrong token: send the header 'Authorization: Bearer TOKEN' "
                          "(the token livekey printed at start, or --control-token)",
                     **{"WWW-Authenticate": 'Bearer realm="livekey"'})
    if request.content_length is not None and request.content_length > MAX_BODY:
        return error(413, f"request body over {MAX_BODY // 1024} KB")  # refused before it is read
    try:
        return await handler(request)
    except web.HTTPRequestEntityTooLarge:  # a chunked body with no length that grew past the limit
        return error(413, f"request body over {MAX_BODY // 1024} KB")
    except web.HTTPException as err:  # unknown route, wrong method
        if err.status < 400:
            raise
        return error(err.status, f"{request.method} {request.path}: {err.reason}", **{
            k: v for k, v in err.headers.items() if k == "Allow"})
    except LivekeyError as err:
        status = next(code for kind, code in STATUS_OF.items() if isinstance(err, kind))
        return error(status, str(err))
    except Exception as err:  # a bug: one line for the user and the client, the run goes on
        text = f"{request.method} {request.path} failed: {type(err).__name__}: {err}"
        print(f"livekey: control API: {text}", file=sys.stderr)
        return error(500, text)


async def read_object(request: web.Request, *required: str) -> dict[str, Any]:
    """The JSON object in the body, with the ``required`` keys."""
    raw = await request.read()
    try:
        body = json.loads(raw or b"{}")
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise LivekeyError(f"the body is not JSON: {err}") from None
    if not isinstance(body, dict):
        raise LivekeyError(f"the body must be a JSON object, not {type(body).__name__}")
    missing = [key for key in required if key not in body]
    if missing:
        raise LivekeyError(f"the body needs {', '.join(repr(k) for k in missing)}, e.g. {{{required[0]!r}: ...}}"
                           .replace("'", '"'))
    return body


def lower_priority() -> None:
    """Run the calling thread SLOW_NICE steps below the process (Linux schedules threads on their
    own), so a snapshot's PNG encoding or a backdrop's decoding, which release the GIL, take only
    the CPU the live pipeline leaves. Elsewhere, or when refused, the thread keeps its priority."""
    if not sys.platform.startswith("linux"):
        return
    tid = threading.get_native_id()
    try:
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + SLOW_NICE))
    except OSError:
        pass


def call(request: web.Request, method: str, *args: Any) -> Awaitable[Any]:
    """Run a controller method that may take a while (files, encoders) on a worker thread."""
    return asyncio.to_thread(getattr(request.app[CONTROLLER], method), *args)


async def get_status(request: web.Request) -> web.Response:
    # Counters and a reference swap: quicker done here than handed to a thread and back.
    return web.json_response(request.app[CONTROLLER].status())


async def patch_settings(request: web.Request) -> web.Response:
    settings = request.app[CONTROLLER].patch_settings(await read_object(request))
    return web.json_response({"settings": dict(settings)})


async def put_backdrop(request: web.Request) -> web.Response:
    spec = (await read_object(request, "backdrop"))["backdrop"]
    return web.json_response({"backdrop": {"spec": spec, "info": await call(request, "set_backdrop", spec)}})


async def put_profile(request: web.Request) -> web.Response:
    path = (await read_object(request, "profile"))["profile"]
    if not isinstance(path, str) or not path.strip():
        raise LivekeyError('"profile" must be the path of a TOML profile, e.g. "calibration/studio.toml"')
    profile = await call(request, "load_profile", path.strip())
    return web.json_response({"profile": path.strip(), "settings": dict(profile.settings)})


async def post_record(request: web.Request) -> web.Response:
    path = (await read_object(request)).get("path")
    if path is not None and (not isinstance(path, str) or not path.strip()):
        raise LivekeyError('"path" must be a file name such as "take1.mp4", or left out')
    await call(request, "start_recording", path.strip() if path else None)
    return web.json_response({"recording": request.app[CONTROLLER].recording_status()}, status=201)


async def delete_record(request: web.Request) -> web.Response:
    recorder = await call(request, "stop_recording")
    size = recorder.path.stat().st_size if recorder.path.exists() else 0
    return web.json_response({"recording": {"active": False, "path": str(recorder.path), "frames": recorder.frames,
                                            "bytes": size}})


async def post_snapshot(request: web.Request) -> web.Response:
    return web.Response(body=await call(request, "snapshot_png"), content_type="image/png")


ROUTES = (
    ("GET", "/api/status", get_status),
    ("PATCH", "/api/settings", patch_settings),
    ("PUT", "/api/backdrop", put_backdrop),
    ("PUT", "/api/profile", put_profile),
    ("POST", "/api/record", post_record),
    ("DELETE", "/api/record", delete_record),
    ("POST", "/api/snapshot", post_snapshot),
)


def build_app(controller: Controller, token: str) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY, middlewares=[guard])
    app[CONTROLLER] = controller
    app[TOKEN] = token
    for method, path, handler in ROUTES:
        app.router.add_route(method, path, handler)
    return app


class ControlServer:
    """The API served on ``host:port`` from a thread with its own event loop; ``start()`` returns once
    the port is bound (``port`` 0 picks a free one, read back from ``port`` after)."""

    def __init__(self, controller: Controller, token: str, host: str = "127.0.0.1", port: int = 0) -> None:
        self.app = build_app(controller, token)
        self.host, self.port = host, port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready = threading.Event()
        self._failure: str | None = None
        self.addresses: list = []  # the socket addresses bound, once started
        self._thread = threading.Thread(target=self._serve, name="livekey-control", daemon=True)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/api/"

    def start(self) -> None:
        self._thread.start()
        if not self._ready.wait(START_TIMEOUT):
            raise LivekeyError(f"the control API did not start on {self.host}:{self.port} within "
                               f"{START_TIMEOUT:g} s")
        if self._failure is not None:
            self._thread.join(1.0)
            raise LivekeyError(self._failure)

    def _serve(self) -> None:
        loop = self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        loop.set_default_executor(ThreadPoolExecutor(SLOW_WORKERS, "livekey-control-slow", lower_priority))
        runner = web.AppRunner(self.app, access_log=None, handle_signals=False, shutdown_timeout=2.0)
        try:
            loop.run_until_complete(runner.setup())
            loop.run_until_complete(web.TCPSite(runner, self.host, self.port).start())
            self.addresses = list(runner.addresses)
            self.port = self.addresses[0][1]
        except OSError as err:
            self._failure = (f"cannot serve the control API on {self.host}:{self.port}: "
                             f"{err.strerror or err}; choose another port with --control")
            self._close(runner)
            self._ready.set()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            self._close(runner)

    def _close(self, runner: web.AppRunner) -> None:
        loop = self._loop
        loop.run_until_complete(runner.cleanup())
        loop.run_until_complete(loop.shutdown_default_executor())
        loop.close()

    def stop(self) -> None:
        """Close the port and end the thread (requests under way get a moment to finish)."""
        loop = self._loop
        if loop is not None and self._thread.is_alive():
            loop.call_soon_threadsafe(loop.stop)
            self._thread.join(5.0)
