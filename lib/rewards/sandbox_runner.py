# The two interpreters of a sandboxed run (started by sandbox_launcher.py, which passes this file's
# text with -c and the role as the first argument).
#
#   program ENTRY [UID]  Untrusted side, inside the sandbox. Reads the program's source from fd 3
#                        (to EOF) and runs it. With an ENTRY (a function name) it then serves calls:
#                        each request frame on fd 4 holds arguments, and it answers on fd 5 with
#                        the function's return value converted to plain data, or the exception it
#                        raised. As root, UID is the uid it drops to before reading anything.
#   judge [guard]        Trusted side, outside the sandbox, in an interpreter of its own. Reads
#                        {"entryPoint", "setup", "test"} (JSON) from stdin, runs the problem's own
#                        code (setup: the prompt with its helpers) and tests with pristine
#                        builtins (guard: first made not dumpable), and passes the tests a stand-in for the function that forwards
#                        each call to the program. It writes the verdict on fd 5: b'P' when
#                        check(candidate) returned, else b'F' and the reason as a JSON string.
#
# The verdict cannot be forged from inside the program: the judge's process, memory and verdict
# pipe are out of its reach (another PID namespace, or uid, or a non-dumpable process), and all
# the program can send is data. Every reply is decoded into plain values (None, bool, int, float,
# str, bytes, complex, list, tuple, dict, set, frozenset) built by the judge, so the tests compare
# by value (as EvalPlus does): no object of the program's, no `__eq__` of its own, no builtin it
# replaced takes part in a comparison.
#
# Frames: a 4-byte big-endian length, then JSON. Plain values are JSON scalars and arrays (lists);
# every other container is an object with one key: {"tuple": [...]}, {"set": [...]},
# {"frozenset": [...]}, {"dict": [[k, v], ...]}, {"bytes": "hex"}, {"complex": [re, im]}.
import json
import os
import sys

MAX_FRAME = 64 << 20


def to_wire(x):
    t = type(x)
    if x is None or t is bool or t is int or t is float or t is str:
        return x
    if t is list:
        return [to_wire(v) for v in x]
    if t is tuple:
        return {'tuple': [to_wire(v) for v in x]}
    if t is dict:
        return {'dict': [[to_wire(k), to_wire(v)] for k, v in x.items()]}
    if t is set or t is frozenset:
        return {t.__name__: [to_wire(v) for v in x]}
    if t is bytes:
        return {'bytes': x.hex()}
    if t is complex:
        return {'complex': [x.real, x.imag]}
    # Subclasses and NumPy scalars stand for their plain value, as they compare in EvalPlus.
    for base in (bool, int, float, str):
        if isinstance(x, base):
            return base(x)
    if getattr(x, 'shape', None) == () and hasattr(x, 'item'):
        return to_wire(x.item())
    raise TypeError('a %s is not a plain value' % t.__name__)


def from_wire(x):
    t = type(x)
    if x is None or t is bool or t is int or t is float or t is str:
        return x
    if t is list:
        return [from_wire(v) for v in x]
    if t is dict and len(x) == 1:
        ((kind, v),) = x.items()
        if kind in ('tuple', 'set', 'frozenset') and type(v) is list:
            return {'tuple': tuple, 'set': set, 'frozenset': frozenset}[kind](from_wire(e) for e in v)
        if kind == 'dict' and type(v) is list and all(type(p) is list and len(p) == 2 for p in v):
            return {from_wire(k): from_wire(e) for k, e in v}
        if kind == 'bytes' and type(v) is str:
            return bytes.fromhex(v)
        if kind == 'complex' and type(v) is list and len(v) == 2 and all(type(e) in (int, float) for e in v):
            return complex(v[0], v[1])
    raise ValueError('not a plain value')


def send(fd, obj):
    data = json.dumps(obj).encode()
    data = len(data).to_bytes(4, 'big') + data
    while data:
        data = data[os.write(fd, data):]


def read_exactly(fd, n):
    parts = []
    while n:
        b = os.read(fd, min(n, 1 << 20))
        if not b:
            return None
        parts.append(b)
        n -= len(b)
    return b''.join(parts)


def recv(fd):
    head = read_exactly(fd, 4)
    if head is None:
        return None
    n = int.from_bytes(head, 'big')
    if n > MAX_FRAME:
        raise ValueError('a frame of %d bytes is over the %d-byte limit' % (n, MAX_FRAME))
    data = read_exactly(fd, n)
    if data is None:
        raise EOFError('the frame ended early')
    return json.loads(data)


def read_all(fd):
    parts = []
    while True:
        b = os.read(fd, 1 << 16)
        if not b:
            return b''.join(parts)
        parts.append(b)


def program(entry, uid):
    if uid:
        os.setgroups([])
        os.setgid(int(uid))
        os.setuid(int(uid))
    src = read_all(3).decode('utf-8', 'replace')
    os.close(3)
    import builtins
    import linecache
    linecache.cache['program.py'] = (len(src), None, src.splitlines(True), 'program.py')
    code = compile(src, 'program.py', 'exec')
    # Not '__main__' when judged, as in HumanEval and EvalPlus: a `__main__` block does not run.
    g = {'__name__': '__main__' if not entry else 'solution', '__builtins__': builtins}
    if not entry:
        exec(code, g)
        return
    exec(code, g)
    while True:
        req = recv(4)
        if req is None:
            break
        try:
            args = from_wire(req['args'])
            kwargs = from_wire(req['kwargs'])
            reply = {'value': to_wire(g[entry](*args, **kwargs))}
        except BaseException as e:  # noqa: BLE001 (any failure of the call is its answer)
            try:
                reply = {'raised': '%s: %s' % (type(e).__name__, str(e)[:200])}
            except BaseException:  # noqa: BLE001
                reply = {'raised': 'an exception that cannot be printed'}
        send(5, reply)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


class ProgramFailed(Exception):
    pass


def judge(guard):
    if guard:
        # Not dumpable: a program under our uid (no namespaces) cannot ptrace us or read
        # /proc/<us>/mem or fd/. The launcher starts the program only after our b'R'.
        import ctypes
        ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE
        os.write(5, b'R')
    verdict = b'P'
    try:
        spec = json.loads(sys.stdin.buffer.read())
        entry = spec['entryPoint']
        sources = {'prompt.py': spec['setup'], 'test.py': spec['test']}
        import linecache
        for name, src in sources.items():
            linecache.cache[name] = (len(src), None, src.splitlines(True), name)
        calls = [0]

        def candidate(*args, **kwargs):
            calls[0] += 1
            try:
                send(4, {'args': to_wire(list(args)), 'kwargs': to_wire(kwargs)})
            except OSError:
                raise ProgramFailed('call %d: the program ended before answering' % calls[0])
            try:
                reply = recv(3)
            except (ValueError, EOFError) as e:
                raise ProgramFailed('call %d: unreadable answer (%s)' % (calls[0], e))
            if reply is None:
                raise ProgramFailed('call %d: the program ended before answering' % calls[0])
            if type(reply) is not dict or len(reply) != 1:
                raise ProgramFailed('call %d: not an answer' % calls[0])
            if 'raised' in reply:
                raise ProgramFailed('call %d raised %s' % (calls[0], str(reply['raised'])[:300]))
            try:
                return from_wire(reply['value'])
            except (KeyError, ValueError, TypeError, RecursionError) as e:
                raise ProgramFailed('call %d: the answer is not plain data (%s)' % (calls[0], e))

        candidate.__name__ = candidate.__qualname__ = entry
        g = {'__name__': 'judge'}
        exec(compile(spec['setup'], 'prompt.py', 'exec'), g)
        g[entry] = candidate
        exec(compile(spec['test'], 'test.py', 'exec'), g)
        g['check'](candidate)
    except BaseException as e:  # noqa: BLE001 (the verdict says why)
        import traceback
        where = [f for f in traceback.extract_tb(e.__traceback__) if f.filename in ('test.py', 'prompt.py')]
        at = ' at %s:%d: %s' % (where[-1].filename, where[-1].lineno, where[-1].line) if where else ''
        msg = ''.join(traceback.format_exception_only(type(e), e)).strip()
        verdict = b'F' + json.dumps((msg[:500] + at)[:800]).encode()
    os.write(5, verdict)


sys.set_int_max_str_digits(0)
if sys.argv[1] == 'judge':
    judge(len(sys.argv) > 2 and sys.argv[2] == 'guard')
else:
    program(sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else None)
