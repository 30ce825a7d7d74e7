using System.Collections.Concurrent;
using Aica.Config;
using Aica.Contracts;
using Aica.IO;
using Aica.Native;
using Aica.Site;

namespace Aica.Caches;

/// <summary>Byte and file counts, added to from many walk threads.</summary>
public sealed class Usage
{
    private long _apparent, _disk, _files;
    public long Apparent => Interlocked.Read(ref _apparent);
    public long Disk => Interlocked.Read(ref _disk);
    public long Files => Interlocked.Read(ref _files);

    public void Add(in FileStat st)
    {
        Interlocked.Add(ref _apparent, st.Size);
        Interlocked.Add(ref _disk, st.DiskBytes);
        if (!st.IsDir) Interlocked.Increment(ref _files);
    }

    public void Add(Usage u) => Add(u.Apparent, u.Disk, u.Files);

    public void Add(long apparent, long disk, long files)
    {
        Interlocked.Add(ref _apparent, apparent);
        Interlocked.Add(ref _disk, disk);
        Interlocked.Add(ref _files, files);
    }
}

/// <summary>
/// Parallel, link-safe usage count over <see cref="TreeWalker"/>: apparent size (st_size) and on-disk size
/// (st_blocks), an inode with several hard links counted once across everything this counter walks, optionally
/// attributed to the file owner. Each walk thread adds to its own tallies, merged when the walk ends.
/// </summary>
public sealed class UsageCounter(int parallelism = 0, IProgressReporter? progress = null)
{
    private readonly ConcurrentDictionary<(ulong, ulong), byte> _seen = new();
    private readonly TreeWalker _walker = new(parallelism > 0 ? parallelism : TreeWalker.Default().Parallelism) { Progress = progress ?? NoProgress.Instance };
    public ConcurrentDictionary<uint, Usage> ByOwner { get; } = new();
    public ConcurrentBag<string> Problems { get; } = [];
    public bool TrackOwners { get; init; }

    /// <summary>Walks the opened directory (counted too) and returns what it held.</summary>
    public Usage Add(SafeFd dir, string path, CancellationToken ct = default)
    {
        using var local = new ThreadLocal<Tally>(() => new Tally(), trackAllValues: true);
        _walker.Walk(dir, path, new Visitor(this, local), ct);
        var total = new Usage();
        foreach (var t in local.Values)
        {
            total.Add(t.Apparent, t.Disk, t.Files);
            foreach (var (uid, o) in t.Owners) ByOwner.GetOrAdd(uid, _ => new Usage()).Add(o[0], o[1], o[2]);
        }
        return total;
    }

    /// <summary>A single entry outside a walk (counted once if hard-linked).</summary>
    public void AddEntry(in FileStat st, Usage into)
    {
        if (!Counts(st)) return;
        into.Add(st);
        if (TrackOwners) ByOwner.GetOrAdd(st.Uid, _ => new Usage()).Add(st);
    }

    private bool Counts(in FileStat st) => st.IsDir || st.Nlink <= 1 || _seen.TryAdd((st.Dev, st.Ino), 0);

    private sealed class Tally
    {
        public long Apparent, Disk, Files;
        public readonly Dictionary<uint, long[]> Owners = [];
    }

    private sealed class Visitor(UsageCounter c, ThreadLocal<Tally> local) : IWalkVisitor
    {
        private void Count(in FileStat st)
        {
            if (!c.Counts(st)) return;
            var t = local.Value!;
            t.Apparent += st.Size;
            t.Disk += st.DiskBytes;
            var file = st.IsDir ? 0 : 1;
            t.Files += file;
            if (!c.TrackOwners) return;
            if (!t.Owners.TryGetValue(st.Uid, out var o)) t.Owners[st.Uid] = o = new long[3];
            o[0] += st.Size; o[1] += st.DiskBytes; o[2] += file;
        }

        public bool VisitDirectory(SafeFd dir, in FileStat stat, string path, int depth) { Count(stat); return true; }
        public void VisitEntry(in WalkEntry entry) => Count(entry.Stat);
        public void OnError(string path, SysException error) => c.Problems.Add(error.Message);
    }
}

public sealed record DuRow(string Label, string Kind, string? Path, long Apparent, long Disk, long Files);

public sealed record DuReport(string? Path, bool ByUser, IReadOnlyList<DuRow> Rows, long Apparent, long Disk, long Files,
    IReadOnlyList<string> Problems, int Omitted);

/// <summary>
/// <c>aica du</c>: without a path, each registered user's data dir, each shared cache and each dataset; with
/// <c>--by-user</c>, bytes by file owner across the shared trees (or the path); biggest first.
/// </summary>
public sealed class DuService(AicaServices s)
{
    public DuReport Run(string? path, bool byUser, int? top, CancellationToken ct)
    {
        if (top is < 1) throw AicaException.Usage($"--top must be at least 1, got {top}");
        var config = s.LoadConfig();
        if (path is not null) path = Normalise(path);
        else s.RequireDataMounted();
        var counter = new UsageCounter(0, s.Progress) { TrackOwners = byUser };
        using var phase = s.Progress.Phase(path is null ? "du /data" : $"du {path}");
        var rows = new List<DuRow>();
        var total = new Usage();

        IEnumerable<(string Label, string Kind, string Path)> roots = path is not null
            ? (byUser ? [(path, "path", path)] : Children(path))
            : byUser ? SharedTrees(config) : DefaultRoots(config);
        var loose = new Usage();
        foreach (var (label, kind, p) in roots)
        {
            ct.ThrowIfCancellationRequested();
            if (kind == "file")
            {
                if (s.Fs.Lstat(p) is { } st) counter.AddEntry(st, loose);
                continue;
            }
            using var fd = s.Fs.TryOpenDir(p, out var errno);
            if (fd is null)
            {
                if (errno != Flags.ENOENT || kind == "path")
                    counter.Problems.Add(errno == Flags.ELOOP ? $"{p} is a symlink: not followed" : new SysException(errno, "open", s.Fs.Host(p)).Message);
                continue;
            }
            var u = counter.Add(fd, p, ct);
            total.Add(u);
            if (!byUser) rows.Add(new DuRow(label, kind, p, u.Apparent, u.Disk, u.Files));
        }
        if (loose.Files > 0)
        {
            total.Add(loose);
            rows.Add(new DuRow($"(files in {path})", "files", path, loose.Apparent, loose.Disk, loose.Files));
        }
        if (byUser)
        {
            var db = s.Accounts.Load();
            rows.AddRange(counter.ByOwner.Select(kv => new DuRow(db.UserById((int)kv.Key)?.Name ?? $"uid {kv.Key}", "owner", null,
                kv.Value.Apparent, kv.Value.Disk, kv.Value.Files)));
        }
        rows = [.. rows.OrderByDescending(r => r.Disk).ThenBy(r => r.Label, StringComparer.Ordinal)];
        // The overview is what aica metrics reports per user and per cache: kept on /data so a scrape never walks.
        if (path is null && !byUser && !ct.IsCancellationRequested && (Sys.Euid == 0 || !s.Fs.IsRealRoot) && s.Fs.Lstat("/data/admin") is { IsDir: true })
        {
            try { DuCache.Write(s, rows, total); }
            catch (Exception e) when (e is SysException or IOException) { counter.Problems.Add($"cannot keep the result in {s.Fs.Host(DuCache.Path)}: {e.Message}"); }
        }
        var omitted = top is { } n && rows.Count > n ? rows.Count - n : 0;
        if (omitted > 0) rows = rows[..top!.Value];
        return new DuReport(path, byUser, rows, total.Apparent, total.Disk, total.Files, [.. counter.Problems.Order()], omitted);
    }

    /// <summary>An absolute, normalised path (relative ones are taken from the current directory on the real root).</summary>
    private string Normalise(string path)
    {
        if (path.Contains('\0')) throw AicaException.Usage("path contains a NUL byte");
        if (!path.StartsWith('/'))
        {
            if (!s.Fs.IsRealRoot) throw AicaException.Usage($"with --root, the path must be absolute: {path}");
            path = System.IO.Path.GetFullPath(path);
        }
        var parts = new List<string>();
        foreach (var p in path.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (p == ".") continue;
            if (p == "..") { if (parts.Count > 0) parts.RemoveAt(parts.Count - 1); continue; }
            parts.Add(p);
        }
        var norm = "/" + string.Join('/', parts);
        var st = s.Fs.Lstat(norm) ?? throw AicaException.Usage($"{path}: no such directory");
        if (st.IsLink) throw AicaException.Usage($"{path} is a symlink: give the directory itself");
        if (!st.IsDir) throw AicaException.Usage($"{path}: not a directory");
        return norm;
    }

    private IEnumerable<(string, string, string)> Children(string path)
    {
        using var fd = s.Fs.TryOpenDir(path, out var errno) ?? throw AicaException.Usage(errno == Flags.ELOOP
            ? $"{path}: a directory on the way is a symlink (not followed)" : new SysException(errno, "open", s.Fs.Host(path)).Message);
        var list = new List<(string, string, string)>();
        var prefix = path == "/" ? "" : path;
        foreach (var (raw, _, _) in Sys.ReadDir(fd, path))
        {
            var name = SafeOps.Escape(raw);
            var st = Sys.LstatAt(fd.Fd, Sys.Z(raw), path + "/" + name);
            if (st is null) continue;
            list.Add((name, st.Value.IsDir && name == System.Text.Encoding.UTF8.GetString(raw) ? "dir" : "file", prefix + "/" + name));
        }
        return list;
    }

    private IEnumerable<(string, string, string)> DefaultRoots(AicaConfig config)
    {
        foreach (var u in s.Registry.Load().Users) yield return (u.Name, "user", $"/data/users/{u.Name}");
        foreach (var (id, p) in config.SharedCaches) yield return (id, "cache", p);
        using var ds = s.Fs.TryOpenDir(config.Datasets, out _);
        if (ds is null) yield break;
        var names = Sys.ReadDir(ds, config.Datasets).Select(e => SafeOps.Escape(e.Name)).Order(StringComparer.Ordinal).ToList();
        foreach (var n in names) yield return (n, "dataset", $"{config.Datasets}/{n}");
    }

    private static IEnumerable<(string, string, string)> SharedTrees(AicaConfig config)
    {
        foreach (var (id, p) in config.SharedCaches) yield return (id, "cache", p);
        yield return ("datasets", "dataset", config.Datasets);
        yield return ("code", "code", config.Code);
    }
}

/// <summary>
/// The last <c>aica du</c> overview (each user's data dir, each shared cache, each dataset), on /data/admin so that
/// <c>aica metrics</c> reports usage without walking /data on each scrape. Written atomically, root-only folder.
/// </summary>
public static class DuCache
{
    public const string Path = "/data/admin/du-last.json";

    public sealed record Snapshot(DateTimeOffset Time, IReadOnlyList<DuRow> Rows);

    public static void Write(AicaServices s, IReadOnlyList<DuRow> rows, Usage total) =>
        s.Fs.WriteAtomic(Path, AicaJson.ToFile(new DuSnapshotDoc(s.Clock.Now.ToString("yyyy-MM-ddTHH:mm:sszzz"), total.Disk,
            [.. rows.Select(r => new DuSnapshotRow(r.Label, r.Kind, r.Apparent, r.Disk, r.Files))]), AicaJsonContext.Default.DuSnapshotDoc), Perms.O(640));

    /// <summary>The last snapshot, or null when there is none or it is not root's alone (never trusted then) or torn.</summary>
    public static Snapshot? Read(AicaServices s)
    {
        try
        {
            // Never through a link, never anything but a regular file (ReadFile refuses both); the owner checked on the descriptor read.
            if (s.Fs.ReadFile(Path, out var st) is not { } bytes || !st.OnlyRootWrites) return null;
            var doc = System.Text.Json.JsonSerializer.Deserialize(bytes, AicaJsonContext.Default.DuSnapshotDoc);
            // A field that is missing (null here) makes the file untrusted, as a torn one is.
            if (doc is not { Time: not null, Rows: not null } || doc.Rows.Any(r => r is not { Name: not null, Kind: not null })) return null;
            var time = DateTimeOffset.Parse(doc.Time, System.Globalization.CultureInfo.InvariantCulture);
            return new Snapshot(time, [.. doc.Rows.Select(r => new DuRow(r.Name, r.Kind, null, r.ApparentBytes, r.DiskBytes, r.Files))]);
        }
        catch (Exception e) when (e is SysException or IOException or System.Text.Json.JsonException or FormatException)
        {
            return null;
        }
    }
}
