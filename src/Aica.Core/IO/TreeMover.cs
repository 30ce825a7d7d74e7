using System.Globalization;
using Aica.Native;
using static Aica.Native.Flags;

namespace Aica.IO;

/// <summary>How a move was done.</summary>
public enum MoveMethod { Absent, Rename, Copy }

/// <summary>What a tree takes on disk, about (blocks of its files and folders), and how many entries it has.</summary>
public readonly record struct TreeSize(long Bytes, long Entries);

/// <summary>
/// The one mover (SPEC §6.1, §6.6): a rename on the same file system; across file systems always the verified
/// sequence: measure (depth, mounts inside) and check free space before anything is made, copy, verify byte for byte,
/// sync the target file system, and only then remove the source. On any failure before the removal the source is
/// untouched and the partial copy removed. Also the link-safe whole-tree copy and removal by path, and the checks a
/// command runs before it changes anything (<see cref="Measure"/>, <see cref="RequireRoom"/>).
/// </summary>
public sealed class TreeMover
{
    private readonly RootedFs _fs;
    private readonly TreeCopier _copier;

    public TreeMover(RootedFs fs, CopyOptions? options = null)
    {
        options ??= CopyOptions.Default;
        // A move's copy is verified against its source and then the source is removed: nothing may be left out.
        if (options.MergeExisting || options.LeaveOut is not null) throw new ArgumentException("a move copies everything into a new place", nameof(options));
        _fs = fs;
        _copier = new TreeCopier(options);
    }

    public int MaxDepth => _copier.Options.MaxDepth;

    /// <summary>The call named by the one failure that leaves both: the copy (verified, on disk) and part of the original.</summary>
    public const string SourceNotRemoved = "move (copied and verified, but removing the original failed)";

    /// <summary>What the copies made so far did not carry over (FIFOs, sockets, attributes the target refused): one line each.</summary>
    public CappedList Notes => _copier.Notes;

    /// <summary>
    /// Copies <paramref name="src"/> (file, link or tree) to <paramref name="dst"/>, which must not exist, keeping bytes,
    /// owner, mode, attributes, times and hard links; a failed copy is removed. False when <paramref name="src"/> does not exist.
    /// </summary>
    public bool Copy(string src, string dst, CancellationToken ct = default)
    {
        if (_fs.Lstat(src) is null) return false;
        var (sd, sn) = _fs.OpenParent(src);
        var (dd, dn) = _fs.OpenParent(dst);
        using (sd)
        using (dd)
        {
            try { _copier.Copy(sd, sn, dd, dn, _fs.Host(src), ct); }
            catch (Exception e) when (e is SysException or OperationCanceledException)
            {
                if (_copier.MadeTop) RemovePartial(dd, dn, _fs.Host(dst)); // never what was there before
                throw;
            }
        }
        return true;
    }

    /// <summary>Moves <paramref name="src"/> to <paramref name="dst"/> (nothing replaced); see the class summary.</summary>
    public MoveMethod Move(string src, string dst, CancellationToken ct = default)
    {
        if (_fs.Lstat(src) is null) return MoveMethod.Absent;
        _fs.ForgetDirs(src); // kept descriptors must not name the old place (or shadow what is made there next)
        _fs.ForgetDirs(dst);
        var (sd, sn) = _fs.OpenParent(src);
        var (dd, dn) = _fs.OpenParent(dst);
        using (sd) using (dd) return MoveAt(sd, sn, dd, dn, _fs.Host(src), ct);
    }

    /// <summary>Moves the entry <paramref name="srcName"/> of <paramref name="srcDir"/> to <paramref name="dstName"/> in <paramref name="dstDir"/>.</summary>
    public MoveMethod MoveAt(SafeFd srcDir, byte[] srcName, SafeFd dstDir, byte[] dstName, string display, CancellationToken ct = default)
    {
        if (Sys.LstatAt(srcDir.Fd, srcName, display) is null) return MoveMethod.Absent;
        try
        {
            Sys.RenameAt(srcDir.Fd, srcName, dstDir.Fd, dstName, RENAME_NOREPLACE, display);
            return MoveMethod.Rename;
        }
        catch (SysException e) when (e.Errno == EXDEV) { /* another file system: the verified sequence */ }

        if (Sys.LstatAt(dstDir.Fd, dstName, display) is not null) throw new SysException(EEXIST, "move", display);
        var need = MeasureAt(srcDir, srcName, display, ct);
        RequireRoom(dstDir, need, display);
        try
        {
            _copier.Copy(srcDir, srcName, dstDir, dstName, display, ct);
            if (!_copier.MadeTop && Sys.LstatAt(srcDir.Fd, srcName, display) is null) return MoveMethod.Absent; // gone meanwhile
            if (TreeCopier.Verify(srcDir, srcName, dstDir, dstName, display, MaxDepth, ct) is { } diff)
                throw new SysException(EIO, $"move (the copy does not match: {diff})", display);
            Sys.Syncfs(dstDir, display); // the copy on disk before the original is deleted (a power cut must not lose both)
        }
        catch (Exception e) when (e is SysException or OperationCanceledException)
        {
            if (_copier.MadeTop) RemovePartial(dstDir, dstName, display);
            throw;
        }
        try { RemoveAt(srcDir, srcName, display, MaxDepth); }
        catch (SysException e) { throw new SysException(e.Errno, SourceNotRemoved, e.PathName); }
        return MoveMethod.Copy;
    }

    /// <summary>A failed copy goes; what cannot be removed stays (it is only ever a copy) and the original error is reported.</summary>
    private void RemovePartial(SafeFd dir, byte[] name, string display)
    {
        try { RemoveAt(dir, name, display, MaxDepth); } catch (SysException) { }
    }

    /// <summary>
    /// What a copy of <paramref name="path"/> takes, after the checks the copy itself would fail on, so a command can
    /// refuse before it changes anything: a folder nested deeper than the limit (ENAMETOOLONG), a file system mounted
    /// inside (EXDEV). Absent: nothing.
    /// </summary>
    public TreeSize Measure(string path, CancellationToken ct = default)
    {
        if (_fs.Lstat(path) is null) return default;
        var (dir, name) = _fs.OpenParent(path);
        using (dir) return MeasureAt(dir, name, _fs.Host(path), ct);
    }

    private TreeSize MeasureAt(SafeFd dir, byte[] name, string display, CancellationToken ct)
    {
        if (Sys.LstatAt(dir.Fd, name, display) is not { } st) return default;
        if (!st.IsDir) return new TreeSize(st.DiskBytes, 1); // blocks, not length: holes stay holes in the copy
        using var fd = Sys.OpenAt(dir.Fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0, display);
        if (Sys.Fstat(fd, display).Ino != st.Ino) throw new SysException(EAGAIN, "measure (changed while we looked)", display);
        var m = new Measurer(MaxDepth);
        TreeWalker.Default().Walk(fd, display, m, ct);
        if (m.TooDeep is { } deep) throw TreeCopier.TooDeep("copy", deep, MaxDepth);
        if (m.Mount is { } mount) throw TreeCopier.MountedInside("copy", mount);
        return new TreeSize(m.Bytes, m.Entries);
    }

    /// <summary>
    /// Refuses (ENOSPC) when the file system holding the directory <paramref name="targetDir"/> (or its nearest existing
    /// ancestor) has fewer free bytes than <paramref name="need"/>. Inodes are not counted ahead (file systems report
    /// them differently): running out of them part way fails the copy, which is then removed.
    /// </summary>
    public void RequireRoom(string targetDir, TreeSize need)
    {
        using var fd = _fs.OpenDir(_fs.NearestDir(targetDir));
        RequireRoom(fd, need, _fs.Host(targetDir));
    }

    private static void RequireRoom(SafeFd dir, TreeSize need, string display)
    {
        var free = Sys.Fstatvfs(dir, display);
        var avail = (long)Math.Min(free.Available * free.BlockSize, long.MaxValue);
        if (need.Bytes > avail)
            throw new SysException(ENOSPC, $"move (the target has {MiB(avail)} free, about {MiB(need.Bytes)} needed)", display);
    }

    private static string MiB(long bytes) => (bytes / 1048576.0).ToString("0.0", CultureInfo.InvariantCulture) + " MiB";

    /// <summary>Bytes on disk and entries below a folder, and the first place a copy would refuse; the walk is parallel.</summary>
    private sealed class Measurer(int maxDepth) : IWalkVisitor
    {
        public long Bytes, Entries;
        public string? TooDeep, Mount;

        public bool VisitDirectory(SafeFd dir, in FileStat st, string path, int depth)
        {
            Count(st.DiskBytes);
            if (depth < maxDepth) return true;
            Interlocked.CompareExchange(ref TooDeep, path, null);
            return false;
        }

        public void VisitEntry(in WalkEntry e)
        {
            // The walk reports a folder of another file system as an entry: a copy would refuse to enter it.
            if (e.Stat.IsDir) Interlocked.CompareExchange(ref Mount, e.Path, null);
            Count(e.Stat.DiskBytes);
        }

        public void OnError(string path, SysException error) { }

        private void Count(long bytes)
        {
            Interlocked.Add(ref Bytes, bytes);
            Interlocked.Increment(ref Entries);
        }
    }

    /// <summary>Puts everything pending on the file system holding <paramref name="path"/> on disk (syncfs).</summary>
    public void Flush(string path)
    {
        var (dir, _) = _fs.OpenParent(path);
        using (dir) Sys.Syncfs(dir, _fs.Host(path));
    }

    /// <summary>Removes a file, link or whole directory tree; links are removed, never followed. False when absent.</summary>
    public bool Remove(string path)
    {
        if (_fs.Lstat(path) is null) return false;
        var (dir, name) = _fs.OpenParent(path);
        _fs.ForgetDirs(path); // a kept descriptor must not outlive the directory it names
        using (dir) RemoveAt(dir, name, _fs.Host(path), MaxDepth, _copier.Options.Step);
        return true;
    }

    /// <summary>
    /// Removes the entry <paramref name="name"/> of an opened directory, recursively, following nothing and never
    /// entering another file system (SPEC §6.2): a mount inside the tree stops the removal with EXDEV before anything
    /// in it is touched.
    /// </summary>
    public static void RemoveAt(SafeFd dir, byte[] name, string display, int maxDepth = TreeCopier.MaxDepth, Action? step = null)
    {
        if (Sys.LstatAt(dir.Fd, name, display) is { } st) RemoveAt(dir, name, display, st.Dev, 0, maxDepth, step);
    }

    private static void RemoveAt(SafeFd dir, byte[] name, string display, ulong dev, int depth, int maxDepth, Action? step)
    {
        var st = Sys.LstatAt(dir.Fd, name, display);
        if (st is null) return;
        if (st.Value.IsDir)
        {
            if (st.Value.Dev != dev) throw TreeCopier.MountedInside("remove", display);
            if (depth >= maxDepth) throw TreeCopier.TooDeep("remove", display, maxDepth);
            using (var d = Sys.OpenAt(dir.Fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0, display))
            {
                if (Sys.Fstat(d, display) is var now && (now.Ino != st.Value.Ino || now.Dev != dev))
                    throw new SysException(EAGAIN, "remove (changed while we looked)", display);
                foreach (var (child, _, _) in Sys.ReadDir(d, display))
                {
                    step?.Invoke();
                    RemoveAt(d, Sys.Z(child), display + "/" + SafeOps.Escape(child), dev, depth + 1, maxDepth, step);
                }
            }
            Sys.UnlinkAt(dir.Fd, name, true, display);
            return;
        }
        Sys.UnlinkAt(dir.Fd, name, false, display);
    }
}
