"""jq path expressions from the repo, checked and evaluated in a sandbox.

``ignoreDifferences[].jqPathExpressions`` come from ``driftwatch.yaml``, which anyone who
can open a pull request can change, while the scan holds production credentials.  So:

* :func:`forbidden_use` refuses, before anything runs, every builtin or variable that
  reads outside the object (``$ENV``, ``env``, ``input``…), writes (``debug``,
  ``stderr``), stops the process (``halt``…) or loads modules (``import``…).
* Compiling and evaluating happen only in a worker process (this file run as a script:
  it imports nothing but the standard library, ``jq`` and ``orjson``) started with an
  empty environment, a 512 MiB address-space limit and no core dumps; each evaluation
  has :data:`EVALUATION_TIMEOUT` seconds.  A worker that times out or dies is killed and
  replaced, and the expression's outcome says so.

One shared worker serves the whole process (:func:`shared_sandbox`); requests are
batched (one round trip per audited resource) to keep the overhead small.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import re
import select
import signal
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

EVALUATION_TIMEOUT = 2.0  # seconds per evaluation (and per compile check)
STARTUP_TIMEOUT = 20.0  # a loaded CI machine may take a while to start Python
MEMORY_LIMIT = 512 * 1024 * 1024  # bytes of address space for the worker
CPU_LIMIT = 600  # seconds of CPU for one worker: a backstop if the parent vanished
RECYCLE_AFTER = CPU_LIMIT / 2  # seconds: a worker this old is replaced before a batch
MAX_ANSWER_BYTES = 16 * 1024 * 1024  # the paths one evaluation may send back
MAX_PATHS = 100_000
MAX_EXPRESSION_LENGTH = 2000
MAX_REASON_LENGTH = 200
# jq's error for ``.list[]`` where the object has no such list.  Rules name lists most
# objects lack (initContainers…), and Argo CD ignores the error: so does the sandbox.
_ABSENT_LIST = "Cannot iterate over null"

# Builtins that read the environment, the input stream or files, write to stderr,
# stop the process or load modules.  Path expressions only need to read the object.
FORBIDDEN_NAMES = frozenset(
    {
        "env",
        "input",
        "inputs",
        "input_filename",
        "input_line_number",
        "debug",
        "stderr",
        "halt",
        "halt_error",
        "get_search_list",
        "get_prog_origin",
        "get_jq_origin",
        "modulemeta",
        "import",
        "include",
        "module",
    }
)
FORBIDDEN_VARIABLES = frozenset({"ENV", "__loc__", "__prog_args", "__prog_name"})

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:::[A-Za-z_][A-Za-z0-9_]*)*")
_SPACE_OR_COMMENT = re.compile(r"(?:\s+|#[^\n]*)*")


def _names(expression: str) -> list[str]:
    """Names a jq expression uses: ``$var`` for variables, ``name`` for builtins,
    keywords and definitions.  ``.field`` is not a name; strings are skipped except
    their ``\\(…)`` interpolations, which are code."""
    found: list[str] = []
    interpolations: list[int] = []  # paren depth at which each open interpolation started
    depth = 0
    i, end = 0, len(expression)

    def string_from(start: int) -> int:
        nonlocal depth
        after, opened = _skip_string(expression, start)
        if opened:
            interpolations.append(depth)
            depth += 1
        return after

    while i < end:
        char = expression[i]
        if char == "#":  # a comment, to the end of the line
            newline = expression.find("\n", i)
            i = end if newline < 0 else newline + 1
        elif char == '"':
            i = string_from(i + 1)
        elif char == "(":
            depth += 1
            i += 1
        elif char == ")":
            depth -= 1
            i += 1
            if interpolations and depth == interpolations[-1]:
                interpolations.pop()
                i = string_from(i)  # the rest of the string
        elif expression.startswith("..", i):
            i += 2  # recursion, not a field: what follows is read as code
        elif char == ".":
            name = _NAME.match(expression, i + 1)
            i = name.end() if name else i + 1  # a field: .env is the object's key "env"
        elif char == "$":
            space = _SPACE_OR_COMMENT.match(expression, i + 1)
            name = _NAME.match(expression, space.end() if space else i + 1)
            if name:
                found.append("$" + name.group())
            i = name.end() if name else i + 1
        elif (name := _NAME.match(expression, i)) is not None:
            found.append(name.group())
            i = name.end()
        else:
            i += 1
    return found


def _skip_string(expression: str, i: int) -> tuple[int, bool]:
    """From inside a string: the index after its closing quote, or after the ``\\(``
    where an interpolation opens (then True).  The end of an unterminated string."""
    end = len(expression)
    while i < end:
        char = expression[i]
        if char == "\\":
            if i + 1 < end and expression[i + 1] == "(":
                return i + 2, True
            i += 2
        elif char == '"':
            return i + 1, False
        else:
            i += 1
    return end, False


def forbidden_use(expression: str) -> str | None:
    """Why ``expression`` may not run as a path expression, or None when it may."""
    if len(expression) > MAX_EXPRESSION_LENGTH:
        return f"is longer than {MAX_EXPRESSION_LENGTH} characters"
    refused: list[str] = []
    for name in _names(expression):
        variable = name.removeprefix("$")
        if (
            (
                name.startswith("$")
                and (variable in FORBIDDEN_VARIABLES or variable.startswith("__"))
            )
            or name in FORBIDDEN_NAMES
            or "::" in name
        ) and name not in refused:
            refused.append(name)
    if not refused:
        return None
    return (
        f"uses {', '.join(refused)}: a path expression may only read the object "
        "(no environment, input, output, halting or modules)"
    )


@dataclass(frozen=True, slots=True)
class Outcome:
    """One evaluation: the paths it selected, or why it failed.  ``stopped`` means the
    worker had to be killed (timeout, memory, crash): running it again would too."""

    paths: list[tuple[str | int, ...]] | None = None
    error: str | None = None
    stopped: bool = False


class SandboxError(Exception):
    """The worker could not be started at all."""


def _reason(message: str) -> str:
    """jq's message, short and on one line (it may echo data from the object)."""
    lines = message.strip().splitlines()
    text = lines[0] if lines else "error"
    text = text.removeprefix("jq: error: ").removeprefix("jq: error (at <unknown>): ")
    return text if len(text) <= MAX_REASON_LENGTH else text[: MAX_REASON_LENGTH - 1] + "…"


def _dumps(value: Any) -> bytes:
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)
    except TypeError:  # integers beyond 64 bits and the like
        return json.dumps(value, default=str).encode()


def _frame(payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + payload


def _as_paths(result: Any) -> list[tuple[str | int, ...]] | None:
    """``[path(…)]``'s output as tuples, or None if it is not a list of paths."""
    if not isinstance(result, list):
        return None
    paths: list[tuple[str | int, ...]] = []
    for path in result:
        if not isinstance(path, list):
            return None
        segments: list[str | int] = []
        for seg in path:
            if isinstance(seg, float) and seg.is_integer():
                seg = int(seg)
            if isinstance(seg, bool) or not isinstance(seg, str | int):
                return None  # slices ({"start":…}) and the like select nothing we diff
            segments.append(seg)
        paths.append(tuple(segments))
    return paths


class _Worker:
    """One worker process and its pipes."""

    def __init__(self) -> None:
        # Run by path with -I: no PYTHON* variables, no user site, no cwd on sys.path.
        self.process = subprocess.Popen(
            [sys.executable, "-I", os.path.abspath(__file__)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,  # jq's own messages may hold data
            env={},
            cwd="/",
        )
        self._buffer = bytearray()
        # poll, not select: a long-lived process (the TUI) may hold fds past FD_SETSIZE.
        assert self.process.stdout is not None
        self._poller = select.poll()
        self._poller.register(self.process.stdout.fileno(), select.POLLIN)
        self.started = time.monotonic()
        self.owner = os.getpid()
        try:
            ready = self.read(STARTUP_TIMEOUT) == "ready"
        except (TimeoutError, EOFError):
            ready = False
        if not ready:
            self.kill()
            raise SandboxError("the jq sandbox could not start")

    def send(self, payload: bytes) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(_frame(payload))
        self.process.stdin.flush()

    def read(self, timeout: float) -> Any:
        """The next answer; TimeoutError, or EOFError if the worker died."""
        assert self.process.stdout is not None
        fd = self.process.stdout.fileno()
        deadline = time.monotonic() + timeout
        while True:
            if len(self._buffer) >= 4:
                (size,) = struct.unpack(">I", self._buffer[:4])
                if size > MAX_ANSWER_BYTES + 64:
                    raise EOFError  # not our worker speaking any more
                if len(self._buffer) >= 4 + size:
                    payload = bytes(self._buffer[4 : 4 + size])
                    del self._buffer[: 4 + size]
                    try:
                        return orjson.loads(payload)
                    except orjson.JSONDecodeError:
                        raise EOFError from None  # not our worker speaking any more
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            if self._poller.poll(remaining * 1000):
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    raise EOFError
                self._buffer += chunk

    def kill(self) -> str:
        """Stop the worker; what became of it, for the message."""
        self.process.kill()
        status = self.process.wait()
        for pipe in (self.process.stdin, self.process.stdout):
            if pipe is not None:
                with contextlib.suppress(OSError):  # a broken pipe has nothing to flush
                    pipe.close()
        if status in (-signal.SIGABRT, 3):
            return "exceeded the memory limit"
        if status == -signal.SIGXCPU:
            return "exceeded the CPU limit"
        return "crashed the jq worker"


class Sandbox:
    """The parent side: batches of (expression, input) evaluated in a worker."""

    def __init__(self, timeout: float = EVALUATION_TIMEOUT) -> None:
        self.timeout = timeout
        self._worker: _Worker | None = None
        self._lock = threading.Lock()  # the TUI scans in a thread

    def check(self, expressions: Sequence[str]) -> list[Outcome]:
        """Each expression compiled: an outcome without error when it compiles."""
        return self._run(list(expressions), [], [(n, None) for n in range(len(expressions))])

    def paths(self, jobs: Sequence[tuple[str, Any]]) -> list[Outcome]:
        """For each (expression, object): the paths ``path(expression)`` selects."""
        expressions: list[str] = []
        inputs: list[Any] = []
        program_index: dict[str, int] = {}
        input_index: dict[int, int] = {}
        indexed: list[tuple[int, int | None]] = []
        for expression, value in jobs:
            if expression not in program_index:
                program_index[expression] = len(expressions)
                expressions.append(expression)
            if id(value) not in input_index:  # one copy of each side per batch
                input_index[id(value)] = len(inputs)
                inputs.append(value)
            indexed.append((program_index[expression], input_index[id(value)]))
        return self._run(expressions, inputs, indexed)

    def _run(
        self, expressions: list[str], inputs: list[Any], jobs: list[tuple[int, int | None]]
    ) -> list[Outcome]:
        outcomes: list[Outcome | None] = [None] * len(jobs)
        with self._lock:
            while pending := [n for n, o in enumerate(outcomes) if o is None]:
                if self._worker and self._worker.owner != os.getpid():
                    self._worker = None  # a forked child: those pipes are its parent's
                if self._worker and time.monotonic() - self._worker.started > RECYCLE_AFTER:
                    self._worker.kill()  # long before its CPU limit could end a job
                    self._worker = None
                if self._worker is None:
                    try:
                        self._worker = _Worker()
                    except (SandboxError, OSError):
                        for n in pending:
                            outcomes[n] = Outcome(
                                error="the jq sandbox could not start", stopped=True
                            )
                        break
                worker = self._worker
                try:
                    worker.send(
                        _dumps(
                            {
                                "programs": expressions,
                                "inputs": inputs,
                                "jobs": [jobs[n] for n in pending],
                            }
                        )
                    )
                    for n in pending:
                        outcomes[n] = self._outcome(worker.read(self.timeout))
                except (TimeoutError, EOFError, OSError) as exc:  # OSError: a broken pipe
                    self._worker = None
                    status = worker.kill()
                    reason = (
                        f"took longer than {self.timeout:g} s"
                        if isinstance(exc, TimeoutError)
                        else status
                    )
                    stuck = next(n for n in pending if outcomes[n] is None)
                    # Every remaining job of the same expression would do the same.
                    for n in pending:
                        if outcomes[n] is None and jobs[n][0] == jobs[stuck][0]:
                            outcomes[n] = Outcome(error=reason, stopped=True)
        return [o for o in outcomes if o is not None]

    @staticmethod
    def _outcome(answer: Any) -> Outcome:
        if not (isinstance(answer, list) and len(answer) == 2):
            raise EOFError  # not our worker speaking any more
        ok, value = answer
        if not ok and str(value).startswith(_ABSENT_LIST):
            return Outcome(paths=[])  # a list this object lacks: nothing to select there
        if not ok:
            return Outcome(error=_reason(str(value)))
        if value is None:  # a compile check
            return Outcome()
        paths = _as_paths(value)
        if paths is None:
            return Outcome(error="the expression does not select paths")
        if len(paths) > MAX_PATHS:
            return Outcome(error=f"selects more than {MAX_PATHS} paths")
        return Outcome(paths=paths)

    def close(self) -> None:
        with self._lock:
            if self._worker is not None:
                self._worker.kill()
                self._worker = None


_shared: Sandbox | None = None
_shared_lock = threading.Lock()


def shared_sandbox() -> Sandbox:
    """The process's sandbox; its worker starts on first use and stops at exit."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = Sandbox()
            atexit.register(_shared.close)
        return _shared


# The worker: this file run as a script.  Standard library, jq and orjson only.


def _limit_resources() -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_CPU, (CPU_LIMIT, CPU_LIMIT))
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))  # it never writes a file
    # Ctrl-C or a kill must stop the worker even while jq loops in C.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _read_exact(stream: Any, size: int) -> bytes | None:
    data = stream.read(size)
    return data if data is not None and len(data) == size else None


def _serve() -> None:
    _limit_resources()
    import jq

    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    compiled: dict[str, Any] = {}  # expression → program, or the compile error's text

    def program(expression: str) -> Any:
        if expression not in compiled:
            try:
                jq.compile(expression)  # alone first: it must not close the wrapper
                compiled[expression] = jq.compile(f"[path(\n{expression}\n)]")
            except ValueError as exc:
                compiled[expression] = str(exc)
        return compiled[expression]

    def answer(payload: bytes) -> None:
        stdout.write(_frame(payload))
        stdout.flush()

    def failed(message: str) -> None:
        answer(_dumps([False, message]))

    answer(_dumps("ready"))
    while (header := _read_exact(stdin, 4)) is not None:
        (size,) = struct.unpack(">I", header)
        payload = _read_exact(stdin, size)
        if payload is None:
            return
        request = orjson.loads(payload)
        texts = [_dumps(value).decode() for value in request["inputs"]]
        for program_index, input_index in request["jobs"]:
            compiled_program = program(request["programs"][program_index])
            if isinstance(compiled_program, str):
                failed(compiled_program)
            elif input_index is None:
                answer(b"[true,null]")
            else:
                try:
                    found = compiled_program.input_text(texts[input_index]).text()
                except ValueError as exc:
                    failed(str(exc))
                except MemoryError:
                    os._exit(3)
                else:  # one array; nothing when the program halted
                    if not found:
                        failed("no result")
                    elif len(found) > MAX_ANSWER_BYTES:
                        failed("selects too many paths")
                    else:
                        answer(b"[true," + found.encode() + b"]")


if __name__ == "__main__":
    _serve()
