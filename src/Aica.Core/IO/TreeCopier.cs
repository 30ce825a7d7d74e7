using System.Text;
using Aica.Native;
using static Aica.Native.Flags;
using static Aica.Native.Perms;

namespace Aica.IO;

/// <summary>What a <see cref="TreeCopier"/> does beyond copying bytes, owners, modes and modification times.</summary>
public sealed record CopyOptions
{
    public static CopyOptions Default { get; } = new();

    /// <summary>
    /// Merge into a tree that may already exist: directories there are entered, entries there are kept (one that differs
    /// is noted as a conflict). Otherwise the target must not exist and any clash fails the copy.
    /// </summary>
    public bool MergeExisting { get; init; }

    /// <summary>Group given to every copy (a merge into the shared tree); null keeps each source's group.</summary>
    public uint? Gid { get; init; }

    /// <summary>
    /// Files not copied at all, each noted: a merge that hands copies the shared group must not copy a hard link to a
    /// root-owned file kept elsewhere (the copy would give the group what the original never gave it).
    /// </summary>
    public Func<FileStat, bool>? LeaveOut { get; init; }

    /// <summary>
    /// Another name of a file already copied becomes a hard link to that copy: one file, as in the source (uv's and
    /// conda's linked packages would otherwise take their size once per name).
    /// </summary>
    public bool KeepHardLinks { get; init; } = true;

    /// <summary>Extended attributes (POSIX ACLs, capabilities, user.*) go with the copy; those the target cannot take are noted.</summary>
    public bool KeepXattrs { get; init; } = true;

    /// <summary>fsync every file copied (a merge into live data); a move instead syncs the target file system once.</summary>
    public bool FsyncFiles { get; init; }

    /// <summary>
    /// How deep a copy goes: one more level is two more descriptors and a stack frame, and a member's chain of a million
    /// folders must not crash the admin's command.
    /// </summary>
    public int MaxDepth { get; init; } = TreeCopier.MaxDepth;

    /// <summary>
    /// Called once per directory entry a copy or removal meets: recover passes its user's time budget here, which
    /// throws to stop a member's tree of millions of entries (SPEC §6.10); a move removes its source only after a whole copy.
    /// </summary>
    public Action? Step { get; init; }
}

/// <summary>
/// The one link-safe tree copy (SPEC §6.1): every step is relative to an opened directory, nothing is followed, new
/// entries are created O_EXCL, a directory is entered only when it is the inode that was looked at, and the copy never
/// leaves the source's file system (a mount inside the tree fails it). Links are copied as links (raw target bytes),
/// FIFOs and sockets are noted and not copied. <see cref="Verify"/> proves a copy before its original is deleted;
/// <see cref="TreeMover"/> builds moves, removal and path-based use on it.
/// </summary>
public sealed class TreeCopier(CopyOptions? options = null)
{
    /// <summary>The default depth limit of copies, removals and verification.</summary>
    public const int MaxDepth = 256;

    public CopyOptions Options { get; } = options ?? CopyOptions.Default;

    /// <summary>Files copied (or linked to an earlier copy), their bytes, names linked, entries kept in a merge, ...</summary>
    public long Files, Bytes, Linked, Existing, Conflicts, Specials, LeftOut;

    /// <summary>What was not copied or not kept (FIFOs, sockets, attributes the target refused, merge conflicts): one line each.</summary>
    /// The first 100, then a count: a member can plant millions of FIFOs.
    public CappedList Notes { get; } = new(100);

    /// <summary>Whether the last <see cref="Copy"/> created its top entry (so a failed copy removes only what it made).</summary>
    public bool MadeTop { get; private set; }

    internal static SysException TooDeep(string what, string display, int max) =>
        new(ENAMETOOLONG, $"{what} (nested more than {max} levels deep: not entered)", display);

    /// <summary>A whole-tree copy or removal never enters a file system mounted inside the tree (SPEC §6.2).</summary>
    internal static SysException MountedInside(string what, string display) =>
        new(EXDEV, $"{what} (another file system is mounted here: unmount it first)", display);

    /// <summary>The destination folder a top-level copy goes into, and the names below it down to the current entry.</summary>
    private sealed class Top(SafeFd dir, ulong dev, ulong ino)
    {
        public SafeFd Dir { get; } = dir;
        public ulong Dev { get; } = dev;
        public ulong Ino { get; } = ino;
        public List<byte[]> Path { get; } = [];
    }

    /// <summary>
    /// The first copy of a file with several names, by source inode and destination folder: names are linked only to
    /// copies made into the same folder (never, say, a file moved into /data/users/U to its copy in a migration journal,
    /// which must stay the original). A move removes the first name before it copies the next one: the count of names
    /// may have dropped to 1 by then, so the lookup is by inode, and size and time must match too.
    /// </summary>
    private readonly Dictionary<(ulong Dev, ulong Ino, ulong ScopeDev, ulong ScopeIno), (byte[][] Path, ulong Ino, long Size, long Mtime, long MtimeNsec)> _firstCopy = [];

    /// <summary>Copies the entry <paramref name="zname"/> of <paramref name="src"/> into <paramref name="dst"/> under the same name.</summary>
    public void Copy(SafeFd src, byte[] zname, SafeFd dst, string display, CancellationToken ct = default) =>
        Copy(src, zname, dst, zname, display, ct);

    /// <summary>Copies the entry <paramref name="srcName"/> of <paramref name="srcDir"/> (file, link or tree) to <paramref name="dstName"/> in <paramref name="dstDir"/>.</summary>
    public void Copy(SafeFd srcDir, byte[] srcName, SafeFd dstDir, byte[] dstName, string display, CancellationToken ct = default)
    {
        MadeTop = false;
        var scope = Sys.Fstat(dstDir, display);
        CopyAt(srcDir, srcName, dstDir, dstName, display, null, 0, new Top(dstDir, scope.Dev, scope.Ino), ct);
    }

    private void CopyAt(SafeFd srcDir, byte[] srcName, SafeFd dstDir, byte[] dstName, string display, ulong? dev, int depth, Top top, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        if (Sys.LstatAt(srcDir.Fd, srcName, display) is not { } st) return; // removed meanwhile (MadeTop stays false at the top)
        dev ??= st.Dev;
        if (st.IsDir && st.Dev != dev) throw MountedInside("copy", display);
        if (st.IsDir && depth >= Options.MaxDepth) throw TooDeep("copy", display, Options.MaxDepth);
        var existing = Options.MergeExisting ? Sys.LstatAt(dstDir.Fd, dstName, display) : null;
        if (existing is { } ex && !(st.IsDir && ex.IsDir))
        {
            if (ex.Type == st.Type && (!st.IsFile || ex.Size == st.Size)) Existing++;
            else { Conflicts++; Notes.Add($"{display}: differs from what is already there; kept the existing one"); }
            return;
        }
        top.Path.Add(dstName);
        try
        {
            if (st.IsDir) CopyDir(srcDir, srcName, dstDir, dstName, display, st, existing is null, dev.Value, depth, top, ct);
            else if (st.IsLink)
            {
                var target = Sys.ReadLinkAt(srcDir.Fd, srcName, display) ?? throw new SysException(ENOENT, "readlink", display);
                Sys.SymlinkAt(target, dstDir.Fd, dstName, display); // the raw bytes: a non-UTF-8 target stays exact
                if (depth == 0) MadeTop = true;
                Sys.LchownAt(dstDir.Fd, dstName, st.Uid, Options.Gid ?? st.Gid, display);
            }
            else if (!st.IsFile)
            {
                // FIFOs and sockets hold no data (a stale socket of an editor is common in a home): noted, not copied.
                Specials++;
                Notes.Add($"{display}: {SafeOps.TypeName(st)} not copied (holds no data)");
            }
            else if (Options.LeaveOut?.Invoke(st) == true)
            {
                LeftOut++;
                Notes.Add($"{display}: {st.Nlink} hard links, owned by uid {st.Uid}: not copied (a link may reach a file outside the tree)");
            }
            else CopyFile(srcDir, srcName, dstDir, dstName, display, st, depth, top);
        }
        finally { top.Path.RemoveAt(top.Path.Count - 1); }
    }

    private void CopyDir(SafeFd srcDir, byte[] srcName, SafeFd dstDir, byte[] dstName, string display, in FileStat st, bool make, ulong dev, int depth, Top top, CancellationToken ct)
    {
        using var s = Sys.OpenAt(srcDir.Fd, srcName, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0, display);
        if (Sys.Fstat(s, display) is var now && (now.Ino != st.Ino || now.Dev != st.Dev)) throw new SysException(EAGAIN, "copy (changed while we looked)", display);
        if (make)
        {
            Sys.MkdirAt(dstDir.Fd, dstName, O(700), display); // the member's mode only once it is complete
            if (depth == 0) MadeTop = true;
        }
        using var d = Sys.OpenAt(dstDir.Fd, dstName, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0, display);
        foreach (var (name, _, _) in Sys.ReadDir(s, display))
        {
            Options.Step?.Invoke();
            var z = Sys.Z(name);
            CopyAt(s, z, d, z, display + "/" + SafeOps.Escape(name), dev, depth + 1, top, ct);
        }
        if (make) Finish(s, d, st, display);
    }

    private void CopyFile(SafeFd srcDir, byte[] srcName, SafeFd dstDir, byte[] dstName, string display, in FileStat st, int depth, Top top)
    {
        if (Options.KeepHardLinks && LinkToFirstCopy(st, top, dstDir, dstName))
        {
            if (depth == 0) MadeTop = true;
            Files++;
            Linked++;
            return;
        }
        using var s = Sys.OpenAt(srcDir.Fd, srcName, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY, 0, display);
        var now = Sys.Fstat(s, display);
        if (!now.IsFile || now.Ino != st.Ino) throw new SysException(EAGAIN, "copy (changed while we looked)", display);
        using var d = Sys.OpenAt(dstDir.Fd, dstName, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, O(600), display);
        if (depth == 0) MadeTop = true;
        CopyBytes(s, d, display);
        Finish(s, d, st, display);
        if (Options.FsyncFiles) Sys.Fsync(d, display);
        Files++;
        Bytes += st.Size;
        if (Options.KeepHardLinks && st.Nlink > 1)
            _firstCopy.TryAdd((st.Dev, st.Ino, top.Dev, top.Ino), (top.Path.ToArray(), Sys.Fstat(d, display).Ino, st.Size, st.MtimeSec, st.MtimeNsec));
    }

    /// <summary>Owner, mode, attributes, times; chown before chmod (chown clears setuid/setgid) and before the attributes (it clears a capability).</summary>
    private void Finish(SafeFd from, SafeFd to, in FileStat st, string display)
    {
        Sys.Fchown(to, st.Uid, Options.Gid ?? st.Gid, display);
        Sys.Fchmod(to, st.Perm, display);
        if (Options.KeepXattrs) CopyXattrs(from, to, display);
        Sys.Futimens(to, st.AtimeSec, st.MtimeSec, st.MtimeNsec, display);
    }

    /// <summary>
    /// Another name of a file already copied into the same folder becomes a hard link to that copy, found again from the
    /// folder by name without following anything and checked to be the same inode. False when that is not possible: copy it then.
    /// </summary>
    private bool LinkToFirstCopy(in FileStat st, Top top, SafeFd dstDir, byte[] dstName)
    {
        if (!_firstCopy.TryGetValue((st.Dev, st.Ino, top.Dev, top.Ino), out var first)
            || first.Size != st.Size || first.Mtime != st.MtimeSec || first.MtimeNsec != st.MtimeNsec) return false;
        SafeFd? opened = null;
        try
        {
            var dir = top.Dir.Fd;
            foreach (var part in first.Path[..^1])
            {
                var next = Sys.TryOpenAt(dir, part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, out _);
                opened?.Dispose();
                if (next is null) return false;
                opened = next;
                dir = next.Fd;
            }
            return Sys.LstatAt(dir, first.Path[^1], "") is { IsFile: true } now && now.Ino == first.Ino
                && Sys.TryLinkAt(dir, first.Path[^1], dstDir.Fd, dstName) == 0;
        }
        catch (SysException) { return false; }
        finally { opened?.Dispose(); }
    }

    /// <summary>Extended attributes (ACLs, capabilities, user.*); call after chown and chmod (chmod rewrites an ACL's mask).</summary>
    private void CopyXattrs(SafeFd from, SafeFd to, string display)
    {
        foreach (var zname in Sys.ListXattrs(from, display))
        {
            var value = Sys.GetXattr(from, zname, display);
            if (value is null) continue; // removed meanwhile
            if (Sys.TrySetXattr(to, zname, value) is var e && e != 0)
                Notes.Add($"{display}: extended attribute {Encoding.UTF8.GetString(zname, 0, zname.Length - 1)} ({Sys.StrError(e)}) not kept");
        }
    }

    /// <summary>
    /// Copies everything readable from one descriptor to another, keeping holes as holes (SEEK_DATA/SEEK_HOLE): a sparse
    /// disk image or preallocated file copied byte for byte would take its full size on the target and could fill it.
    /// </summary>
    private static void CopyBytes(SafeFd from, SafeFd to, string display)
    {
        var buf = new byte[1 << 16];
        long off = 0;
        while (true)
        {
            var data = Sys.TryLseek(from, off, Sys.SEEK_DATA, out var e);
            if (data < 0)
            {
                if (e == ENXIO) break; // nothing but a hole up to the end
                if (e is EINVAL or EOPNOTSUPP) { CopyRange(from, to, off, long.MaxValue, buf, display); return; } // no hole support: every byte
                throw new SysException(e, "lseek", display);
            }
            var hole = Sys.TryLseek(from, data, Sys.SEEK_HOLE, out e);
            if (hole < 0) throw new SysException(e, "lseek", display);
            if (hole <= data) break;
            var copied = CopyRange(from, to, data, hole - data, buf, display);
            off = data + copied;
            if (copied < hole - data) return; // the file ended early (shrank meanwhile): what was there is copied
        }
        // A hole at the end: the target gets the same length without blocks.
        var size = Sys.Fstat(from, display).Size;
        if (Sys.Fstat(to, display).Size < size) Sys.Ftruncate(to, size, display);
    }

    /// <summary>Copies up to <paramref name="length"/> bytes at <paramref name="offset"/> (same offset in both); returns how many (less at end of file).</summary>
    private static long CopyRange(SafeFd from, SafeFd to, long offset, long length, byte[] buf, string display)
    {
        if (Sys.TryLseek(from, offset, Sys.SEEK_SET, out var e) < 0) throw new SysException(e, "lseek", display);
        if (Sys.TryLseek(to, offset, Sys.SEEK_SET, out e) < 0) throw new SysException(e, "lseek", display);
        long done = 0;
        while (done < length)
        {
            var n = Sys.Read(from, buf.AsSpan(0, (int)Math.Min(buf.Length, length - done)), display);
            if (n == 0) break;
            Sys.WriteAll(to, buf.AsSpan(0, n), display);
            done += n;
        }
        return done;
    }

    /// <summary>Null when the copy holds the same tree as the source (types, bytes, link targets); else the first difference.</summary>
    public static string? Verify(SafeFd src, byte[] zname, SafeFd dst, string display, CancellationToken ct = default) =>
        Verify(src, zname, dst, zname, display, MaxDepth, ct);

    /// <summary>Null when <paramref name="dstName"/> in <paramref name="dstDir"/> holds the same tree as the source; else the first difference.</summary>
    public static string? Verify(SafeFd srcDir, byte[] srcName, SafeFd dstDir, byte[] dstName, string display, int maxDepth, CancellationToken ct) =>
        VerifyAt(srcDir, srcName, dstDir, dstName, display, 0, maxDepth, ct);

    private static string? VerifyAt(SafeFd src, byte[] srcName, SafeFd dst, byte[] dstName, string display, int depth, int maxDepth, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        var a = Sys.LstatAt(src.Fd, srcName, display);
        var b = Sys.LstatAt(dst.Fd, dstName, display);
        if (a is not { } s) return null;
        if (!s.IsDir && !s.IsFile && !s.IsLink) return null; // not copied on purpose
        if (b is not { } d) return $"{display}: missing in the copy";
        if (s.Type != d.Type) return $"{display}: type differs in the copy";
        if (s.IsLink) return Sys.ReadLinkAt(src.Fd, srcName, display).AsSpan().SequenceEqual(Sys.ReadLinkAt(dst.Fd, dstName, display)) ? null : $"{display}: link target differs";
        if (s.IsFile)
        {
            if (s.Size != d.Size) return $"{display}: size differs in the copy ({s.Size} vs {d.Size})";
            using var fa = Sys.OpenAt(src.Fd, srcName, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY, 0, display);
            using var fb = Sys.OpenAt(dst.Fd, dstName, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY, 0, display);
            var ba = new byte[1 << 18];
            var bb = new byte[1 << 18];
            while (true)
            {
                ct.ThrowIfCancellationRequested();
                var na = ReadFull(fa, ba, display);
                var nb = ReadFull(fb, bb, display);
                if (na != nb || !ba.AsSpan(0, na).SequenceEqual(bb.AsSpan(0, nb))) return $"{display}: content differs in the copy";
                if (na == 0) return null;
            }
        }
        if (depth >= maxDepth) return $"{display}: nested more than {maxDepth} levels deep, not verified";
        using var sd = Sys.OpenAt(src.Fd, srcName, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0, display);
        using var dd = Sys.OpenAt(dst.Fd, dstName, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0, display);
        foreach (var (name, _, _) in Sys.ReadDir(sd, display))
        {
            var z = Sys.Z(name);
            if (VerifyAt(sd, z, dd, z, display + "/" + SafeOps.Escape(name), depth + 1, maxDepth, ct) is { } diff) return diff;
        }
        return null;
    }

    private static int ReadFull(SafeFd fd, byte[] buf, string display)
    {
        var n = 0;
        while (n < buf.Length)
        {
            var r = Sys.Read(fd, buf.AsSpan(n), display);
            if (r == 0) break;
            n += r;
        }
        return n;
    }
}
