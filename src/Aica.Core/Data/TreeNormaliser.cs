using System.Collections.Concurrent;
using Aica.IO;
using Aica.Native;
using static Aica.Native.Flags;

namespace Aica.Data;

/// <summary>
/// What a shared tree should look like (SPEC §3): group <see cref="Gid"/>, directories g+rwxs, files g+rw with
/// execute kept (rwX), exact owner/group/mode for the named top levels, and optionally a fixed owner for the
/// directories directly under a root (dataset roots).
/// </summary>
public sealed record NormalisePolicy(uint Gid, IReadOnlySet<uint> MemberUids)
{
    /// <summary>Exact owner, group and mode of named directories (the top levels of the SPEC §3 table), by path.</summary>
    public IReadOnlyDictionary<string, (uint Uid, uint Gid, uint Mode)> Exact { get; init; } = new Dictionary<string, (uint, uint, uint)>();

    /// <summary>Owner of the directories directly under these paths (data.dataset_owner for dataset roots).</summary>
    public IReadOnlyDictionary<string, uint> ChildDirOwner { get; init; } = new Dictionary<string, uint>();

    /// <summary>Groups whose only member is root (gid 0 on most systems): their group-write opens a directory to no member.</summary>
    public IReadOnlySet<uint> RootOnlyGids { get; init; } = new HashSet<uint>();

    /// <summary>A directory only root can write: root-owned, no other-write, no group-write unless the group is root's alone.</summary>
    public bool OnlyRootWrites(in FileStat dir) =>
        dir.Uid == 0 && (dir.Perm & 0x2) == 0 && ((dir.Perm & 0x10) == 0 || RootOnlyGids.Contains(dir.Gid));

    /// <summary>Keep a listing of every change (or planned change); off for big trees unless -v.</summary>
    public bool RecordChanges { get; init; }

    public static uint DirMode(uint perm) => perm | 0x38 /* g+rwx */ | S_ISGID;

    /// <summary>rwX: g+rw, and g+x only when the owner may execute; a 0644 file never becomes executable.</summary>
    public static uint FileMode(uint perm) => perm | 0x30 /* g+rw */ | ((perm & 0x40) != 0 ? 0x8u : 0u);

    /// <summary>A non-directory with several links owned by root or a non-member may be reachable from outside the tree.</summary>
    public bool MustKeep(in FileStat st) => st.Nlink > 1 && (st.Uid == 0 || !MemberUids.Contains(st.Uid));
}

public enum NormaliseEvent { Changed, Planned, KeptHardLink, KeptSetId, Special, OtherFs, Raced, Error }

/// <summary>Counts and notable entries of one normalisation. Thread-safe: the walk is parallel.</summary>
public sealed class NormaliseResult(string root)
{
    public string Root { get; } = root;
    public long Scanned, Changed, SkippedLinks, Special, Kept, Errors;
    public ConcurrentQueue<(NormaliseEvent Kind, string Path, string Detail)> Events { get; } = new();

    /// <summary>Entries left as they were on purpose (kept hard links, set-id files, FIFOs, sockets, other file systems).</summary>
    public long Skipped => SkippedLinks + Special + Kept;

    internal void Note(NormaliseEvent kind, string path, string detail) => Events.Enqueue((kind, path, detail));
}

/// <summary>
/// The reusable link-safe normaliser (perms, data fix, data mirror --link; cache cleaning and doctor can call it).
/// Walks in parallel with <see cref="TreeWalker"/>; changes only what differs (steady state only reads). A file in a
/// directory a member can write is re-opened O_PATH and checked to be the inode examined before it is changed (a
/// swap in between is refused); in a directory only root can write it is changed by name. A directory is changed
/// after its entries. Per-entry errors are counted and skipped.
/// </summary>
public sealed class TreeNormaliser(NormalisePolicy policy, TreeWalker? walker = null)
{
    private readonly TreeWalker _walker = walker ?? TreeWalker.Default();

    /// <summary>Test seam: called after each directory is visited (lets a test swap a sibling at an exact moment).</summary>
    internal Action<string>? AfterDirectory { get; init; }

    /// <summary>Test seam: called between the look at a file and its change (lets a test swap it at that moment).</summary>
    internal Action<string>? BeforeChange { get; init; }

    /// <summary>Normalises the tree at <paramref name="path"/> (resolved link-safely by <paramref name="fs"/>).</summary>
    public NormaliseResult Run(RootedFs fs, string path, bool dryRun, CancellationToken ct = default)
    {
        var result = new NormaliseResult(path);
        var root = fs.TryOpenDir(path, out var errno);
        if (root is null)
        {
            Interlocked.Increment(ref result.Errors);
            result.Note(NormaliseEvent.Error, path, errno == ENOENT ? "missing (aica recover creates the shared tree)" : Sys.StrError(errno));
            return result;
        }
        using (root) _walker.Walk(root, path, new Visitor(policy, result, dryRun, AfterDirectory, BeforeChange), ct);
        return result;
    }

    private sealed class Visitor(NormalisePolicy p, NormaliseResult r, bool dryRun, Action<string>? after, Action<string>? beforeChange) : IWalkVisitor, IWalkDirectoryDone
    {
        // Directories only root can write (NormalisePolicy.OnlyRootWrites): nobody else can rename,
        // link or unlink their entries, so what lstat saw by name stays true and the entry can be changed by name
        // (two system calls instead of four). Their own change waits until their entries are done (DirectoryDone),
        // so they stay closed to members while that happens.
        private readonly ConcurrentDictionary<string, byte> _closed = new(StringComparer.Ordinal);

        public bool VisitDirectory(SafeFd dir, in FileStat st, string path, int depth)
        {
            Interlocked.Increment(ref r.Scanned);
            if (p.OnlyRootWrites(st)) _closed[path] = 0;
            if (dryRun && Desired(st, path) is { } d && (d.Uid != st.Uid || d.Gid != st.Gid || d.Mode != st.Perm))
            {
                Interlocked.Increment(ref r.Changed);
                if (p.RecordChanges) r.Note(NormaliseEvent.Planned, path, Describe(st, d.Uid, d.Gid, d.Mode));
            }
            after?.Invoke(path);
            return true;
        }

        public void DirectoryDone(SafeFd dir, in FileStat st, string path, int depth)
        {
            _closed.TryRemove(path, out _);
            if (dryRun) return;
            var (uid, gid, mode) = Desired(st, path);
            if (uid == st.Uid && gid == st.Gid && mode == st.Perm) return;
            try
            {
                SafeOps.SetOwnerModeOfDir(dir, path, uid, gid, mode);
                Interlocked.Increment(ref r.Changed);
                if (p.RecordChanges) r.Note(NormaliseEvent.Changed, path, Describe(st, uid, gid, mode));
            }
            catch (SysException e) { OnError(path, e); }
        }

        private (uint Uid, uint Gid, uint Mode) Desired(in FileStat st, string path)
        {
            if (p.Exact.TryGetValue(path, out var exact)) return exact;
            var uid = st.Uid;
            if (p.ChildDirOwner.Count > 0 && path.LastIndexOf('/') is > 0 and var cut && p.ChildDirOwner.TryGetValue(path[..cut], out var owner)) uid = owner;
            return (uid, p.Gid, NormalisePolicy.DirMode(st.Perm));
        }

        public void VisitEntry(in WalkEntry e)
        {
            Interlocked.Increment(ref r.Scanned);
            var st = e.Stat;
            if (st.IsLink) { Interlocked.Increment(ref r.SkippedLinks); return; }
            if (st.IsDir)
            {
                Interlocked.Increment(ref r.Special);
                r.Note(NormaliseEvent.OtherFs, e.Path, "another file system mounted here: not entered");
                return;
            }
            if (!st.IsFile)
            {
                Interlocked.Increment(ref r.Special);
                r.Note(NormaliseEvent.Special, e.Path, $"{SafeOps.TypeName(st)} left as is");
                return;
            }
            var mode = NormalisePolicy.FileMode(st.Perm);
            if (st.Gid == p.Gid && mode == st.Perm) return;
            if ((st.Perm & (S_ISUID | S_ISGID)) != 0)
            {
                Interlocked.Increment(ref r.Kept);
                r.Note(NormaliseEvent.KeptSetId, e.Path, $"set-id file ({Octal(st.Perm)}, uid {st.Uid}) left as is: making it group-writable would hand out its privileges");
                return;
            }
            if (p.MustKeep(st))
            {
                Interlocked.Increment(ref r.Kept);
                r.Note(NormaliseEvent.KeptHardLink, e.Path, $"{st.Nlink} hard links, owned by {(st.Uid == 0 ? "root" : $"non-member uid {st.Uid}")}: kept as is (a link may reach a file outside the tree)");
                return;
            }
            var what = Describe(st, st.Uid, p.Gid, mode);
            if (dryRun)
            {
                Interlocked.Increment(ref r.Changed);
                if (p.RecordChanges) r.Note(NormaliseEvent.Planned, e.Path, what);
                return;
            }
            beforeChange?.Invoke(e.Path);
            var res = _closed.ContainsKey(e.ParentPath) ? ChangeByName(e, st, mode, out var errno)
                : SafeOps.ChangeInode(e.Parent, e.ZName, st, null, p.Gid, mode, out errno);
            switch (res)
            {
                case SafeOps.Result.Changed:
                    Interlocked.Increment(ref r.Changed);
                    if (p.RecordChanges) r.Note(NormaliseEvent.Changed, e.Path, what);
                    break;
                case SafeOps.Result.Raced:
                    Interlocked.Increment(ref r.Errors);
                    r.Note(NormaliseEvent.Raced, e.Path, "replaced while being examined: left as is (run again)");
                    break;
                case SafeOps.Result.Vanished:
                    break;
                default:
                    if (errno != 0) OnError(e.Path, new SysException(errno, "chmod/chown", e.Path));
                    break;
            }
        }

        /// <summary>A regular, non-set-id file in a directory no member can write: by name, without re-opening it.</summary>
        private SafeOps.Result ChangeByName(in WalkEntry e, in FileStat st, uint mode, out int errno)
        {
            errno = 0;
            if (st.Gid != p.Gid && (errno = Sys.TryLchownAt(e.Parent.Fd, e.ZName, st.Uid, p.Gid)) != 0)
                return errno == ENOENT ? SafeOps.Result.Vanished : SafeOps.Result.Unchanged;
            if (mode != st.Perm && (errno = Sys.TryChmodAt(e.Parent.Fd, e.ZName, mode)) != 0)
                return errno == ENOENT ? SafeOps.Result.Vanished : SafeOps.Result.Unchanged;
            return SafeOps.Result.Changed;
        }

        public void OnError(string path, SysException error)
        {
            Interlocked.Increment(ref r.Errors);
            r.Note(NormaliseEvent.Error, path, $"{error.Call}: {Sys.StrError(error.Errno)}");
        }
    }

    public static string Octal(uint perm) => Convert.ToString(perm, 8).PadLeft(4, '0');

    private static string Describe(in FileStat st, uint uid, uint gid, uint mode)
    {
        var parts = new List<string>(3);
        if (uid != st.Uid) parts.Add($"owner {st.Uid}->{uid}");
        if (gid != st.Gid) parts.Add($"group {st.Gid}->{gid}");
        if (mode != st.Perm) parts.Add($"mode {Octal(st.Perm)}->{Octal(mode)}");
        return string.Join(", ", parts);
    }
}
