using System.Text;
using Aica.Native;
using static Aica.Native.Flags;

namespace Aica.IO;

/// <summary>
/// Whole-tree copy, move and removal that never follow a link (SPEC §6.1): every directory is opened with
/// O_NOFOLLOW relative to its opened parent, links are copied as links, removal is unlinkat relative to the parent.
/// Used for backups (migrate, remove --purge, replaced dotfiles) where members can write the source.
/// </summary>
public sealed class SafeTree(RootedFs fs)
{
    /// <summary>How deep copies and removals go (as the walkers): one more level is two more descriptors and a stack
    /// frame, and a member's chain of a million folders must not crash the admin's command.</summary>
    public const int MaxDepth = 256;

    internal static SysException TooDeep(string what, string display) =>
        new(Flags.ENAMETOOLONG, $"{what} (nested more than {MaxDepth} levels deep: not entered)", display);

    /// <summary>A whole-tree copy or removal never enters a file system mounted inside the tree (SPEC §6.2).</summary>
    internal static SysException MountedInside(string what, string display) =>
        new(EXDEV, $"{what} (another file system is mounted here: unmount it first)", display);

    /// <summary>Entries that are neither file, directory nor link (FIFOs, sockets, devices): not copied, listed here.</summary>
    public List<string> Skipped { get; } = [];

    /// <summary>Extended attributes (ACLs, capabilities, user.*) a copy could not carry over: "path: name (why)".</summary>
    public List<string> NotKept { get; } = [];

    private void CopyXattrs(SafeFd from, SafeFd to, string display)
    {
        foreach (var n in Sys.CopyXattrs(from, to, display)) lock (NotKept) NotKept.Add($"{display}: extended attribute {n} not kept");
    }

    /// <summary>
    /// Copies <paramref name="src"/> (file, link or directory tree) to <paramref name="dst"/>, which must not exist,
    /// keeping bytes, owner, mode, extended attributes (<see cref="NotKept"/> lists those the target could not take) and
    /// modification times. Returns false when <paramref name="src"/> does not exist.
    /// </summary>
    public bool Copy(string src, string dst)
    {
        if (fs.Lstat(src) is null) return false;
        var (sd, sn) = fs.OpenParent(src);
        var (dd, dn) = fs.OpenParent(dst);
        _scope = dst[..dst.LastIndexOf('/')];
        using (sd) using (dd) CopyAt(sd, sn, dd, dn, fs.Host(src), null, dst, 0);
        return true;
    }

    /// <summary>The folder the current copy goes into: names are linked only to copies made into the same folder (never,
    /// say, a file moved into /data/users/U to its copy in a migration journal, which must stay the original).</summary>
    private string _scope = "";

    /// <summary>
    /// Files with several names met so far: their first copy (path, inode), so the next name becomes a link to it. A move
    /// removes the first name before it copies the next one: the count of names may have dropped to 1 by then, so the
    /// lookup is by inode, and size and time must match too (an inode number freed meanwhile could be reused).
    /// </summary>
    private readonly Dictionary<(ulong Dev, ulong Ino, string Scope), (string Path, ulong Ino, long Size, long Mtime, long MtimeNsec)> _firstCopy = [];

    /// <summary>
    /// Another name of a file already copied becomes a hard link to that copy (one file, as in the source: uv's and conda's
    /// linked packages would otherwise take their size once per name). False when that is not possible: copy it then.
    /// </summary>
    private bool LinkToFirstCopy(in FileStat st, SafeFd dstDir, byte[] dstName)
    {
        if (!_firstCopy.TryGetValue((st.Dev, st.Ino, _scope), out var first) || first.Size != st.Size || first.Mtime != st.MtimeSec || first.MtimeNsec != st.MtimeNsec) return false;
        try
        {
            var (dir, name) = fs.OpenParent(first.Path);
            using (dir)
                return Sys.LstatAt(dir.Fd, name, first.Path) is { IsFile: true } now && now.Ino == first.Ino
                    && Sys.TryLinkAt(dir.Fd, name, dstDir.Fd, dstName) == 0;
        }
        catch (SysException) { return false; }
    }

    /// <summary>The rooted path of a child, or null when its name is not UTF-8 (a path string cannot name it).</summary>
    private static string? Child(string? dstPath, byte[] name) =>
        dstPath is not null && SafeOps.IsUtf8(name) ? $"{dstPath}/{Encoding.UTF8.GetString(name)}" : null;

    /// <summary>One entry; <paramref name="dev"/> is the source tree's file system (null at the top): a mount inside
    /// the tree fails the copy rather than pull another file system into a backup that a move then deletes.</summary>
    private void CopyAt(SafeFd srcDir, byte[] srcName, SafeFd dstDir, byte[] dstName, string display, ulong? dev, string? dstPath, int depth)
    {
        var st = Sys.LstatAt(srcDir.Fd, srcName, display) ?? throw new SysException(ENOENT, "stat", display);
        dev ??= st.Dev;
        if (st.IsDir && st.Dev != dev) throw MountedInside("copy", display);
        if (st.IsLink)
        {
            var target = Sys.ReadLinkAt(srcDir.Fd, srcName, display) ?? throw new SysException(ENOENT, "readlink", display);
            Sys.SymlinkAt(target, dstDir.Fd, dstName, display); // the raw bytes: a non-UTF-8 target stays exact
            Sys.LchownAt(dstDir.Fd, dstName, st.Uid, st.Gid, display);
            return;
        }
        if (st.IsDir)
        {
            if (depth >= MaxDepth) throw TooDeep("copy", display);
            using var s = Sys.OpenAt(srcDir.Fd, srcName, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0, display);
            if (Sys.Fstat(s, display).Ino != st.Ino) throw new SysException(EAGAIN, "copy (changed while we looked)", display);
            Sys.MkdirAt(dstDir.Fd, dstName, Perms.O(700), display);
            using var d = Sys.OpenAt(dstDir.Fd, dstName, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0, display);
            foreach (var (name, _, _) in Sys.ReadDir(s, display))
                CopyAt(s, Sys.Z(name), d, Sys.Z(name), display + "/" + SafeOps.Escape(name), dev, Child(dstPath, name), depth + 1);
            Sys.Fchown(d, st.Uid, st.Gid, display);
            Sys.Fchmod(d, st.Perm, display);
            CopyXattrs(s, d, display);
            Sys.Futimens(d, st.AtimeSec, st.MtimeSec, st.MtimeNsec, display);
            return;
        }
        if (!st.IsFile) { lock (Skipped) Skipped.Add(display); return; }
        if (LinkToFirstCopy(st, dstDir, dstName)) return;
        using (var s = Sys.OpenAt(srcDir.Fd, srcName, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY, 0, display))
        {
            var now = Sys.Fstat(s, display);
            if (!now.IsFile || now.Ino != st.Ino) throw new SysException(EAGAIN, "copy (changed while we looked)", display);
            using var d = Sys.OpenAt(dstDir.Fd, dstName, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, Perms.O(600), display);
            Sys.CopyData(s, d, display);
            Sys.Fchown(d, st.Uid, st.Gid, display);
            Sys.Fchmod(d, st.Perm, display);
            CopyXattrs(s, d, display);
            Sys.Futimens(d, st.AtimeSec, st.MtimeSec, st.MtimeNsec, display);
            if (st.Nlink > 1 && dstPath is not null) _firstCopy.TryAdd((st.Dev, st.Ino, _scope), (dstPath, Sys.Fstat(d, display).Ino, st.Size, st.MtimeSec, st.MtimeNsec));
        }
    }

    /// <summary>Removes a file, link or whole directory tree; links are removed, never followed. False when absent.</summary>
    public bool Remove(string path)
    {
        if (fs.Lstat(path) is null) return false;
        var (dir, name) = fs.OpenParent(path);
        fs.ForgetDirs(path); // a kept descriptor must not outlive the directory it names
        using (dir) RemoveAt(dir, name, fs.Host(path));
        return true;
    }

    /// <summary>
    /// Removes the entry <paramref name="name"/> of an opened directory, recursively, following nothing and never
    /// entering another file system (SPEC §6.2): a mount inside the tree stops the removal with EXDEV before anything
    /// in it is touched.
    /// </summary>
    public static void RemoveAt(SafeFd dir, byte[] name, string display)
    {
        if (Sys.LstatAt(dir.Fd, name, display) is { } st) RemoveAt(dir, name, display, st.Dev, 0);
    }

    private static void RemoveAt(SafeFd dir, byte[] name, string display, ulong dev, int depth)
    {
        var st = Sys.LstatAt(dir.Fd, name, display);
        if (st is null) return;
        if (st.Value.IsDir)
        {
            if (st.Value.Dev != dev) throw MountedInside("remove", display);
            if (depth >= MaxDepth) throw TooDeep("remove", display);
            using (var d = Sys.OpenAt(dir.Fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0, display))
            {
                if (Sys.Fstat(d, display) is var now && (now.Ino != st.Value.Ino || now.Dev != dev))
                    throw new SysException(EAGAIN, "remove (changed while we looked)", display);
                foreach (var (child, _, _) in Sys.ReadDir(d, display))
                    RemoveAt(d, Sys.Z(child), display + "/" + SafeOps.Escape(child), dev, depth + 1);
            }
            Sys.UnlinkAt(dir.Fd, name, true, display);
            return;
        }
        Sys.UnlinkAt(dir.Fd, name, false, display);
    }

    /// <summary>Moves by rename (nothing replaced); across file systems, copies then removes the source.</summary>
    public bool Move(string src, string dst)
    {
        if (fs.Lstat(src) is null) return false;
        try { fs.Rename(src, dst); return true; }
        catch (SysException e) when (e.Errno == EXDEV)
        {
            Copy(src, dst);
            Flush(dst);
            Remove(src);
            return true;
        }
    }

    /// <summary>
    /// Puts a copy on disk (syncfs of its file system) before its original goes: after a power cut the original must
    /// not be deleted while its copy was still only in the page cache.
    /// </summary>
    public void Flush(string path)
    {
        var (dir, _) = fs.OpenParent(path);
        using (dir) Sys.Syncfs(dir, fs.Host(path));
    }

    /// <summary>
    /// Entries of a directory whose names are not valid UTF-8, shown escaped (<c>\xe9</c>): <see cref="List"/> cannot
    /// give them back by name, so an entry-by-entry move would miss them. Empty when the directory is missing.
    /// </summary>
    public List<string> NotUtf8(string dir)
    {
        using var fd = fs.TryOpenDir(dir, out _);
        if (fd is null) return [];
        return Sys.ReadDir(fd, fs.Host(dir)).Where(e => !SafeOps.IsUtf8(e.Name))
            .Select(e => SafeOps.Escape(e.Name)).OrderBy(n => n, StringComparer.Ordinal).ToList();
    }

    /// <summary>Names in a directory (empty when it is missing or not a directory).</summary>
    public List<string> List(string dir)
    {
        using var fd = fs.TryOpenDir(dir, out _);
        if (fd is null) return [];
        return Sys.ReadDir(fd, fs.Host(dir)).Select(e => Encoding.UTF8.GetString(e.Name)).OrderBy(n => n, StringComparer.Ordinal).ToList();
    }
}
