using System.Runtime.InteropServices;
using System.Text;
using static Aica.Native.Flags;

namespace Aica.Native;

/// <summary>An errno from a system call, with the path it concerned.</summary>
public sealed class SysException(int errno, string call, string path)
    : IOException($"{call} {path}: {Sys.StrError(errno)}")
{
    public int Errno { get; } = errno;
    public string Call { get; } = call;
    public string PathName { get; } = path;
}

/// <summary>What statx says about one inode (never followed through a link).</summary>
public readonly record struct FileStat(uint Mode, uint Uid, uint Gid, uint Nlink, ulong Ino, ulong Dev, long Size, long Blocks,
    long AtimeSec, long MtimeSec, long MtimeNsec, long CtimeSec, long CtimeNsec = 0)
{
    public uint Type => Mode & S_IFMT;
    public uint Perm => Mode & 0xFFF;
    /// <summary>Group or others may write it (the mode bits 022).</summary>
    public bool WritableByOthers => (Perm & 0x12) != 0;
    /// <summary>Root owns it and nobody else may write it: what root may trust (read, run, source).</summary>
    public bool OnlyRootWrites => Uid == 0 && !WritableByOthers;
    public bool IsDir => Type == S_IFDIR;
    public bool IsFile => Type == S_IFREG;
    public bool IsLink => Type == S_IFLNK;
    public long DiskBytes => Blocks * 512;
}

/// <summary>An owned file descriptor.</summary>
public sealed class SafeFd : SafeHandle
{
    public SafeFd(int fd) : base(-1, true) => SetHandle(fd);
    public override bool IsInvalid => handle == -1;
    public int Fd => (int)handle;
    protected override bool ReleaseHandle() => Libc.close((int)handle) == 0;
}

/// <summary>Checked wrappers over <see cref="Libc"/>: errno becomes <see cref="SysException"/> carrying the path.</summary>
public static unsafe class Sys
{
    public static string StrError(int errno) => errno switch
    {
        EPERM => "operation not permitted", ENOENT => "no such file or directory", EACCES => "permission denied",
        EEXIST => "file exists", ENOTDIR => "not a directory", EISDIR => "is a directory", ELOOP => "is a symbolic link (not followed)",
        ENOTEMPTY => "directory not empty", EXDEV => "cross-device link", EBUSY => "device or resource busy", ENOSPC => "no space left on device",
        EROFS => "read-only file system", EAGAIN => "resource temporarily unavailable", EINVAL => "invalid argument",
        EDQUOT => "disk quota exceeded", ESTALE => "stale file handle", EMLINK => "too many links", EOPNOTSUPP => "operation not supported",
        EIO => "input/output error", EBADF => "bad file descriptor",
        _ => $"errno {errno}",
    };

    /// <summary>NUL-terminated bytes of a name or path (file names are bytes, not necessarily UTF-8).</summary>
    public static byte[] Z(string s)
    {
        var n = Encoding.UTF8.GetByteCount(s);
        var b = new byte[n + 1];
        Encoding.UTF8.GetBytes(s, b);
        return b;
    }

    public static byte[] Z(ReadOnlySpan<byte> name)
    {
        var b = new byte[name.Length + 1];
        name.CopyTo(b);
        return b;
    }

    private static int Err() => Marshal.GetLastPInvokeError();

    public static SafeFd OpenAt(int dirfd, string path, int flags, uint mode = 0) => OpenAt(dirfd, Z(path), flags, mode, path);

    public static SafeFd OpenAt(int dirfd, byte[] zpath, int flags, uint mode, string display)
    {
        fixed (byte* p = zpath)
        {
            while (true)
            {
                var fd = Libc.openat(dirfd, p, flags | O_CLOEXEC, mode);
                if (fd >= 0) return new SafeFd(fd);
                var e = Err();
                if (e == EINTR) continue;
                throw new SysException(e, "open", display);
            }
        }
    }

    /// <summary>Open, or null when the errno is one of <paramref name="tolerated"/>.</summary>
    public static SafeFd? TryOpenAt(int dirfd, ReadOnlySpan<byte> zpath, int flags, out int errno)
    {
        if (zpath.IsEmpty || zpath[^1] != 0) throw new ArgumentException("the name must end with a NUL byte");
        fixed (byte* p = zpath)
        {
            while (true)
            {
                var fd = Libc.openat(dirfd, p, flags | O_CLOEXEC, 0);
                if (fd >= 0) { errno = 0; return new SafeFd(fd); }
                errno = Err();
                if (errno != EINTR) return null;
            }
        }
    }

    private static FileStat FromStatx(in Libc.StatxBuf b) => new(b.stx_mode, b.stx_uid, b.stx_gid, b.stx_nlink, b.stx_ino,
        ((ulong)b.stx_dev_major << 32) | b.stx_dev_minor, (long)b.stx_size, (long)b.stx_blocks,
        b.stx_atime.tv_sec, b.stx_mtime.tv_sec, b.stx_mtime.tv_nsec, b.stx_ctime.tv_sec, b.stx_ctime.tv_nsec);

    /// <summary>lstat relative to a directory descriptor; null when absent. Never follows a final link.</summary>
    public static FileStat? LstatAt(int dirfd, byte[] zname, string display)
    {
        Libc.StatxBuf buf;
        fixed (byte* p = zname)
        {
            if (Libc.statx(dirfd, p, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &buf) == 0) return FromStatx(buf);
        }
        var e = Err();
        if (e == ENOENT || e == ENOTDIR) return null;
        throw new SysException(e, "stat", display);
    }

    /// <summary>lstat that reports the errno instead of throwing (for walkers that continue past errors).</summary>
    public static int TryLstatAt(int dirfd, byte* zname, out FileStat st)
    {
        Libc.StatxBuf buf;
        if (Libc.statx(dirfd, zname, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &buf) == 0) { st = FromStatx(buf); return 0; }
        st = default;
        return Err();
    }

    public static FileStat Fstat(SafeFd fd, string display)
    {
        Libc.StatxBuf buf;
        byte empty = 0;
        if (Libc.statx(fd.Fd, &empty, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &buf) != 0)
            throw new SysException(Err(), "stat", display);
        return FromStatx(buf);
    }

    public static void Fchown(SafeFd fd, uint uid, uint gid, string display)
    {
        if (Libc.fchown(fd.Fd, uid, gid) != 0) throw new SysException(Err(), "chown", display);
    }

    public static void Fchmod(SafeFd fd, uint mode, string display)
    {
        if (Libc.fchmod(fd.Fd, mode) != 0) throw new SysException(Err(), "chmod", display);
    }

    /// <summary>chown of an O_PATH descriptor (works for any file type, never follows).</summary>
    public static int TryFchownPath(SafeFd fd, uint uid, uint gid)
    {
        byte empty = 0;
        return Libc.fchownat(fd.Fd, &empty, uid, gid, AT_EMPTY_PATH) == 0 ? 0 : Err();
    }

    /// <summary>chmod of the exact inode an O_PATH descriptor holds, via /proc/self/fd (what glibc's lchmod does).</summary>
    public static int TryFchmodPath(SafeFd fd, uint mode)
    {
        var z = Z($"/proc/self/fd/{fd.Fd}");
        fixed (byte* p = z) return Libc.fchmodat(AT_FDCWD, p, mode, 0) == 0 ? 0 : Err();
    }

    /// <summary>lchown relative to a directory: a link is changed itself, never its target.</summary>
    public static void LchownAt(int dirfd, byte[] zname, uint uid, uint gid, string display)
    {
        fixed (byte* p = zname)
            if (Libc.fchownat(dirfd, p, uid, gid, AT_SYMLINK_NOFOLLOW) != 0) throw new SysException(Err(), "chown", display);
    }

    public static void MkdirAt(int dirfd, byte[] zname, uint mode, string display)
    {
        var e = TryMkdirAt(dirfd, zname, mode);
        if (e != 0) throw new SysException(e, "mkdir", display);
    }

    /// <summary>mkdirat: 0, or the errno.</summary>
    public static int TryMkdirAt(int dirfd, byte[] zname, uint mode)
    {
        fixed (byte* p = zname) return Libc.mkdirat(dirfd, p, mode) == 0 ? 0 : Err();
    }

    public static void SymlinkAt(string target, int dirfd, byte[] zname, string display)
    {
        var t = Z(target);
        fixed (byte* pt = t)
        fixed (byte* p = zname)
            if (Libc.symlinkat(pt, dirfd, p) != 0) throw new SysException(Err(), "symlink", display);
    }

    /// <summary>PATH_MAX: the longest link target readlink returns whole.</summary>
    public const int PathMax = 4096;

    public static byte[]? ReadLinkAt(int dirfd, byte[] zname, string display)
    {
        Span<byte> buf = stackalloc byte[PathMax];
        var n = ReadLinkAtZ(dirfd, zname, buf, display);
        return n < 0 ? null : buf[..n].ToArray();
    }

    /// <summary>
    /// readlinkat of <paramref name="name"/> (not NUL-terminated) into <paramref name="buf"/>: the target's length, or -1
    /// when it is not a link or is gone. No allocation: for walks over entries a member can multiply.
    /// </summary>
    public static int ReadLinkAt(int dirfd, ReadOnlySpan<byte> name, Span<byte> buf, string display)
    {
        Span<byte> z = name.Length < 1024 ? stackalloc byte[name.Length + 1] : new byte[name.Length + 1];
        name.CopyTo(z);
        z[^1] = 0;
        return ReadLinkAtZ(dirfd, z, buf, display);
    }

    /// <summary>As <see cref="ReadLinkAt(int, ReadOnlySpan{byte}, Span{byte}, string)"/> with a NUL-terminated name (used as it is).</summary>
    public static int ReadLinkAtZ(int dirfd, ReadOnlySpan<byte> zname, Span<byte> buf, string display)
    {
        if (zname.IsEmpty || zname[^1] != 0) throw new ArgumentException("the name must end with a NUL byte");
        fixed (byte* p = zname)
        fixed (byte* b = buf)
        {
            var n = Libc.readlinkat(dirfd, p, b, buf.Length);
            if (n >= 0) return (int)n;
            var e = Err();
            if (e == ENOENT || e == EINVAL) return -1;
            throw new SysException(e, "readlink", display);
        }
    }

    public static void RenameAt(int olddir, byte[] oldname, int newdir, byte[] newname, uint flags, string display)
    {
        fixed (byte* o = oldname)
        fixed (byte* n = newname)
            if (Libc.renameat2(olddir, o, newdir, n, flags) != 0) throw new SysException(Err(), "rename", display);
    }

    /// <summary>linkat without following anything: 0, or the errno.</summary>
    public static int TryLinkAt(int olddirfd, byte[] zold, int newdirfd, byte[] znew)
    {
        fixed (byte* o = zold)
        fixed (byte* n = znew)
            return Libc.linkat(olddirfd, o, newdirfd, n, 0) == 0 ? 0 : Err();
    }

    public static int TryUnlinkAt(int dirfd, byte[] zname, bool dir)
    {
        fixed (byte* p = zname) return Libc.unlinkat(dirfd, p, dir ? AT_REMOVEDIR : 0) == 0 ? 0 : Err();
    }

    public static void UnlinkAt(int dirfd, byte[] zname, bool dir, string display)
    {
        var e = TryUnlinkAt(dirfd, zname, dir);
        if (e != 0) throw new SysException(e, dir ? "rmdir" : "unlink", display);
    }

    public static void Fsync(SafeFd fd, string display)
    {
        if (Libc.fsync(fd.Fd) != 0) throw new SysException(Err(), "fsync", display);
    }

    /// <summary>Writes out everything pending on the file system holding <paramref name="fd"/>.</summary>
    public static void Syncfs(SafeFd fd, string display)
    {
        if (Libc.syncfs(fd.Fd) != 0) throw new SysException(Err(), "syncfs", display);
    }

    public static void WriteAll(SafeFd fd, ReadOnlySpan<byte> data, string display)
    {
        fixed (byte* p = data)
        {
            var off = 0;
            while (off < data.Length)
            {
                var n = Libc.write(fd.Fd, p + off, data.Length - off);
                if (n < 0)
                {
                    var e = Err();
                    if (e == EINTR) continue;
                    throw new SysException(e, "write", display);
                }
                off += (int)n;
            }
        }
    }

    /// <summary>The most aica reads of one file into memory (rc files, keys, configs): a larger one is refused, not read.</summary>
    public const int MaxReadBytes = 64 << 20;

    public static byte[] ReadAll(SafeFd fd, string display, int limit = MaxReadBytes) => ReadAll(fd, Fstat(fd, display), display, limit);

    /// <summary>As <see cref="ReadAll(SafeFd, string, int)"/> with the descriptor's stat already at hand (one fstat less per file).</summary>
    public static byte[] ReadAll(SafeFd fd, FileStat st, string display, int limit = MaxReadBytes)
    {
        // A file already past the limit is refused before reading a byte. A small file (rc files, recover reads thousands)
        // is read into stack space and copied once into an array of its exact size; a bigger one into a buffer of its size
        // plus one (the read that sees the end), grown only if the file grew since the fstat.
        var size = st.Size;
        if (size > limit) throw new SysException(EINVAL, "read (file too large)", display);
        Span<byte> small = stackalloc byte[size < SmallFile ? SmallFile : 0];
        var buf = size < SmallFile ? null : new byte[(int)Math.Min(size + 1, limit + 1L)];
        var len = 0;
        while (true)
        {
            var into = buf ?? small;
            if (len == into.Length)
            {
                var grown = new byte[(int)Math.Min(Math.Max(into.Length * 2L, 256), limit + 1L)];
                into[..len].CopyTo(grown);
                buf = grown;
                into = buf;
            }
            nint n;
            fixed (byte* p = into) n = Libc.read(fd.Fd, p + len, into.Length - len);
            if (n < 0)
            {
                var e = Err();
                if (e == EINTR) continue;
                throw new SysException(e, "read", display);
            }
            if (n == 0) break;
            len += (int)n;
            if (len > limit) throw new SysException(EINVAL, "read (file too large)", display);
            // All the bytes fstat promised, and the read stopped short of the space it had: the end, without a read that
            // returns 0 (one system call less per rc file). A file that grew meanwhile fills more and is read on.
            if (len == size && size > 0 && len < into.Length) break;
        }
        if (buf is null) return small[..len].ToArray();
        return len == buf.Length ? buf : buf.AsSpan(0, len).ToArray();
    }

    // Files below this size are read on the stack (one exact-size array each).
    private const int SmallFile = 4096;

    public readonly record struct FsUsage(ulong BlockSize, ulong Blocks, ulong Free, ulong Available, ulong Files, ulong FilesFree);

    public static FsUsage Fstatvfs(SafeFd fd, string display)
    {
        Libc.StatvfsBuf b;
        if (Libc.fstatvfs(fd.Fd, &b) != 0) throw new SysException(Err(), "statvfs", display);
        return new FsUsage(b.f_frsize, b.f_blocks, b.f_bfree, b.f_bavail, b.f_files, b.f_ffree);
    }

    /// <summary>Open-file-description lock (fcntl F_OFD_SETLK): per open file, works over NFS, released on close.</summary>
    public static bool TryLock(SafeFd fd, bool exclusive, string display)
    {
        var fl = new Libc.Flock { l_type = exclusive ? F_WRLCK : F_RDLCK, l_whence = 0, l_start = 0, l_len = 0, l_pid = 0 };
        if (Libc.fcntl(fd.Fd, F_OFD_SETLK, &fl) == 0) return true;
        var e = Err();
        if (e == EAGAIN || e == EACCES) return false;
        throw new SysException(e, "lock", display);
    }

    /// <summary>Releases an OFD lock now: a child forked meanwhile (it shares the open file until its exec) cannot keep it.</summary>
    public static void Unlock(SafeFd fd)
    {
        var fl = new Libc.Flock { l_type = F_UNLCK, l_whence = 0, l_start = 0, l_len = 0, l_pid = 0 };
        Libc.fcntl(fd.Fd, F_OFD_SETLK, &fl);
    }

    /// <summary>Releases a BSD flock now (as Python's filelock does before it closes the file).</summary>
    public static void Funlock(SafeFd fd) => Libc.flock(fd.Fd, LOCK_UN);

    /// <summary>BSD flock(LOCK_EX|LOCK_NB) (what Python's filelock takes); false when another open file holds it.</summary>
    public static bool TryFlock(SafeFd fd, string display)
    {
        while (true)
        {
            if (Libc.flock(fd.Fd, LOCK_EX | LOCK_NB) == 0) return true;
            var e = Err();
            if (e == EINTR) continue;
            if (e == EAGAIN) return false;
            throw new SysException(e, "flock", display);
        }
    }

    /// <summary>Whether another open file description holds a conflicting lock.</summary>
    public static bool IsLockedByOther(SafeFd fd, string display)
    {
        var fl = new Libc.Flock { l_type = F_WRLCK, l_whence = 0, l_start = 0, l_len = 0, l_pid = 0 };
        if (Libc.fcntl(fd.Fd, F_OFD_GETLK, &fl) != 0) throw new SysException(Err(), "lock query", display);
        return fl.l_type != F_UNLCK;
    }

    /// <summary>Sets access and modification times of an open file (to preserve them in a copy).</summary>
    public static void Futimens(SafeFd fd, long atimeSec, long mtimeSec, long mtimeNsec, string display)
    {
        var ts = stackalloc Libc.Timespec[2];
        ts[0] = new Libc.Timespec { tv_sec = atimeSec, tv_nsec = 0 };
        ts[1] = new Libc.Timespec { tv_sec = mtimeSec, tv_nsec = mtimeNsec };
        if (Libc.futimens(fd.Fd, ts) != 0) throw new SysException(Err(), "utimens", display);
    }

    /// <summary>Sets access and modification times to now (UTIME_NOW: on NFS the server's clock).</summary>
    public static void FutimensNow(SafeFd fd, string display)
    {
        const long utimeNow = (1L << 30) - 1;
        var ts = stackalloc Libc.Timespec[2];
        ts[0] = new Libc.Timespec { tv_sec = 0, tv_nsec = utimeNow };
        ts[1] = new Libc.Timespec { tv_sec = 0, tv_nsec = utimeNow };
        if (Libc.futimens(fd.Fd, ts) != 0) throw new SysException(Err(), "utimens", display);
    }

    /// <summary>The attribute names of a descriptor, each NUL-terminated; none where the file system has no attributes.</summary>
    public static List<byte[]> ListXattrs(SafeFd fd, string display)
    {
        while (true)
        {
            var size = Libc.flistxattr(fd.Fd, null, 0);
            if (size < 0) return Err() is EOPNOTSUPP ? [] : throw new SysException(Err(), "listxattr", display);
            if (size == 0) return [];
            var buf = new byte[size];
            nint n;
            fixed (byte* b = buf) n = Libc.flistxattr(fd.Fd, b, buf.Length);
            if (n < 0)
            {
                if (Err() == ERANGE) continue; // grew meanwhile
                throw new SysException(Err(), "listxattr", display);
            }
            var names = new List<byte[]>();
            var start = 0;
            for (var i = 0; i < n; i++)
                if (buf[i] == 0) { names.Add(buf[start..(i + 1)]); start = i + 1; }
            return names;
        }
    }

    /// <summary>The value of one attribute (NUL-terminated name); null when it is gone.</summary>
    public static byte[]? GetXattr(SafeFd fd, byte[] zname, string display)
    {
        fixed (byte* n = zname)
            while (true)
            {
                var size = Libc.fgetxattr(fd.Fd, n, null, 0);
                if (size < 0) return Err() == ENODATA ? null : throw new SysException(Err(), "getxattr", display);
                var buf = new byte[size];
                nint got;
                fixed (byte* b = buf) got = Libc.fgetxattr(fd.Fd, n, b, buf.Length);
                if (got >= 0) return buf[..(int)got];
                if (Err() == ERANGE) continue;
                if (Err() == ENODATA) return null;
                throw new SysException(Err(), "getxattr", display);
            }
    }

    /// <summary>fsetxattr (NUL-terminated name): 0, or the errno.</summary>
    public static int TrySetXattr(SafeFd fd, byte[] zname, byte[] value)
    {
        fixed (byte* n = zname)
        fixed (byte* v = value)
            return Libc.fsetxattr(fd.Fd, n, v, value.Length, 0) == 0 ? 0 : Err();
    }

    public const int SEEK_SET = 0, SEEK_DATA = 3, SEEK_HOLE = 4;

    /// <summary>lseek: the new offset, or -1 with <paramref name="errno"/> set.</summary>
    public static long TryLseek(SafeFd fd, long offset, int whence, out int errno)
    {
        var r = Libc.lseek(fd.Fd, offset, whence);
        errno = r < 0 ? Err() : 0;
        return r;
    }

    public static void Ftruncate(SafeFd fd, long length, string display)
    {
        if (Libc.ftruncate(fd.Fd, length) != 0) throw new SysException(Err(), "ftruncate", display);
    }

    /// <summary>Sends a signal (0 probes whether the process exists).</summary>
    public static bool Kill(int pid, int signal) => Libc.kill(pid, signal) == 0;

    /// <summary>
    /// Whether a process still runs: it exists (kill 0 succeeds or is refused) and is not a zombie (a killed process
    /// nobody reaped yet holds its pid but can no longer hold a lock or finish a write).
    /// </summary>
    public static bool ProcessAlive(int pid)
    {
        if (pid <= 0) return false;
        if (Libc.kill(pid, 0) != 0 && Err() != EPERM) return false;
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var close = stat.LastIndexOf(')');
            return close < 0 || close + 2 >= stat.Length || stat[close + 2] != 'Z';
        }
        catch (IOException) { return false; }
        catch (UnauthorizedAccessException) { return true; }
    }

    public static uint Umask(uint mask) => Libc.umask(mask);
    public static uint Euid => Libc.geteuid();
    public static uint Uid => Libc.getuid();
    public static int Pid => Libc.getpid();

    private const int RLIMIT_NOFILE = 7;

    /// <summary>The soft limit on open descriptors (1024 when it cannot be read).</summary>
    public static ulong OpenFileLimit()
    {
        Libc.RLimit r;
        return Libc.getrlimit(RLIMIT_NOFILE, &r) == 0 ? r.rlim_cur : 1024;
    }

    /// <summary>
    /// Grows the process's descriptor table at once to hold descriptors up to <paramref name="count"/> (a duplicate at
    /// that number, closed again; the kernel never shrinks the table). In a process with threads every growth waits
    /// for an RCU grace period (~10 ms); growing 64 -> 128 -> ... one step at a time pays that at every doubling.
    /// Best effort: nothing happens when the limit is lower.
    /// </summary>
    public static void ReserveDescriptors(SafeFd any, int count)
    {
        var fd = Libc.fcntl_dupfd(any.Fd, F_DUPFD_CLOEXEC, count - 1);
        if (fd >= 0) Libc.close(fd);
    }

    /// <summary>Raises the soft limit on open descriptors to <paramref name="wanted"/> (at most the hard limit); never lowers it.</summary>
    public static void RaiseOpenFileLimit(ulong wanted)
    {
        Libc.RLimit r;
        if (Libc.getrlimit(RLIMIT_NOFILE, &r) != 0 || r.rlim_cur >= wanted) return;
        r.rlim_cur = Math.Min(wanted, r.rlim_max);
        Libc.setrlimit(RLIMIT_NOFILE, &r); // best effort: the old limit stays on failure
    }

    public static bool IsTerminal(int fd) => Libc.isatty(fd) == 1;

    /// <summary>
    /// st_dev (as glibc's dev_t, the number <c>stat -c %d</c> prints) and st_ino of an open descriptor this process does
    /// not own (it is not closed); null when it is not open.
    /// </summary>
    public static (ulong Dev, ulong Ino)? DescriptorIdentity(int fd)
    {
        Libc.StatxBuf buf;
        byte empty = 0;
        if (Libc.statx(fd, &empty, AT_EMPTY_PATH, STATX_BASIC_STATS, &buf) != 0) return null;
        ulong major = buf.stx_dev_major, minor = buf.stx_dev_minor;
        var dev = ((major & 0xfffUL) << 8) | ((major & 0xfffff000UL) << 32) | (minor & 0xffUL) | ((minor & 0xffffff00UL) << 12);
        return (dev, buf.stx_ino);
    }

    /// <summary>The columns of the terminal on <paramref name="fd"/> (TIOCGWINSZ, the same number on x86_64 and aarch64), or null.</summary>
    public static unsafe int? TerminalColumns(int fd)
    {
        const nuint TIOCGWINSZ = 0x5413;
        var ws = stackalloc ushort[4]; // rows, columns, x pixels, y pixels
        return Libc.ioctl(fd, TIOCGWINSZ, ws) == 0 && ws[1] > 0 ? ws[1] : null;
    }

    public static string HostName()
    {
        var buf = new byte[256];
        fixed (byte* p = buf)
            if (Libc.gethostname(p, buf.Length) != 0) return "localhost";
        var n = Array.IndexOf(buf, (byte)0);
        return Encoding.UTF8.GetString(buf, 0, n < 0 ? buf.Length : n);
    }

    /// <summary>
    /// Entries of an open directory (name bytes, d_type, d_ino), excluding . and ..; read from the start with
    /// getdents64 (three system calls for a small directory, where opendir/readdir on a dup took eight).
    /// </summary>
    public static List<(byte[] Name, byte Type, ulong Ino)> ReadDir(SafeFd dir, string display)
    {
        var list = new List<(byte[], byte, ulong)>();
        EachDirEntry(dir, display, (name, type, ino) => { list.Add((name.ToArray(), type, ino)); return true; });
        return list;
    }

    /// <summary>Called for each directory entry with its name (valid only during the call); false stops the listing.</summary>
    public delegate bool DirEntryVisitor(ReadOnlySpan<byte> name, byte type, ulong ino);

    /// <summary>
    /// The entries of an open directory one by one, without keeping them: memory stays one 32 KiB buffer however many
    /// entries a member made (SPEC §6.10). Excludes . and ..; reads from the start.
    /// </summary>
    public static void EachDirEntry(SafeFd dir, string display, DirEntryVisitor visit)
    {
        if (Libc.lseek(dir.Fd, 0, 0) < 0) throw new SysException(Err(), "readdir", display);
        var buf = System.Buffers.ArrayPool<byte>.Shared.Rent(32768);
        try
        {
            fixed (byte* b = buf)
            {
                while (true)
                {
                    var n = Libc.getdents64(dir.Fd, b, buf.Length);
                    if (n < 0)
                    {
                        var e = Err();
                        if (e == EINTR) continue;
                        throw new SysException(e, "readdir", display);
                    }
                    if (n == 0) break;
                    for (nint off = 0; off < n;)
                    {
                        var rec = (Libc.Dirent64*)(b + off);
                        var name = &rec->d_name0;
                        var max = rec->d_reclen - 19; // the name is NUL-terminated within the record
                        var len = 0;
                        while (len < max && name[len] != 0) len++;
                        off += rec->d_reclen;
                        if (len == 1 && name[0] == '.') continue;
                        if (len == 2 && name[0] == '.' && name[1] == '.') continue;
                        if (!visit(new ReadOnlySpan<byte>(name, len), rec->d_type, rec->d_ino)) return;
                    }
                }
            }
        }
        finally { System.Buffers.ArrayPool<byte>.Shared.Return(buf); }
    }

    /// <summary>symlinkat with the target as raw bytes (a copied link keeps a non-UTF-8 target exactly).</summary>
    public static void SymlinkAt(ReadOnlySpan<byte> target, int dirfd, byte[] zname, string display)
    {
        var t = Z(target);
        fixed (byte* pt = t)
        fixed (byte* p = zname)
            if (Libc.symlinkat(pt, dirfd, p) != 0) throw new SysException(Err(), "symlink", display);
    }

    /// <summary>One read(2) into <paramref name="buf"/>; 0 at end of file.</summary>
    public static int Read(SafeFd fd, Span<byte> buf, string display)
    {
        fixed (byte* p = buf)
        {
            while (true)
            {
                var n = Libc.read(fd.Fd, p, buf.Length);
                if (n >= 0) return (int)n;
                var e = Err();
                if (e != EINTR) throw new SysException(e, "read", display);
            }
        }
    }

    /// <summary>fchownat relative to a directory, never following a final link; 0 or the errno.</summary>
    public static int TryLchownAt(int dirfd, byte[] zname, uint uid, uint gid)
    {
        fixed (byte* p = zname) return Libc.fchownat(dirfd, p, uid, gid, AT_SYMLINK_NOFOLLOW) == 0 ? 0 : Err();
    }

    /// <summary>fchmodat relative to a directory (follows a final link: only for entries known not to be links); 0 or the errno.</summary>
    public static int TryChmodAt(int dirfd, byte[] zname, uint mode)
    {
        fixed (byte* p = zname) return Libc.fchmodat(dirfd, p, mode, 0) == 0 ? 0 : Err();
    }
}
