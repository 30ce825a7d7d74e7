using Aica.IO;
using Aica.Native;
using static Aica.Native.Flags;

namespace Aica.Caches;

/// <summary>One thing a clean removed (or would remove): a file, a link, or a whole directory counted as one.</summary>
public sealed record Removal(string Path, long Bytes, long Files, string Reason);

/// <summary>
/// What one sweep did: removals, bytes freed (on disk; a hard-linked inode counts only once all its names are gone),
/// busy <c>.nfs*</c> files skipped, links met (reported, never followed), entries left alone on purpose (a FIFO or
/// device in a cache: reported, never opened), problems gone past. Thread-safe.
/// </summary>
public sealed class SweepLog
{
    private readonly object _gate = new();
    private readonly Dictionary<(ulong, ulong), uint> _linksRemoved = [];
    public List<Removal> Removed { get; } = [];
    // A member can plant millions of links or FIFOs in a cache: the first 100 are listed, the rest counted (SPEC §6.10).
    public CappedList Problems { get; } = new(100);
    public CappedList Links { get; } = new(100);
    public CappedList Skipped { get; } = new(100);
    public long Freed { get; private set; }
    public int Busy { get; private set; }

    public void Add(Removal r) { lock (_gate) { Removed.Add(r); } }
    public void Problem(string p) => Problems.Add(p);
    public void Link(string p) => Links.Add(p);
    public void Skip(string p) => Skipped.Add(p);

    /// <summary>
    /// The entries of an opened directory with what lstat says of each, in listing order (or byte order): an entry
    /// removed meanwhile is left out, one that cannot be listed or examined is a problem (and <paramref name="failed"/> is called).
    /// </summary>
    public IEnumerable<(byte[] Z, string Name, string Path, FileStat Stat)> Entries(SafeFd dir, string path, CancellationToken ct,
        bool byteOrder = false, Action? failed = null)
    {
        List<(byte[] Name, byte Type, ulong Ino)> entries;
        try { entries = Sys.ReadDir(dir, path); }
        catch (SysException e) { Problem(e.Message); failed?.Invoke(); yield break; }
        if (byteOrder) entries.Sort((a, b) => ByteOrder.Instance.Compare(a.Name, b.Name));
        foreach (var (raw, _, _) in entries)
        {
            ct.ThrowIfCancellationRequested();
            var z = Sys.Z(raw);
            var name = SafeOps.Escape(raw);
            var child = path + "/" + name;
            FileStat? st;
            try { st = Sys.LstatAt(dir.Fd, z, child); }
            catch (SysException e) { Problem(e.Message); failed?.Invoke(); continue; }
            if (st is { } s) yield return (z, name, child, s);
        }
    }
    public void BusyFile() { lock (_gate) Busy++; }

    /// <summary>Bytes an unlink of this inode frees: all of it when its last name goes, else nothing.</summary>
    public long Unlinked(in FileStat st)
    {
        if (st.IsDir || st.Nlink <= 1) { lock (_gate) Freed += st.DiskBytes; return st.DiskBytes; }
        lock (_gate)
        {
            var key = (st.Dev, st.Ino);
            var n = _linksRemoved.GetValueOrDefault(key) + 1;
            _linksRemoved[key] = n;
            if (n < st.Nlink) return 0;
            Freed += st.DiskBytes;
            return st.DiskBytes;
        }
    }
}

/// <summary>
/// Link-safe removal of cache content (SPEC §6.1): every directory is opened O_NOFOLLOW|O_DIRECTORY relative to its
/// opened parent and must be the inode listed; a link is unlinked as a link, never followed; the sweep never leaves
/// the file system it started on; <c>.nfs*</c> files (NFS "silly renames" of files still open) are skipped and counted.
/// With a cutoff only what is older goes (files by newest of atime/mtime, directories by mtime) and a directory goes
/// when everything in it went; without one everything under the start directory goes (never the start itself).
/// </summary>
public sealed class TreeSweeper
{
    /// <summary>Unix seconds: keep anything used at or after this. Null: remove everything.</summary>
    public long? Cutoff { get; init; }
    public bool DryRun { get; init; }
    /// <summary>Report each link met (in caches that should hold none); HF snapshots are links by design.</summary>
    public bool ReportLinks { get; init; } = true;
    /// <summary>Names that are never removed wherever they are (token files).</summary>
    public Func<string, bool> Keep { get; init; } = _ => false;
    /// <summary>Names kept directly under the start directory of <see cref="SweepContent"/> (a tool's lock file).</summary>
    public IReadOnlySet<string> KeepAtTop { get; init; } = new HashSet<string>();

    /// <summary>Test seams: called with a directory's path just before it is opened, and before it is removed.</summary>
    internal Action<string>? BeforeEnter { get; init; }
    internal Action<string>? BeforeRemoveDir { get; init; }

    /// <summary>Deeper directories are reported and left alone (a member's nesting must not exhaust the stack).</summary>
    public const int MaxDepth = 256;

    public static bool IsNfsBusy(string name) => name.StartsWith(".nfs", StringComparison.Ordinal);

    public static long Newest(in FileStat st) => st.IsDir ? st.MtimeSec : Math.Max(st.AtimeSec, st.MtimeSec);

    /// <summary>Sweeps the content of the opened directory <paramref name="dir"/>; true when nothing is left in it.</summary>
    public bool SweepContent(SafeFd dir, string path, SweepLog log, CancellationToken ct)
    {
        var dev = Sys.Fstat(dir, path).Dev;
        var (gone, items) = Sweep(dir, path, dev, 0, log, ct);
        foreach (var r in items) log.Add(r);
        return gone;
    }

    /// <summary>Removes one entry of an opened directory (a whole subtree when it is a directory); the reason names it.</summary>
    public bool RemoveEntry(SafeFd parent, string parentPath, string name, string reason, SweepLog log, CancellationToken ct)
    {
        var z = Sys.Z(name);
        var path = parentPath + "/" + name;
        FileStat st;
        try
        {
            if (Sys.LstatAt(parent.Fd, z, path) is not { } s) return true;
            st = s;
        }
        catch (SysException e) { log.Problem(e.Message); return false; }
        var dev = Sys.Fstat(parent, parentPath).Dev;
        var (gone, bytes, files, items) = SweepOne(parent, z, name, st, path, dev, 0, log, ct);
        if (gone) log.Add(new Removal(path, bytes, files, reason));
        else foreach (var r in items) log.Add(r);
        return gone;
    }

    private (bool Gone, List<Removal> Items) Sweep(SafeFd dir, string path, ulong dev, int depth, SweepLog log, CancellationToken ct)
    {
        var items = new List<Removal>();
        var allGone = true;
        foreach (var (z, name, childPath, st) in log.Entries(dir, path, ct, failed: () => allGone = false))
        {
            var (gone, bytes, files, sub) = SweepOne(dir, z, name, st, childPath, dev, depth + 1, log, ct);
            if (gone) items.Add(new Removal(childPath, bytes, files, st.IsDir ? "directory" : st.IsLink ? "link" : "file"));
            else { items.AddRange(sub); allGone = false; }
        }
        return (allGone, items);
    }

    /// <summary>One entry: a directory is swept and then removed when empty; anything else is unlinked.</summary>
    private (bool Gone, long Bytes, long Files, List<Removal> Items) SweepOne(SafeFd dir, byte[] z, string name, in FileStat st,
        string path, ulong dev, int depth, SweepLog log, CancellationToken ct)
    {
        if (IsNfsBusy(name)) { log.BusyFile(); return (false, 0, 0, []); }
        if (Keep(name) || (depth == 1 && KeepAtTop.Contains(name))) return (false, 0, 0, []);
        if (st.IsDir)
        {
            if (st.Dev != dev) { log.Problem($"{path}: another file system mounted here, not entered"); return (false, 0, 0, []); }
            if (depth >= MaxDepth) { log.Problem($"{path}: nested more than {MaxDepth} levels deep, not entered"); return (false, 0, 0, []); }
            BeforeEnter?.Invoke(path);
            var fd = Sys.TryOpenAt(dir.Fd, z, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, out var errno);
            if (fd is null)
            {
                if (errno == ENOENT) return (true, 0, 0, []);
                log.Problem(new SysException(errno, "open", path).Message + " (changed while cleaning? not entered)");
                return (false, 0, 0, []);
            }
            List<Removal> sub;
            bool allGone;
            using (fd)
            {
                var now = Sys.Fstat(fd, path);
                if (now.Ino != st.Ino || now.Dev != st.Dev) { log.Problem($"{path}: replaced while cleaning, not entered"); return (false, 0, 0, []); }
                (allGone, sub) = Sweep(fd, path, dev, depth, log, ct);
            }
            if (!allGone || (Cutoff is { } c && Newest(st) >= c)) return (false, 0, 0, sub);
            if (!DryRun)
            {
                BeforeRemoveDir?.Invoke(path);
                var e = Sys.TryUnlinkAt(dir.Fd, z, true);
                if (e != 0 && e != ENOENT)
                {
                    log.Problem(new SysException(e, "rmdir", path).Message);
                    return (false, 0, 0, sub);
                }
            }
            var freed = log.Unlinked(st);
            return (true, sub.Sum(r => r.Bytes) + freed, sub.Sum(r => r.Files), []);
        }
        if (Cutoff is { } cut && Newest(st) >= cut) return (false, 0, 0, []);
        if (st.IsLink && ReportLinks)
        {
            var target = Sys.ReadLinkAt(dir.Fd, z, path) is { } t ? SafeOps.Escape(t) : "?";
            log.Link($"{path} is a symlink to {target}: {(DryRun ? "would be removed" : "removed")} as a link, not followed");
        }
        if (!DryRun)
        {
            var e = Sys.TryUnlinkAt(dir.Fd, z, false);
            if (e != 0 && e != ENOENT) { log.Problem(new SysException(e, "unlink", path).Message); return (false, 0, 0, []); }
        }
        return (true, log.Unlinked(st), 1, []);
    }
}
