# Sandbox launcher for model-written Python (see sandbox.ts, which spawns it in its own process
# group with stdin closed). Usage: python3 -I -S sandbox_launcher.py KEY=VALUE...
# (timeoutMs, cpuSeconds, memoryBytes, fileSizeBytes, processes, dir, python, and uid when
# isolating). No json module: importing it (and re) would add half again to the launcher's CPU.
#
# As root it isolates as far as the kernel allows, each step optional and recorded:
#   netns    new network namespace (no interfaces: no network)
#   mountns  new mount namespace with fresh tmpfs over every world-writable folder, the job's
#            folder bind-mounted at /tmp/box (the only writable place for the job's uid)
#   pidns    new PID namespace: the program is its init, so when it dies the kernel kills
#            every process it left behind
#   uid      the program runs as a uid of its own (distinct per job slot), so it cannot signal
#            or write anything of ours, and RLIMIT_NPROC counts only its processes
#   subreaper without pidns, the launcher adopts every orphan (PR_SET_CHILD_SUBREAPER) and kills
#            all its descendants after the run (works without root too)
# then it sets rlimits (CPU, address space, file size, processes, open files, no core), runs the
# harness (program.py from the job folder; prints the run's nonce only if it ran to the end), and
# kills the program's process group at the wall-clock deadline. Writes one JSON line to fd 3:
# {"exit": int|null, "signal": int|null, "timedOut": bool, "isolation": [...]}.
import ctypes
import os
import resource
import select
import signal
import sys

CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWNET = 0x00020000, 0x20000000, 0x40000000
MS_BIND, MS_REC, MS_PRIVATE = 4096, 16384, 1 << 18
MS_NOSUID, MS_NODEV, MS_NOEXEC = 2, 4, 8
MNT_DETACH = 2
WORLD_WRITABLE = ['/tmp', '/var/tmp', '/run/lock', '/dev/shm']

HARNESS = r'''
import os, sys
def _harness():
    with open('nonce') as f:
        nonce = f.read()
    os.unlink('nonce')
    with open('program.py') as f:
        src = f.read()
    g = {'__name__': '__main__', '__builtins__': __builtins__}
    exec(compile(src, 'program.py', 'exec'), g)
    sys.stdout.flush()
    os.write(1, ('\n' + nonce + '\n').encode())
_harness()
'''

libc = ctypes.CDLL(None, use_errno=True)


def sys_ok(ret):
    if ret != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def mount(src, target, fstype, flags, data=None):
    enc = lambda s: s.encode() if s is not None else None
    sys_ok(libc.mount(enc(src), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data)))


def isolate_fs(box, tmpfs_size):
    # Called right after unshare(CLONE_NEWNS). The folder is opened inside the new namespace: a
    # bind mount from a descriptor opened before unshare() is refused (EINVAL). If any step fails
    # (a container that forbids mount), what was mounted is undone and None says "no mountns".
    mounted = []
    box_fd = None
    try:
        mount(None, '/', None, MS_REC | MS_PRIVATE)
        box_fd = os.open(box, os.O_RDONLY | os.O_DIRECTORY)
        for d in WORLD_WRITABLE:
            if os.path.isdir(d):
                mount('tmpfs', d, 'tmpfs', MS_NOSUID | MS_NODEV, 'size=%d,mode=1777' % tmpfs_size)
                mounted.append(d)
        os.mkdir('/tmp/box', 0o755)
        mount('/proc/self/fd/%d' % box_fd, '/tmp/box', None, MS_BIND)
        return '/tmp/box'
    except OSError:
        for d in reversed(mounted):
            libc.umount2(d.encode(), MNT_DETACH)
        return None
    finally:
        if box_fd is not None:
            os.close(box_fd)


def set_limits(cfg):
    def lim(which, soft, hard=None):
        resource.setrlimit(which, (soft, soft if hard is None else hard))
    lim(resource.RLIMIT_CPU, cfg['cpuSeconds'], cfg['cpuSeconds'] + 1)
    lim(resource.RLIMIT_AS, cfg['memoryBytes'])
    lim(resource.RLIMIT_FSIZE, cfg['fileSizeBytes'])
    # RLIMIT_NPROC counts every process of the real uid: without a uid of our own, allow for ours.
    extra = 0 if cfg.get('uid') is not None else user_processes()
    lim(resource.RLIMIT_NPROC, cfg['processes'] + extra)
    lim(resource.RLIMIT_NOFILE, 256)
    lim(resource.RLIMIT_CORE, 0)


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


def sweep_children():
    # As child subreaper, every orphan of the program is re-parented to us: kill children until
    # none is left (a killed process's own children come back to us on the next round).
    for _ in range(1000):
        kids = own_children()
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


def user_processes():
    n = 0
    for p in os.listdir('/proc'):
        try:
            n += p.isdigit() and os.stat('/proc/' + p).st_uid == os.getuid()
        except OSError:
            pass
    return n


def main():
    cfg = dict(arg.split('=', 1) for arg in sys.argv[1:])
    for key in ('timeoutMs', 'cpuSeconds', 'memoryBytes', 'fileSizeBytes', 'processes', 'uid'):
        if key in cfg:
            cfg[key] = int(cfg[key])
    out = os.fdopen(3, 'w')
    uid = cfg.get('uid')
    isolation = []
    box = cfg['dir']
    if uid is not None:
        try:
            sys_ok(libc.unshare(CLONE_NEWNET))
            isolation.append('netns')
        except OSError:
            pass
        try:
            sys_ok(libc.unshare(CLONE_NEWNS))
        except OSError:
            pass
        else:
            inner = isolate_fs(box, cfg['fileSizeBytes'] * 4)
            if inner is not None:
                box = inner
                isolation.append('mountns')
        try:
            sys_ok(libc.unshare(CLONE_NEWPID))
            isolation.append('pidns')
        except OSError:
            pass
        isolation.append('uid')

    if 'pidns' not in isolation:
        sys_ok(libc.prctl(36, 1, 0, 0, 0))  # PR_SET_CHILD_SUBREAPER
        isolation.append('subreaper')

    env = {'PATH': '/usr/local/bin:/usr/bin:/bin', 'LANG': 'C.UTF-8', 'HOME': box, 'TMPDIR': box,
           'OMP_NUM_THREADS': '1', 'OPENBLAS_NUM_THREADS': '1', 'MKL_NUM_THREADS': '1', 'PYTHONHASHSEED': '0', 'PYTHONDONTWRITEBYTECODE': '1'}
    child = os.fork()
    if child == 0:
        try:
            os.setpgid(0, 0)
            os.chdir(box)
            if 'pidns' in isolation and 'mountns' in isolation:
                try:
                    mount('proc', '/proc', 'proc', MS_NOSUID | MS_NODEV | MS_NOEXEC)
                except OSError:
                    pass
            set_limits(cfg)
            if uid is not None:
                os.setgroups([])
                os.setgid(uid)
                os.setuid(uid)
            os.closerange(3, 1 << 16)
            os.execve(cfg['python'], [cfg['python'], '-I', '-B', '-c', HARNESS], env)
        except BaseException as e:  # noqa: BLE001 (report why the program could not start)
            os.write(2, ('sandbox: cannot start: %r\n' % (e,)).encode())
        os._exit(127)

    timed_out = False
    pidfd = os.pidfd_open(child)
    ready, _, _ = select.select([pidfd], [], [], cfg['timeoutMs'] / 1000.0)
    if not ready:
        timed_out = True
        for kill in (lambda: os.killpg(child, signal.SIGKILL), lambda: os.kill(child, signal.SIGKILL)):
            try:
                kill()
            except OSError:
                pass
    _, status = os.waitpid(child, 0)
    os.close(pidfd)
    if 'pidns' not in isolation:
        try:
            os.killpg(child, signal.SIGKILL)
        except OSError:
            pass
        sweep_children()
    def num(x):
        return 'null' if x is None else str(x)
    out.write('{"exit": %s, "signal": %s, "timedOut": %s, "isolation": [%s]}\n' % (
        num(os.WEXITSTATUS(status) if os.WIFEXITED(status) else None),
        num(os.WTERMSIG(status) if os.WIFSIGNALED(status) else None),
        'true' if timed_out else 'false',
        ', '.join('"%s"' % layer for layer in isolation)))
    out.flush()


main()
