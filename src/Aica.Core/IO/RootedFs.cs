using System.Text;
using Aica.Native;
using static Aica.Native.Flags;
using static Aica.Native.Perms;

namespace Aica.IO;

/// <summary>
/// The file system seen from a root (<c>--root</c>, "/" in production). Every absolute path is resolved
/// component by component with O_NOFOLLOW from the root descriptor, and every change is made on a
/// descriptor or with AT_SYMLINK_NOFOLLOW, so no operation here ever follows a symlink (SPEC §6.1).
/// </summary>
public sealed class RootedFs : IDisposable
{
    private readonly SafeFd _root;

    public RootedFs(string root)
    {
        Root = Path.GetFullPath(string.IsNullOrEmpty(root) ? "/" : root);
        if (Root.Length > 1) Root = Root.TrimEnd('/');
        _root = Sys.OpenAt(AT_FDCWD, Root, O_RDONLY | O_DIRECTORY);
    }

    public string Root { get; }
    public bool IsRealRoot => Root == "/";

    /// <summary>The path as the host sees it (for child processes and messages).</summary>
    public string Host(string path) => IsRealRoot ? path : Root + path;

    private static string[] Split(string path) => Canonical(path).Split('/', StringSplitOptions.RemoveEmptyEntries);

    /// <summary>
    /// The path with single slashes and no trailing one ("/" stays "/"): the walks below read its components as spans
    /// and look kept directories up by its prefixes, with no array or string per lookup (recover and doctor make tens of
    /// thousands). Refuses a relative path and "." or ".." components.
    /// </summary>
    private static string Canonical(string path)
    {
        if (!path.StartsWith('/')) throw new ArgumentException($"path must be absolute: {path}");
        var canonical = !path.Contains("//", StringComparison.Ordinal) && (path.Length == 1 || path[^1] != '/');
        var c = canonical ? path : "/" + string.Join('/', path.Split('/', StringSplitOptions.RemoveEmptyEntries));
        foreach (var range in c.AsSpan().Split('/'))
            if (c.AsSpan(range) is "." or "..") throw new ArgumentException($"path must be normalised: {path}");
        return c;
    }

    /// <summary>Components of a canonical path ("/" has none).</summary>
    private static int Components(string canonical) => canonical.Length == 1 ? 0 : canonical.AsSpan().Count('/');

    /// <summary>Where the parent of a canonical path ends ("/a" gives 0: the root) and its last component starts.</summary>
    private static int ParentEnd(string canonical) => canonical.LastIndexOf('/');

    private static string ParentOf(string canonical) => ParentEnd(canonical) is var e && e == 0 ? "/" : canonical[..e];

    /// <summary>The NUL-terminated bytes of a name into <paramref name="buf"/> (stack space when it fits, else a new array).</summary>
    private static ReadOnlySpan<byte> ZName(ReadOnlySpan<char> name, Span<byte> buf)
    {
        var max = Encoding.UTF8.GetMaxByteCount(name.Length) + 1;
        if (max > buf.Length) buf = new byte[max];
        var n = Encoding.UTF8.GetBytes(name, buf);
        buf[n] = 0;
        return buf[..(n + 1)];
    }

    // A name's NUL-terminated bytes on the stack: NAME_MAX is 255 bytes; longer ones (which the kernel refuses) go to the heap.
    private const int NameBuf = 256 * 3 + 1;

    /// <summary>Opens a directory without following any link on the way; throws ELOOP/ENOTDIR/ENOENT as <see cref="SysException"/>.</summary>
    public SafeFd OpenDir(string path) => TryOpenDir(path, out var errno) ?? throw new SysException(errno, "open", Host(path));

    public SafeFd? TryOpenDir(string path, out int errno)
    {
        var c = Canonical(path);
        var (owned, fd) = Walk(c, Components(c), out errno);
        if (fd < 0)
        {
            if (errno == ENOTDIR) errno = LooksLikeLink(c) ? ELOOP : ENOTDIR;
            return null;
        }
        // A kept descriptor is the cache's: the caller gets its own.
        return owned ?? Sys.TryOpenAt(fd, "."u8 + "\0"u8, O_RDONLY | O_DIRECTORY, out errno);
    }

    // Directories whose name only root can change (every directory above them root-owned and not group/world-writable:
    // /data, /data/users, /data/users/alice, /home, /etc...), kept open so a lookup below them starts there, not at the
    // root: no member can rename or replace them, so a kept descriptor stays what the O_NOFOLLOW walk found. Recover and
    // doctor look up thousands of paths under the same few of them. Every rename, unlink and ownership change aica makes
    // through this class forgets them (closed only at Dispose: another thread may be using one); code that renames
    // with descriptors of its own calls ForgetDirs.
    private readonly Dictionary<string, (SafeFd Fd, bool KeepChildren)> _kept = new(StringComparer.Ordinal);
    private readonly List<SafeFd> _retired = [];
    private readonly object _cacheLock = new();
    // Three levels: /data/users/U, /data/models/torch; deeper folders are looked up far less often.
    private const int KeptDepth = 3;
    // At most this many descriptors kept (with the retired ones): a quarter of the soft descriptor limit (systemd's
    // default soft limit of 1024 gives 256; the CLI raises it, see Program.cs), so a server with thousands of users
    // never runs out. Past it every lookup below /data/users/U opens U again: twice the system calls per user.
    // Only after ExpectManyDirs; before it SmallKept.
    private readonly int _maxKept = (int)Math.Clamp(Sys.OpenFileLimit() / 4, 64, 8192);
    // Until a caller expects many (ExpectManyDirs) only this many are kept: the descriptor table a process starts with
    // (64 entries) then never grows, and in a process with threads each growth waits for an RCU grace period (~10 ms).
    private const int SmallKept = 40;
    private int _keptCap = SmallKept;

    /// <summary>
    /// The caller will look below <paramref name="count"/> directories (recover and doctor: one per user). With many,
    /// every /data/users/U is worth keeping (two system calls less per lookup), and the descriptor table is grown once
    /// to its final size now instead of at every doubling (a grace period each); with few the table stays as it is.
    /// </summary>
    public void ExpectManyDirs(int count)
    {
        if (count <= ManyDirs) return;
        lock (_cacheLock)
        {
            if (_keptCap == _maxKept) return;
            _keptCap = Math.Max(_maxKept, SmallKept);
        }
        Sys.ReserveDescriptors(_root, _keptCap + 64);
    }

    // Below this many the grace period of one table growth costs more than the lookups it saves.
    private const int ManyDirs = 300;

    /// <summary>
    /// Forgets kept directories: <paramref name="path"/> and everything below it, or all of them (null: after a rename
    /// or removal made with descriptors outside this class). Only what a change can touch goes, so the retired
    /// descriptors stay few (recover makes a thousand directories).
    /// </summary>
    public void ForgetDirs(string? path = null)
    {
        lock (_cacheLock)
        {
            if (_kept.Count == 0) return;
            var gone = path is null ? _kept.Keys.ToList()
                : _kept.Keys.Where(k => k == path || (k.StartsWith(path, StringComparison.Ordinal) && k.Length > path.Length && k[path.Length] == '/')).ToList();
            foreach (var k in gone)
            {
                _retired.Add(_kept[k].Fd);
                _kept.Remove(k);
            }
        }
    }

    /// <summary>
    /// The directory of the first <paramref name="count"/> components, opened component by component with O_NOFOLLOW
    /// from the deepest kept directory. Fd is -1 (errno set) when a component is missing, not a directory or a link;
    /// Owned is null when Fd is borrowed (the root or a kept directory) and must not be closed.
    /// </summary>
    private (SafeFd? Owned, int Fd) Walk(string path, int count, out int errno)
    {
        errno = 0;
        var fd = _root.Fd;
        var start = 0;
        var at = 0; // where the walked prefix ends: path[..at] is the directory fd stands for ("" is the root)
        var keep = true; // the root: the walk starts there whatever it is
        lock (_cacheLock)
        {
            if (_kept.Count > 0)
            {
                var kept = _kept.GetAlternateLookup<ReadOnlySpan<char>>();
                for (var i = 0; i < count; i++)
                {
                    var end = NextSlash(path, at);
                    if (!kept.TryGetValue(path.AsSpan(0, end), out var k)) break;
                    fd = k.Fd.Fd; start = i + 1; at = end; keep = k.KeepChildren;
                }
            }
        }
        SafeFd? owned = null;
        Span<byte> buf = stackalloc byte[NameBuf];
        for (var i = start; i < count; i++)
        {
            var end = NextSlash(path, at);
            var next = Sys.TryOpenAt(fd, ZName(path.AsSpan(at + 1, end - at - 1), buf), O_RDONLY | O_DIRECTORY | O_NOFOLLOW, out errno);
            owned?.Dispose();
            owned = null;
            if (next is null) return (null, -1);
            at = end;
            bool full;
            lock (_cacheLock) full = _kept.Count + _retired.Count >= _keptCap;
            if (keep && i < KeptDepth && !full)
            {
                // Its name is safe (the parent is root's alone); its children's only if it is root's alone too.
                var key = path[..end];
                var st = Sys.Fstat(next, Host(key));
                keep = st.OnlyRootWrites;
                lock (_cacheLock)
                {
                    if (_kept.TryGetValue(key, out var other)) { next.Dispose(); next = other.Fd; } // another thread kept it first
                    else _kept[key] = (next, keep);
                }
                fd = next.Fd;
                continue;
            }
            keep = false;
            owned = next;
            fd = next.Fd;
        }
        return (owned, fd);
    }

    /// <summary>The end of the component that starts after the slash at <paramref name="slash"/>.</summary>
    private static int NextSlash(string path, int slash)
    {
        var n = path.IndexOf('/', slash + 1);
        return n < 0 ? path.Length : n;
    }

    private bool LooksLikeLink(string path)
    {
        try { return Lstat(path)?.IsLink == true; } catch (SysException) { return false; }
    }

    /// <summary>The parent directory (opened) and the final name, for *at calls.</summary>
    public (SafeFd Dir, byte[] Name) OpenParent(string path)
    {
        var c = Canonical(path);
        if (c.Length == 1) throw new ArgumentException("the root has no parent");
        return (OpenDir(ParentOf(c)), Sys.Z(c[(ParentEnd(c) + 1)..]));
    }

    public unsafe FileStat? Lstat(string path)
    {
        var c = Canonical(path);
        var count = Components(c);
        if (count == 0) return Sys.Fstat(_root, Root);
        var (owned, fd) = Walk(c, count - 1, out var errno);
        if (fd < 0)
        {
            if (errno == ENOTDIR && LooksLikeLink(ParentOf(c))) errno = ELOOP;
            if (errno is ENOENT or ENOTDIR) return null;
            throw new SysException(errno, "open", Host(path));
        }
        using (owned)
        {
            Span<byte> buf = stackalloc byte[NameBuf];
            var name = ZName(c.AsSpan(ParentEnd(c) + 1), buf);
            int e;
            FileStat st;
            fixed (byte* z = name) e = Sys.TryLstatAt(fd, z, out st);
            if (e == 0) return st;
            if (e is ENOENT or ENOTDIR) return null;
            throw new SysException(e, "stat", Host(path));
        }
    }

    public string? ReadLink(string path)
    {
        var (owned, fd, c) = WalkParent(path);
        using (owned)
        {
            Span<byte> buf = stackalloc byte[NameBuf];
            Span<byte> target = stackalloc byte[Sys.PathMax];
            var n = Sys.ReadLinkAtZ(fd, ZName(c.AsSpan(ParentEnd(c) + 1), buf), target, Host(path));
            return n < 0 ? null : Encoding.UTF8.GetString(target[..n]);
        }
    }

    /// <summary>
    /// As <see cref="OpenParent"/>, but the parent may be a kept descriptor (Owned null: not to be closed); the last
    /// component is the canonical path's after <see cref="ParentEnd"/>.
    /// </summary>
    private (SafeFd? Owned, int Fd, string Canonical) WalkParent(string path)
    {
        var c = Canonical(path);
        var count = Components(c);
        if (count == 0) throw new ArgumentException("the root has no parent");
        var (owned, fd) = Walk(c, count - 1, out var errno);
        if (fd < 0)
        {
            if (errno == ENOTDIR && LooksLikeLink(ParentOf(c))) errno = ELOOP;
            throw new SysException(errno, "open", Host(ParentOf(c)));
        }
        return (owned, fd, c);
    }

    /// <summary>
    /// The first directory above <paramref name="path"/> in which a non-root user could rename or replace the next
    /// component, or null: not root-owned, or group/world-writable without the sticky bit protecting a root-owned entry.
    /// </summary>
    public string? WritableAncestor(string path)
    {
        var parts = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        var dir = "/";
        foreach (var part in parts)
        {
            var next = dir == "/" ? "/" + part : dir + "/" + part;
            if (Lstat(dir) is not { } st || Lstat(next) is not { } child) return dir;
            var open = st.WritableByOthers && !((st.Perm & S_ISVTX) != 0 && child.Uid == 0);
            if (st.Uid != 0 || open) return dir;
            dir = next;
        }
        return null;
    }

    /// <summary>
    /// A link's target for messages: escaped (<see cref="SafeOps.Escape"/>), since whoever planted the link chose it
    /// and it must not reach an admin's terminal or a log as control characters. Never compare with it.
    /// </summary>
    public string? ShowLink(string path)
    {
        try
        {
            var (dir, name) = OpenParent(path);
            using (dir) return Sys.ReadLinkAt(dir.Fd, name, Host(path)) is { } b ? SafeOps.Escape(b) : null;
        }
        catch (SysException) { return "?"; }
    }

    /// <summary>Contents of a regular file, or null when absent. Refuses a link (ELOOP) and anything not regular.</summary>
    public byte[]? ReadFile(string path) => ReadFile(path, out _);

    /// <summary>As <see cref="ReadFile(string)"/>, with the stat of the descriptor the bytes were read from.</summary>
    public byte[]? ReadFile(string path, out FileStat stat)
    {
        stat = default;
        SafeFd? dir; int dirFd; string c;
        try { (dir, dirFd, c) = WalkParent(path); }
        catch (SysException e) when (e.Errno is ENOENT or ENOTDIR) { return null; }
        using (dir)
        {
            Span<byte> buf = stackalloc byte[NameBuf];
            var fd = Sys.TryOpenAt(dirFd, ZName(c.AsSpan(ParentEnd(c) + 1), buf), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY, out var errno);
            if (fd is null)
            {
                if (errno == ENOENT) return null;
                throw new SysException(errno, "open", Host(path));
            }
            using (fd)
            {
                var st = Sys.Fstat(fd, Host(path));
                if (!st.IsFile) throw new SysException(EINVAL, "read (not a regular file)", Host(path));
                stat = st;
                return Sys.ReadAll(fd, st, Host(path));
            }
        }
    }

    public string? ReadText(string path)
    {
        var b = ReadFile(path);
        return b is null ? null : Encoding.UTF8.GetString(b);
    }

    /// <summary>Creates a directory with exactly this owner and mode (no umask, setgid kept).</summary>
    public void Mkdir(string path, uint mode, uint uid, uint gid)
    {
        ForgetDirs(path); // a kept descriptor of a directory removed through descriptors elsewhere must not shadow this one
        var (dir, name) = OpenParent(path);
        using (dir)
        {
            Sys.MkdirAt(dir.Fd, name, O(700), Host(path));
            using var fd = Sys.OpenAt(dir.Fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0, Host(path));
            Sys.Fchown(fd, uid, gid, Host(path));
            Sys.Fchmod(fd, mode, Host(path)); // after chown: chown clears setgid on some file systems
        }
    }

    /// <summary>
    /// Sets owner and mode of whatever is at <paramref name="path"/> without following a link: a directory
    /// through its own descriptor, anything else through an O_PATH descriptor checked to be the same inode.
    /// A symlink is never chmod-ed (the change would reach its target); its ownership is changed as a link.
    /// </summary>
    public void SetOwnerMode(string path, uint? uid, uint? gid, uint? mode)
    {
        ForgetDirs(path);
        var (dir, name) = OpenParent(path);
        using (dir) SafeOps.SetOwnerMode(dir, name, Host(path), uid, gid, mode);
    }

    public void Symlink(string path, string target, uint uid = 0, uint gid = 0)
    {
        var (dir, name) = OpenParent(path);
        using (dir)
        {
            Sys.SymlinkAt(target, dir.Fd, name, Host(path));
            if (uid != 0 || gid != 0) Sys.LchownAt(dir.Fd, name, uid, gid, Host(path));
        }
    }

    /// <summary>Puts a symlink at <paramref name="path"/>, atomically replacing a file or link there (never a directory).</summary>
    public void ReplaceWithSymlink(string path, string target, uint uid = 0, uint gid = 0)
    {
        ForgetDirs(path);
        var (dir, name) = OpenParent(path);
        using (dir)
        {
            var tmp = Sys.Z($".{Encoding.UTF8.GetString(name.AsSpan(0, name.Length - 1))}.aica-{Sys.Pid}.tmp");
            Sys.TryUnlinkAt(dir.Fd, tmp, false);
            Sys.SymlinkAt(target, dir.Fd, tmp, Host(path));
            if (uid != 0 || gid != 0) Sys.LchownAt(dir.Fd, tmp, uid, gid, Host(path));
            Sys.RenameAt(dir.Fd, tmp, dir.Fd, name, 0, Host(path));
            var parent = path[..path.LastIndexOf('/')];
            bool first;
            lock (_cacheLock) first = _sweptLinkDirs.Add(parent);
            if (first) RemoveStaleTemps(dir, null, Host(path)); // a killed run's temp links: once per directory (/home holds a link per user)
        }
    }

    public void Rename(string from, string to, bool noReplace = true)
    {
        ForgetDirs(from);
        ForgetDirs(to);
        var (d1, n1) = OpenParent(from);
        var (d2, n2) = OpenParent(to);
        using (d1) using (d2) Sys.RenameAt(d1.Fd, n1, d2.Fd, n2, noReplace ? RENAME_NOREPLACE : 0, Host(from));
    }

    public void Unlink(string path)
    {
        ForgetDirs(path);
        var (dir, name) = OpenParent(path);
        using (dir) Sys.UnlinkAt(dir.Fd, name, false, Host(path));
    }

    public void Rmdir(string path)
    {
        ForgetDirs(path);
        var (dir, name) = OpenParent(path);
        using (dir) Sys.UnlinkAt(dir.Fd, name, true, Host(path));
    }

    /// <summary>Creates missing parents as root:root 0755 (the intermediate-directory rule of SPEC §3), race-free (<see cref="EnsureDir"/>).</summary>
    public void EnsureParents(string path)
    {
        var parts = Split(path);
        var cur = "";
        for (var i = 0; i < parts.Length - 1; i++)
        {
            cur += "/" + parts[i];
            if (Lstat(cur) is not { IsDir: true }) EnsureDir(cur, O(755), 0, 0);
        }
    }

    /// <summary>
    /// Makes a directory unless one is there; true when this call made it. Race-free: mkdir comes first, and EEXIST (another
    /// process made it between our look and our mkdir, as two commands started together at boot do) is no error when
    /// what is there is a real directory owned by <paramref name="uid"/>; a link, a file or someone else's directory is
    /// refused, never used. The winner sets owner and mode; a loser may see the directory still 0700 for a moment.
    /// </summary>
    public bool EnsureDir(string path, uint mode, uint uid, uint gid)
    {
        var (dir, name) = OpenParent(path);
        using (dir)
        {
            var errno = Sys.TryMkdirAt(dir.Fd, name, O(700));
            if (errno == EEXIST)
            {
                var st = Sys.LstatAt(dir.Fd, name, Host(path));
                if (st is { IsLink: true }) throw new SysException(ELOOP, "mkdir", Host(path));
                if (st is not { IsDir: true } d) throw new SysException(ENOTDIR, "mkdir", Host(path));
                if (d.Uid != uid) throw new SysException(EPERM, $"mkdir (there already, owned by uid {d.Uid}, not {uid})", Host(path));
                return false;
            }
            if (errno != 0) throw new SysException(errno, "mkdir", Host(path));
            using var fd = Sys.OpenAt(dir.Fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0, Host(path));
            Sys.Fchown(fd, uid, gid, Host(path));
            Sys.Fchmod(fd, mode, Host(path)); // after chown: chown clears setgid on some file systems
            return true;
        }
    }

    /// <summary>Atomic replace (SPEC §6.4): temp file in the same directory, fsync, rename. Returns false when already identical.</summary>
    public bool WriteAtomic(string path, ReadOnlySpan<byte> content, uint mode, uint uid = 0, uint gid = 0, Action<string>? validateHostTemp = null)
    {
        var (dir, name) = OpenParent(path);
        using (dir)
        {
            var tmpName = $".{Encoding.UTF8.GetString(name.AsSpan(0, name.Length - 1))}.aica-{Sys.Pid}-{Environment.CurrentManagedThreadId}.tmp";
            var tmp = Sys.Z(tmpName);
            Sys.TryUnlinkAt(dir.Fd, tmp, false);
            using (var fd = Sys.OpenAt(dir.Fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, O(600), Host(path)))
            {
                try
                {
                    Sys.WriteAll(fd, content, Host(path));
                    Sys.Fchown(fd, uid, gid, Host(path));
                    Sys.Fchmod(fd, mode, Host(path));
                    Sys.Fsync(fd, Host(path));
                }
                catch { Sys.TryUnlinkAt(dir.Fd, tmp, false); throw; }
            }
            try
            {
                var parentHost = Host(path)[..Host(path).LastIndexOf('/')];
                validateHostTemp?.Invoke((parentHost.Length == 0 ? "" : parentHost) + "/" + tmpName);
                Sys.RenameAt(dir.Fd, tmp, dir.Fd, name, 0, Host(path));
            }
            catch { Sys.TryUnlinkAt(dir.Fd, tmp, false); throw; }
            Sys.Fsync(dir, Host(path));
            RemoveStaleTemps(dir, Encoding.UTF8.GetString(name.AsSpan(0, name.Length - 1)), Host(path));
            return true;
        }
    }

    // Directories whose stale temp links were swept by this run (ReplaceWithSymlink: once per directory).
    private readonly HashSet<string> _sweptLinkDirs = new(StringComparer.Ordinal);

    /// <summary>
    /// A writer killed between creating its temp file and the rename leaves <c>.NAME.aica-PID-TID.tmp</c> (a temp link:
    /// <c>.NAME.aica-PID.tmp</c>); the next write of NAME removes those whose process is gone (unlinkat relative to the opened parent), so a killed run
    /// converges to the same tree. Only runs after a real write: steady state never reads the directory.
    /// </summary>
    /// <param name="name">Temps of this name only; null: every temp link (<c>.X.aica-PID.tmp</c>, a symbolic link) in the directory.</param>
    private static void RemoveStaleTemps(SafeFd dir, string? name, string display)
    {
        var prefix = name is null ? "." : $".{name}.aica-";
        List<(byte[] Name, byte Type, ulong Ino)> entries;
        try { entries = Sys.ReadDir(dir, display); }
        catch (SysException) { return; } // best effort: the write itself succeeded
        foreach (var (raw, type, _) in entries)
        {
            var n = Encoding.UTF8.GetString(raw);
            if (!n.StartsWith(prefix, StringComparison.Ordinal) || !n.EndsWith(".tmp", StringComparison.Ordinal)) continue;
            if (name is null && type != 10) continue; // DT_LNK: only ReplaceWithSymlink's temp links
            var at = name is null ? n.LastIndexOf(".aica-", StringComparison.Ordinal) : prefix.Length - 6;
            if (at <= 0) continue;
            var mid = n[(at + 6)..^4];
            var dash = mid.IndexOf('-');
            if (dash < 0) dash = mid.Length; // .NAME.aica-PID.tmp: ReplaceWithSymlink's temp link
            if (dash == 0 || !int.TryParse(mid[..dash], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var pid)) continue;
            if (pid == Sys.Pid || Sys.ProcessAlive(pid)) continue; // a live writer's temp file is its own
            Sys.TryUnlinkAt(dir.Fd, Sys.Z(raw), false);
        }
    }

    /// <summary>Appends one line to a log file (created 0640 root:root when missing), never through a link.</summary>
    public void AppendLine(string path, string line)
    {
        EnsureParents(path);
        var (dir, name) = OpenParent(path);
        using (dir)
        using (var fd = Sys.OpenAt(dir.Fd, name, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW, O(640), Host(path)))
            Sys.WriteAll(fd, Encoding.UTF8.GetBytes(line + "\n"), Host(path));
    }

    /// <summary>A mount point: different device from its parent, or listed in the mount table (bind mounts).</summary>
    public bool IsMountPoint(string path)
    {
        var st = Lstat(path);
        if (st is null || !st.Value.IsDir) return false;
        var parent = path.LastIndexOf('/') <= 0 ? "/" : path[..path.LastIndexOf('/')];
        var pst = Lstat(parent);
        if (pst is not null && pst.Value.Dev != st.Value.Dev) return true;
        var host = Host(path);
        return MountTable.Read().Entries.Any(e => e.MountPoint == host);
    }

    /// <summary><paramref name="path"/> when it is a directory, else its nearest ancestor that is (the file system a path to be made will be on).</summary>
    public string NearestDir(string path)
    {
        while (path.Length > 1 && Lstat(path) is not { IsDir: true }) path = path.LastIndexOf('/') <= 0 ? "/" : path[..path.LastIndexOf('/')];
        return path;
    }

    /// <summary>Names in a directory, in byte order (empty when it is missing or not a directory).</summary>
    public List<string> List(string dir)
    {
        using var fd = TryOpenDir(dir, out _);
        if (fd is null) return [];
        return Sys.ReadDir(fd, Host(dir)).Select(e => Encoding.UTF8.GetString(e.Name)).OrderBy(n => n, StringComparer.Ordinal).ToList();
    }

    /// <summary>
    /// Entries of a directory whose names are not valid UTF-8, shown escaped (<c>\xe9</c>): <see cref="List"/> cannot
    /// give them back by name, so an entry-by-entry move would miss them. Empty when the directory is missing.
    /// </summary>
    public List<string> NotUtf8(string dir)
    {
        using var fd = TryOpenDir(dir, out _);
        if (fd is null) return [];
        return Sys.ReadDir(fd, Host(dir)).Where(e => !SafeOps.IsUtf8(e.Name))
            .Select(e => SafeOps.Escape(e.Name)).OrderBy(n => n, StringComparer.Ordinal).ToList();
    }

    public Sys.FsUsage StatVfs(string path)
    {
        using var fd = OpenDir(path);
        return Sys.Fstatvfs(fd, Host(path));
    }

    public void Dispose()
    {
        ForgetDirs();
        foreach (var fd in _retired) fd.Dispose();
        _retired.Clear();
        _root.Dispose();
    }
}
