# Sandbox launcher for model-written Python (see sandbox.ts, which spawns it in its own process
# group). Usage: python3 -I -S sandbox_launcher.py KEY=VALUE...
#   timeoutMs cpuSeconds memoryBytes fileSizeBytes diskBytes processes   the limits
#   python   the interpreter to run           runner   path of sandbox_runner.py
#   bwrap    path of bubblewrap: isolate      dir      the run folder (only without bwrap)
#   uid      the uid the program runs as (as root)      tag      names the run (WARMSTART_SANDBOX_RUN)
#   entry    the function the tests call: judge the run (else the program just runs)
#   probe=1  only check that bwrap can start python here (exit status 0 if so)
# Stdin: a 4-byte big-endian length and the program's source, then (with entry) the judge's JSON
# spec to EOF, which the judge reads from the same stdin. No json module here: the launcher only
# starts and watches processes, and its start-up CPU counts once per run.
#
# With bwrap the program runs in new network, PID, IPC, UTS and mount namespaces (a user namespace
# too when we are not root): it sees a read-only /usr (and the interpreter's prefix), a fresh
# /proc and /dev, and two size-limited tmpfs mounts, /tmp (its folder, diskBytes) and /dev/shm
# (1 MiB); nothing of the host is writable or reachable, and when its PID namespace ends every
# process it left dies with it. Without bwrap: rlimits, its own process group, a subreaper sweep
# after the run, and the run folder on the host (no disk cap: sandbox.ts warns).
# rlimits in every case: CPU, address space, file size, processes, open files, no core.
#
# The judge (sandbox_runner.py judge) runs outside the sandbox, under our uid and the same CPU and
# memory limits, not dumpable; it decides the verdict (see sandbox_runner.py). Writes to fd 3
# `pid N` (with bwrap: the sandbox's init, for sandbox.ts to kill should the launcher die), then {"exit": int|null, "signal": int|null, "timedOut": bool, "isolation": [...],
#        "verdict": null|"P"|"F", "failure": null|"..."}.
import ctypes
import os
import resource
import select
import signal
import sys
import time

SHM_BYTES = 1 << 20
PR_SET_PDEATHSIG, PR_SET_CHILD_SUBREAPER = 1, 36
libc = ctypes.CDLL(None, use_errno=True)


def set_limits(cfg, program):
    def lim(which, soft, hard=None):
        resource.setrlimit(which, (soft, soft if hard is None else hard))
    lim(resource.RLIMIT_CPU, cfg['cpuSeconds'], cfg['cpuSeconds'] + 1)
    lim(resource.RLIMIT_AS, cfg['memoryBytes'])
    lim(resource.RLIMIT_CORE, 0)
    if not program:
        return
    lim(resource.RLIMIT_FSIZE, cfg['fileSizeBytes'])
    lim(resource.RLIMIT_NOFILE, 256)
    # RLIMIT_NPROC counts every process of the real uid: without a uid of our own, allow for ours.
    extra = 0 if cfg.get('uid') is not None else user_processes()
    lim(resource.RLIMIT_NPROC, cfg['processes'] + extra)


def user_processes():
    n = 0
    for p in os.listdir('/proc'):
        try:
            n += p.isdigit() and os.stat('/proc/' + p).st_uid == os.getuid()
        except OSError:
            pass
    return n


def bwrap_argv(cfg):
    a = [cfg['bwrap'], '--unshare-ipc', '--unshare-pid', '--unshare-net', '--unshare-uts',
         '--unshare-cgroup-try', '--die-with-parent', '--new-session', '--ro-bind', '/usr', '/usr']
    if os.getuid() != 0:
        a.append('--unshare-user')
    for d in ('/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32'):
        if os.path.islink(d):
            a += ['--symlink', os.readlink(d), d]
        elif os.path.isdir(d):
            a += ['--ro-bind', d, d]
    for f in ('/etc/ld.so.cache', '/etc/ld.so.conf', '/etc/ld.so.conf.d', '/etc/localtime'):
        a += ['--ro-bind-try', f, f]
    # An interpreter outside /usr (a venv, pyenv, conda): its prefix, read-only.
    for exe in (cfg['python'], os.path.realpath(cfg['python'])):
        if not exe.startswith('/usr/'):
            prefix = os.path.dirname(os.path.dirname(os.path.abspath(exe)))
            a += ['--ro-bind', prefix, prefix]
    return a + ['--proc', '/proc', '--dev', '/dev',
                '--perms', '1777', '--size', str(SHM_BYTES), '--tmpfs', '/dev/shm',
                '--perms', '1777', '--size', str(cfg['diskBytes']), '--tmpfs', '/tmp',
                '--remount-ro', '/dev', '--remount-ro', '/', '--chdir', '/tmp', '--']


def own_children():
    me = str(os.getpid())
    kids = []
    for pid in os.listdir('/proc'):
        if not pid.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % pid) as f:
                stat = f.read()
        except OSError:
            continue
        if stat[stat.rindex(')') + 2:].split()[1] == me:
            kids.append(int(pid))
    return kids


def sweep_children(keep=()):
    # As child subreaper, every orphan of the program is re-parented to us: kill children until
    # none is left (a killed process's own children come back to us on the next round).
    for _ in range(1000):
        kids = [k for k in own_children() if k not in keep]
        if not kids:
            return
        for pid in kids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        for pid in kids:
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass


def read_exactly(fd, n):
    parts = []
    while n:
        b = os.read(fd, n)
        if not b:
            raise EOFError('stdin ended early')
        parts.append(b)
        n -= len(b)
    return b''.join(parts)


def spawn(argv, env, fds, child_setup):
    # fds: {target fd: source fd} for the child; everything else is closed.
    pid = os.fork()
    if pid == 0:
        try:
            child_setup()
            for target, src in fds.items():
                os.dup2(src, target + 100)
            for target in fds:
                os.dup2(target + 100, target)
            os.closerange(max(fds) + 1, 1 << 16)
            os.execve(argv[0], argv, env)
        except BaseException as e:  # noqa: BLE001 (report why it could not start)
            os.write(2, ('sandbox: cannot start %s: %r\n' % (argv[0], e)).encode())
        os._exit(127)
    return pid


def kill_group(pid):
    for kill in (lambda: os.killpg(pid, signal.SIGKILL), lambda: os.kill(pid, signal.SIGKILL)):
        try:
            kill()
        except OSError:
            pass


def main():
    cfg = dict(arg.split('=', 1) for arg in sys.argv[1:])
    for key in ('timeoutMs', 'cpuSeconds', 'memoryBytes', 'fileSizeBytes', 'diskBytes', 'processes', 'uid'):
        if key in cfg:
            cfg[key] = int(cfg[key])
    deadline = time.monotonic() + cfg.get('timeoutMs', 10_000) / 1000.0
    bwrap = 'bwrap' in cfg
    uid = cfg.get('uid')
    env = {'PATH': '/usr/local/bin:/usr/bin:/bin', 'LANG': 'C.UTF-8', 'HOME': '/tmp' if bwrap else cfg['dir'],
           'TMPDIR': '/tmp' if bwrap else cfg['dir'], 'OMP_NUM_THREADS': '1', 'OPENBLAS_NUM_THREADS': '1',
           'MKL_NUM_THREADS': '1', 'PYTHONHASHSEED': '0', 'PYTHONDONTWRITEBYTECODE': '1',
           'WARMSTART_SANDBOX_RUN': cfg.get('tag', '')}
    if 'probe' in cfg:
        argv = bwrap_argv(cfg) + [cfg['python'], '-I', '-c', 'pass']
        os.execve(argv[0], argv, env)
    with open(cfg['runner']) as f:
        runner = f.read()
    entry = cfg.get('entry', '')
    program_src = read_exactly(0, int.from_bytes(read_exactly(0, 4), 'big'))
    out = os.fdopen(3, 'w')
    # Not dumpable (a program under our uid cannot ptrace us); adopt the program's orphans.
    libc.prctl(4, 0, 0, 0, 0)
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    isolation = ['netns', 'mountns', 'pidns', 'userns' if os.getuid() != 0 else 'uid'] if bwrap else ['subreaper']
    if not bwrap and uid is not None:
        isolation.append('uid')

    me = os.getpid()

    def pdeathsig():
        # Die with the launcher; if it died before this line, the signal will never come: exit.
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != me:
            os._exit(1)

    judge = verdict_r = None
    fds = {}
    if entry:
        req_r, req_w = os.pipe()
        resp_r, resp_w = os.pipe()
        verdict_r, verdict_w = os.pipe()

        def judge_setup():
            pdeathsig()
            set_limits(cfg, False)
        # Under our uid and in our PID namespace, the program could reach a dumpable judge.
        guard = not bwrap and os.getuid() != 0
        judge = spawn([cfg['python'], '-I', '-B', '-c', runner, 'judge'] + (['guard'] if guard else []), env,
                      {0: 0, 1: 1, 2: 2, 3: resp_r, 4: req_w, 5: verdict_w}, judge_setup)
        for fd in (resp_r, req_w, verdict_w):
            os.close(fd)
        if guard:
            ready, _, _ = select.select([verdict_r], [], [], max(0.0, deadline - time.monotonic()))
            if not ready or os.read(verdict_r, 1) != b'R':
                kill_group(judge)
                judge = None
        fds = {4: req_r, 5: resp_w}
    src_r, src_w = os.pipe()
    devnull = os.open('/dev/null', os.O_RDONLY)
    if bwrap:
        # bwrap says on fd 6 the host pid of its PID namespace's init: killing that ends the run
        # even where --die-with-parent does not reach (as root, the init survives its parent).
        info_r, info_w = os.pipe()
        fds[6] = info_w

    def program_setup():
        os.setpgid(0, 0)
        set_limits(cfg, True)
        if not bwrap:
            os.chdir(cfg['dir'])
            if uid is not None:
                os.setgroups([])
                os.setgid(uid)
                os.setuid(uid)
        pdeathsig()  # after setuid, which clears it
    argv = [cfg['python'], '-I', '-B', '-c', runner, 'program', entry, str(uid) if bwrap and uid is not None else '']
    child = spawn((bwrap_argv(cfg)[:-1] + ['--info-fd', '6', '--'] if bwrap else []) + argv, env,
                  {0: devnull, 1: 1, 2: 2, 3: src_r, **fds}, program_setup)
    for fd in [src_r, devnull] + list(fds.values()):
        os.close(fd)
    init = None
    if bwrap:
        info = b''
        while b'}' not in info and select.select([info_r], [], [], max(0.0, deadline - time.monotonic()))[0]:
            b = os.read(info_r, 4096)
            if not b:
                break
            info += b
        os.close(info_r)
        digits = info.split(b'"child-pid":', 1)[-1].lstrip().split(b',')[0].split(b'}')[0].strip()
        if digits.isdigit():
            init = int(digits)
            out.write('pid %d\n' % init)  # for sandbox.ts, should we be killed
            out.flush()
    os.set_blocking(src_w, False)
    pending = program_src
    if not pending:
        os.close(src_w)
        src_w = -1
    pidfd = os.pidfd_open(child)
    verdict = b''
    status = None
    timed_out = False
    judge_open = judge is not None
    grace = None
    while status is None or judge_open:
        now = time.monotonic()
        if judge is not None and not judge_open and grace is None:
            grace = now + 0.2  # the judge is done: the program has nothing left to answer
        if now >= min(deadline, grace or deadline):
            timed_out = now >= deadline and (status is None if judge is None else judge_open)
            break
        watch = ([pidfd] if status is None else []) + ([verdict_r] if judge_open else [])
        readable, writable, _ = select.select(watch, [src_w] if pending else [], [],
                                              min(deadline, grace or deadline) - now)
        if writable:
            try:
                pending = pending[os.write(src_w, pending[:1 << 16]):]
            except OSError:
                pending = b''
            if not pending:
                os.close(src_w)
                src_w = -1
        if pidfd in readable:
            _, status = os.waitpid(child, 0)
        if verdict_r in readable:
            b = os.read(verdict_r, 1 << 16)
            verdict += b
            judge_open = bool(b)
    if src_w >= 0:
        os.close(src_w)
    if init is not None:
        try:
            os.kill(init, signal.SIGKILL)
        except OSError:
            pass
    if status is None:
        kill_group(child)
        _, status = os.waitpid(child, 0)
    os.close(pidfd)
    if judge is not None:
        kill_group(judge)
        os.waitpid(judge, 0)
    if not bwrap:
        sweep_children()
    exit_code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else None
    sig = os.WTERMSIG(status) if os.WIFSIGNALED(status) else None
    if bwrap and exit_code is not None and exit_code > 128:
        exit_code, sig = None, exit_code - 128  # bwrap reports a signal as 128 + its number
    failure = verdict[1:].decode('utf-8', 'replace') if verdict[:1] == b'F' and verdict[1:2] == b'"' else ''
    if entry and not verdict:
        failure = '"timed out"' if timed_out else '"the judge gave no verdict"'

    def num(x):
        return 'null' if x is None else str(x)
    out.write('{"exit": %s, "signal": %s, "timedOut": %s, "isolation": [%s], "verdict": %s, "failure": %s}\n' % (
        num(exit_code), num(sig), 'true' if timed_out else 'false', ', '.join('"%s"' % i for i in isolation),
        '"%s"' % verdict[:1].decode('ascii', 'replace') if verdict[:1] in (b'P', b'F') else 'null',
        failure or 'null'))
    out.flush()


main()
