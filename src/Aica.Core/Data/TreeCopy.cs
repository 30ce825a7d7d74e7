using Aica.IO;
using Aica.Native;
using static Aica.Native.Flags;
using static Aica.Native.Perms;

namespace Aica.Data;

/// <summary>
/// Link-safe recursive copy and verify between opened directories (SPEC §6.1): every step is relative to a
/// descriptor, nothing is followed, new entries are created O_EXCL. Unlike <see cref="SafeTree"/> (path-based copy
/// for backups) it can merge into an existing tree (skipping what is there), give copies the shared group, and
/// prove a copy byte for byte before the original is deleted (orphans to a backup on another file system, a legacy
/// mirror merged into /data). Removal is <see cref="SafeTree.RemoveAt"/>.
/// <paramref name="leaveOut"/>: files not copied at all (a merge that hands copies the shared group must not copy a
/// hard link to a root-owned file kept elsewhere: the copy would give the group what the original never gave it).
/// </summary>
public sealed class TreeCopy(bool skipExisting = false, uint? gid = null, Func<FileStat, bool>? leaveOut = null)
{
    public long Files, Bytes, Existing, Conflicts, Specials, LeftOut;
    /// <summary>What was not copied or kept, and why: the first 100, then a count (a member can make millions).</summary>
    public CappedList Notes { get; } = new(100);

    /// <summary>Copies the entry <paramref name="zname"/> of <paramref name="src"/> into <paramref name="dst"/> (same name).</summary>
    public void Copy(SafeFd src, byte[] zname, SafeFd dst, string display, CancellationToken ct = default) =>
        Copy(src, zname, dst, display, null, 0, ct);

    /// <summary><paramref name="dev"/>: the source tree's file system (null at the top). A mount inside the tree fails
    /// the copy: its files would be copied, verified, then deleted from a file system the walk must never leave.</summary>
    private void Copy(SafeFd src, byte[] zname, SafeFd dst, string display, ulong? dev, int depth, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        if (Sys.LstatAt(src.Fd, zname, display) is not { } st) return; // removed meanwhile
        dev ??= st.Dev;
        if (st.IsDir && st.Dev != dev) throw SafeTree.MountedInside("copy", display);
        if (st.IsDir && depth >= SafeTree.MaxDepth) throw SafeTree.TooDeep("copy", display);
        var existing = Sys.LstatAt(dst.Fd, zname, display);
        if (existing is { } ex && !(st.IsDir && ex.IsDir))
        {
            if (!skipExisting) throw new SysException(EEXIST, "copy", display);
            if (ex.Type == st.Type && (!st.IsFile || ex.Size == st.Size)) Existing++;
            else { Conflicts++; Notes.Add($"{display}: differs from what is already there; kept the existing one"); }
            return;
        }
        if (st.IsDir)
        {
            if (existing is null) Sys.MkdirAt(dst.Fd, zname, O(700), display);
            using var sd = Sys.OpenAt(src.Fd, zname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0, display);
            if (Sys.Fstat(sd, display).Ino != st.Ino) throw new SysException(EAGAIN, "copy (replaced while copying)", display);
            using var dd = Sys.OpenAt(dst.Fd, zname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0, display);
            foreach (var (name, _, _) in Sys.ReadDir(sd, display))
                Copy(sd, Sys.Z(name), dd, display + "/" + SafeOps.Escape(name), dev, depth + 1, ct);
            if (existing is null)
            {
                Sys.Fchown(dd, st.Uid, gid ?? st.Gid, display);
                Sys.Fchmod(dd, st.Perm, display);
                CopyXattrs(sd, dd, display);
                Sys.Futimens(dd, st.AtimeSec, st.MtimeSec, st.MtimeNsec, display);
            }
        }
        else if (st.IsFile && leaveOut?.Invoke(st) == true)
        {
            LeftOut++;
            Notes.Add($"{display}: {st.Nlink} hard links, owned by uid {st.Uid}: not copied (a link may reach a file outside the tree)");
        }
        else if (st.IsFile)
        {
            using var sf = Sys.OpenAt(src.Fd, zname, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY, 0, display);
            if (Sys.Fstat(sf, display).Ino != st.Ino) throw new SysException(EAGAIN, "copy (replaced while copying)", display);
            using var df = Sys.OpenAt(dst.Fd, zname, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, O(600), display);
            Sys.CopyData(sf, df, display);
            Bytes += st.Size;
            Sys.Fchown(df, st.Uid, gid ?? st.Gid, display);
            Sys.Fchmod(df, st.Perm, display);
            CopyXattrs(sf, df, display);
            Sys.Futimens(df, st.AtimeSec, st.MtimeSec, st.MtimeNsec, display);
            Sys.Fsync(df, display);
            Files++;
        }
        else if (st.IsLink)
        {
            var target = Sys.ReadLinkAt(src.Fd, zname, display) ?? throw new SysException(ENOENT, "readlink", display);
            Sys.SymlinkAt(target, dst.Fd, zname, display);
            Sys.LchownAt(dst.Fd, zname, st.Uid, gid ?? st.Gid, display);
        }
        else
        {
            // FIFOs and sockets hold no data (a stale socket of an editor is common in a home): noted, not copied.
            Specials++;
            Notes.Add($"{display}: {TreeNormaliser.TypeName(st)} not copied (holds no data)");
        }
    }

    /// <summary>Extended attributes (ACLs, capabilities, user.*) go with the copy; those the target cannot take are noted.</summary>
    private void CopyXattrs(SafeFd from, SafeFd to, string display)
    {
        foreach (var n in Sys.CopyXattrs(from, to, display)) Notes.Add($"{display}: extended attribute {n} not kept");
    }

    /// <summary>Null when <paramref name="dst"/> holds the same tree as <paramref name="src"/> (types, bytes, link targets); else the first difference.</summary>
    public static string? Verify(SafeFd src, byte[] zname, SafeFd dst, string display, CancellationToken ct = default) =>
        Verify(src, zname, dst, display, 0, ct);

    private static string? Verify(SafeFd src, byte[] zname, SafeFd dst, string display, int depth, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        var a = Sys.LstatAt(src.Fd, zname, display);
        var b = Sys.LstatAt(dst.Fd, zname, display);
        if (a is not { } s) return null;
        if (!s.IsDir && !s.IsFile && !s.IsLink) return null; // not copied on purpose
        if (b is not { } d) return $"{display}: missing in the copy";
        if (s.Type != d.Type) return $"{display}: type differs in the copy";
        if (s.IsLink) return Sys.ReadLinkAt(src.Fd, zname, display).AsSpan().SequenceEqual(Sys.ReadLinkAt(dst.Fd, zname, display)) ? null : $"{display}: link target differs";
        if (s.IsFile)
        {
            if (s.Size != d.Size) return $"{display}: size differs in the copy ({s.Size} vs {d.Size})";
            using var fa = Sys.OpenAt(src.Fd, zname, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY, 0, display);
            using var fb = Sys.OpenAt(dst.Fd, zname, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY, 0, display);
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
        if (depth >= SafeTree.MaxDepth) return $"{display}: nested more than {SafeTree.MaxDepth} levels deep, not verified";
        using var sd = Sys.OpenAt(src.Fd, zname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0, display);
        using var dd = Sys.OpenAt(dst.Fd, zname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0, display);
        foreach (var (name, _, _) in Sys.ReadDir(sd, display))
            if (Verify(sd, Sys.Z(name), dd, display + "/" + SafeOps.Escape(name), depth + 1, ct) is { } diff) return diff;
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
