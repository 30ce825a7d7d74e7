using System.Text;
using System.Text.RegularExpressions;
using Aica.IO;
using Aica.Native;
using static Aica.Native.Flags;

namespace Aica.Caches;

/// <summary>A file in a repo's <c>blobs/</c> (content-addressed: its name is its hash).</summary>
public sealed record HfBlob(string Name, long Size, long DiskBytes, long Atime, long Mtime, uint Nlink);

/// <summary>
/// One entry of a snapshot: a link whose text resolves lexically to <c>&lt;repo&gt;/blobs/&lt;Blob&gt;</c>, a plain file
/// (caches made without symlinks), or something else, which is a <see cref="Problem"/> and never resolved.
/// </summary>
public sealed record HfSnapshotFile(string Path, string? Blob, string? Problem, long DiskBytes);

/// <summary>A revision: <c>snapshots/&lt;commit&gt;/</c> and the refs that point at it (none: detached).</summary>
public sealed record HfRevision(string Commit, IReadOnlyList<string> Refs, IReadOnlyList<HfSnapshotFile> Files, long Mtime)
{
    public bool Detached => Refs.Count == 0;
    public IEnumerable<string> BlobNames => Files.Where(f => f.Blob is not null).Select(f => f.Blob!);
    public bool HasUnresolvable => Files.Any(f => f.Problem is not null && f.Blob is null);
}

/// <summary>A repo folder (<c>models--org--name</c>, <c>datasets--…</c>, <c>spaces--…</c>) as <c>hf cache scan</c> sees it.</summary>
public sealed record HfRepo(string Folder, string Type, string Id, IReadOnlyDictionary<string, string> Refs,
    IReadOnlyList<HfRevision> Revisions, IReadOnlyDictionary<string, HfBlob> Blobs, IReadOnlyList<HfBlob> Incomplete,
    IReadOnlyList<string> Problems, bool CorruptRef, long OtherMtime)
{
    /// <summary>Size on disk: each blob once, plus plain snapshot files and leftovers.</summary>
    public long SizeOnDisk => Blobs.Values.Sum(b => b.DiskBytes) + Incomplete.Sum(b => b.DiskBytes)
        + Revisions.Sum(r => r.Files.Where(f => f.Blob is null).Sum(f => f.DiskBytes));

    public long LastAccess => Math.Max(OtherMtime, Blobs.Values.Select(b => Math.Max(b.Atime, b.Mtime))
        .Concat(Incomplete.Select(b => b.Mtime)).Concat(Revisions.Select(r => r.Mtime)).DefaultIfEmpty(0).Max());

    public long LastModified => Math.Max(OtherMtime, Blobs.Values.Select(b => b.Mtime).Concat(Revisions.Select(r => r.Mtime)).DefaultIfEmpty(0).Max());
}

/// <summary>What a clean would do to one repo, decided from the model alone (no file system).</summary>
public sealed record HfRepoPlan(HfRepo Repo, bool RemoveRepo, IReadOnlyList<HfRevision> RemoveRevisions, IReadOnlyList<HfBlob> RemoveBlobs,
    IReadOnlyList<HfBlob> RemoveIncomplete, IReadOnlyList<string> Notes)
{
    public long Bytes => RemoveRepo ? Repo.SizeOnDisk
        : RemoveBlobs.Sum(b => b.Nlink <= 1 ? b.DiskBytes : 0) + RemoveIncomplete.Sum(b => b.DiskBytes)
          + RemoveRevisions.Sum(r => r.Files.Where(f => f.Blob is null).Sum(f => f.DiskBytes));
    public bool Empty => !RemoveRepo && RemoveRevisions.Count == 0 && RemoveBlobs.Count == 0 && RemoveIncomplete.Count == 0;
}

/// <summary>
/// The HuggingFace hub cache layout: repos, revisions, refs, blobs (counted once), last access and modification,
/// and the clean plan (detached revisions, unreferenced blobs, <c>*.incomplete</c> leftovers, whole repos unused
/// for a given time). Snapshot links are resolved lexically only: anything that does not name
/// <c>&lt;repo&gt;/blobs/&lt;name&gt;</c> is a problem that is reported and never deleted through.
/// </summary>
public static partial class HfCache
{
    [GeneratedRegex(@"^[0-9a-f]{40}\z")]
    private static partial Regex CommitRx();

    /// <summary>
    /// Anything younger than this may belong to a download in progress (here or on another node, whose locks this host
    /// cannot see, or between two files of a <c>snapshot_download</c>, when no lock is held): an <c>.incomplete</c>, a
    /// detached revision (a download pinned to a commit writes no ref) and a blob no snapshot links to yet. Kept.
    /// </summary>
    public const long IncompleteGraceSeconds = 3600;

    public static readonly string[] TokenFiles = ["token", "stored_tokens"];

    public static (string Type, string Id)? ParseFolder(string folder)
    {
        foreach (var (prefix, type) in new[] { ("models--", "model"), ("datasets--", "dataset"), ("spaces--", "space") })
            if (folder.StartsWith(prefix, StringComparison.Ordinal) && folder.Length > prefix.Length)
                return (type, folder[prefix.Length..].Replace("--", "/"));
        return null;
    }

    /// <summary>
    /// Lexical resolution: <paramref name="linkText"/> of a link at <paramref name="linkDir"/> (absolute components)
    /// resolved without looking at the file system; the blob name when it lands on <paramref name="repoPath"/>/blobs/NAME.
    /// </summary>
    public static string? ResolveToBlob(string repoPath, IReadOnlyList<string> linkDir, string linkText)
    {
        if (linkText.Length == 0 || linkText.Contains('\0')) return null;
        var stack = linkText.StartsWith('/') ? new List<string>() : new List<string>(linkDir);
        foreach (var part in linkText.Split('/'))
        {
            if (part.Length == 0 || part == ".") continue;
            if (part == "..") { if (stack.Count > 0) stack.RemoveAt(stack.Count - 1); continue; }
            stack.Add(part);
        }
        var repo = repoPath.Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (stack.Count != repo.Length + 2 || stack[^2] != "blobs") return null;
        for (var i = 0; i < repo.Length; i++) if (stack[i] != repo[i]) return null;
        return stack[^1];
    }

    /// <summary>Reads one repo folder through descriptors only (never a link followed).</summary>
    public static HfRepo ScanRepo(SafeFd repoFd, string repoPath, string folder)
    {
        var (type, id) = ParseFolder(folder) ?? ("unknown", folder);
        var problems = new List<string>();
        var blobs = new Dictionary<string, HfBlob>(StringComparer.Ordinal);
        var incomplete = new List<HfBlob>();
        var refs = new SortedDictionary<string, string>(StringComparer.Ordinal);
        var revisions = new List<HfRevision>();
        var corrupt = false;
        long otherMtime = 0;
        var repoDev = Sys.Fstat(repoFd, repoPath).Dev;

        using (var b = OpenSub(repoFd, repoPath, "blobs", problems))
        {
            if (b is not null)
            {
                foreach (var (name, st) in List(b, repoPath + "/blobs", problems))
                {
                    if (!st.IsFile) { problems.Add($"{repoPath}/blobs/{name} is not a regular file: left alone"); continue; }
                    var blob = new HfBlob(name, st.Size, st.DiskBytes, st.AtimeSec, st.MtimeSec, st.Nlink);
                    if (name.EndsWith(".incomplete", StringComparison.Ordinal)) incomplete.Add(blob);
                    else blobs[name] = blob;
                }
            }
        }

        using (var r = OpenSub(repoFd, repoPath, "refs", problems))
            if (r is not null) ReadRefs(r, repoPath + "/refs", "", refs, problems, ref corrupt, ref otherMtime, repoDev);

        var repoParts = repoPath.Split('/', StringSplitOptions.RemoveEmptyEntries);
        using (var s = OpenSub(repoFd, repoPath, "snapshots", problems))
        {
            if (s is not null)
            {
                foreach (var (commit, st) in List(s, repoPath + "/snapshots", problems))
                {
                    var revPath = $"{repoPath}/snapshots/{commit}";
                    if (!st.IsDir) { problems.Add($"{revPath} is not a directory: left alone"); continue; }
                    var files = new List<HfSnapshotFile>();
                    long mtime = st.MtimeSec;
                    using var fd = Sys.TryOpenAt(s.Fd, Sys.Z(commit), O_RDONLY | O_DIRECTORY | O_NOFOLLOW, out var errno);
                    if (fd is null) { problems.Add(new SysException(errno, "open", revPath).Message); continue; }
                    ReadSnapshot(fd, revPath, [.. repoParts, "snapshots", commit], "", repoPath, blobs, files, problems, ref mtime, repoDev);
                    var pointing = refs.Where(kv => kv.Value == commit).Select(kv => kv.Key).ToList();
                    revisions.Add(new HfRevision(commit, pointing, files, mtime));
                }
            }
        }
        foreach (var (name, commit) in refs)
            if (!revisions.Any(v => v.Commit == commit)) problems.Add($"{repoPath}/refs/{name} points at {commit}, which has no snapshot");
        return new HfRepo(folder, type, id, refs, revisions, blobs, incomplete, problems, corrupt, otherMtime);
    }

    private static SafeFd? OpenSub(SafeFd dir, string path, string name, List<string> problems)
    {
        var fd = Sys.TryOpenAt(dir.Fd, Sys.Z(name), O_RDONLY | O_DIRECTORY | O_NOFOLLOW, out var errno);
        if (fd is null && errno != ENOENT)
            problems.Add(errno is ELOOP or ENOTDIR ? $"{path}/{name} is not a directory (a link?): not followed" : new SysException(errno, "open", $"{path}/{name}").Message);
        return fd;
    }

    private static IEnumerable<(string Name, FileStat Stat)> List(SafeFd dir, string path, List<string> problems)
    {
        List<(byte[] Name, byte Type, ulong Ino)> entries;
        try { entries = Sys.ReadDir(dir, path); }
        catch (SysException e) { problems.Add(e.Message); yield break; }
        foreach (var (raw, _, _) in entries.OrderBy(e => e.Name, ByteOrder.Instance))
        {
            var name = SafeOps.Escape(raw);
            FileStat? st;
            try { st = Sys.LstatAt(dir.Fd, Sys.Z(raw), path + "/" + name); }
            catch (SysException e) { problems.Add(e.Message); continue; }
            if (st is { } s) yield return (name, s);
        }
    }

    private static void ReadRefs(SafeFd dir, string path, string prefix, IDictionary<string, string> refs, List<string> problems,
        ref bool corrupt, ref long mtime, ulong dev)
    {
        foreach (var (name, st) in List(dir, path, problems))
        {
            var refName = prefix + name;
            mtime = Math.Max(mtime, st.MtimeSec);
            if (st.IsDir && st.Dev == dev && prefix.Length < 1024)
            {
                using var sub = Sys.TryOpenAt(dir.Fd, Sys.Z(name), O_RDONLY | O_DIRECTORY | O_NOFOLLOW, out _);
                if (sub is not null) ReadRefs(sub, path + "/" + name, refName + "/", refs, problems, ref corrupt, ref mtime, dev);
                continue;
            }
            string? text = null;
            if (st.IsFile && st.Size <= 256)
            {
                using var fd = Sys.TryOpenAt(dir.Fd, Sys.Z(name), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY, out _);
                if (fd is not null)
                {
                    try { text = Encoding.UTF8.GetString(Sys.ReadAll(fd, path + "/" + name, 256)).Trim(); }
                    catch (SysException) { }
                }
            }
            if (text is not null && CommitRx().IsMatch(text)) { refs[refName] = text; continue; }
            corrupt = true;
            problems.Add($"{path}/{name}: corrupt ref ({(st.IsFile ? "not a commit hash" : "not a regular file")}): detached revisions of this repo are kept");
        }
    }

    private const byte DT_DIR = 4, DT_LNK = 10;

    /// <summary>
    /// Snapshot entries: links are read without a stat (d_type says what they are; most of a hub cache is links),
    /// anything whose type the directory does not tell is lstat-ed.
    /// </summary>
    private static void ReadSnapshot(SafeFd dir, string path, List<string> dirParts, string rel, string repoPath,
        Dictionary<string, HfBlob> blobs, List<HfSnapshotFile> files, List<string> problems, ref long mtime, ulong dev)
    {
        List<(byte[] Name, byte Type, ulong Ino)> entries;
        try { entries = Sys.ReadDir(dir, path); }
        catch (SysException e) { problems.Add(e.Message); return; }
        foreach (var (raw, type, _) in entries)
        {
            var name = SafeOps.Escape(raw);
            var relName = rel + name;
            var z = Sys.Z(raw);
            var isLink = type == DT_LNK;
            var isDir = type == DT_DIR;
            long disk = 0;
            if (!isLink && !isDir)
            {
                FileStat? st;
                try { st = Sys.LstatAt(dir.Fd, z, path + "/" + name); }
                catch (SysException e) { problems.Add(e.Message); continue; }
                if (st is not { } s) continue;
                isLink = s.IsLink;
                isDir = s.IsDir;
                disk = s.DiskBytes;
            }
            if (isDir)
            {
                var full = path + "/" + name;
                if (dirParts.Count > TreeSweeper.MaxDepth) { files.Add(new HfSnapshotFile(relName, null, $"{full}: nested too deep, not read", 0)); problems.Add($"{full}: nested too deep, not read"); continue; }
                using var sub = Sys.TryOpenAt(dir.Fd, z, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, out var errno);
                if (sub is null) { if (errno != ENOENT) problems.Add(new SysException(errno, "open", full).Message); continue; }
                var st = Sys.Fstat(sub, full);
                if (st.Dev != dev) { files.Add(new HfSnapshotFile(relName, null, $"{full}: another file system mounted here", 0)); continue; }
                mtime = Math.Max(mtime, st.MtimeSec);
                ReadSnapshot(sub, full, [.. dirParts, name], relName + "/", repoPath, blobs, files, problems, ref mtime, dev);
                continue;
            }
            if (!isLink)
            {
                files.Add(new HfSnapshotFile(relName, null, null, disk));
                continue;
            }
            byte[]? target;
            try { target = Sys.ReadLinkAt(dir.Fd, z, path + "/" + name); }
            catch (SysException e) { problems.Add(e.Message); continue; }
            if (target is null) continue; // gone meanwhile
            var blob = ResolveToBlob(repoPath, dirParts, Encoding.UTF8.GetString(target));
            if (blob is null)
            {
                var p = $"{path}/{name} -> {SafeOps.Escape(target)}: does not point into {repoPath}/blobs (never followed, never deleted through)";
                problems.Add(p);
                files.Add(new HfSnapshotFile(relName, null, p, 0));
            }
            else if (!blobs.ContainsKey(blob))
            {
                var p = $"{path}/{name} -> {SafeOps.Escape(target)}: missing blob";
                problems.Add(p);
                files.Add(new HfSnapshotFile(relName, blob, p, 0));
            }
            else files.Add(new HfSnapshotFile(relName, blob, null, 0));
        }
    }

    /// <summary>
    /// The clean plan of one repo. <paramref name="cutoff"/>: with <c>--older-than</c>, a repo whose last access is
    /// before it goes whole. Detached revisions, unreferenced blobs and leftovers younger than
    /// <see cref="IncompleteGraceSeconds"/> are kept (a download may be writing them). A corrupt ref keeps every revision (which one it meant is unknown); a kept revision with
    /// entries that do not resolve into blobs/ keeps every blob (they might be reached some other way).
    /// </summary>
    public static HfRepoPlan Plan(HfRepo repo, long now, long? cutoff)
    {
        var notes = new List<string>();
        if (cutoff is { } c && repo.LastAccess < c)
            return new HfRepoPlan(repo, true, [], [], [], [$"unused since {DateTimeOffset.FromUnixTimeSeconds(repo.LastAccess):yyyy-MM-dd}"]);
        var settled = now - IncompleteGraceSeconds;
        var removeRevs = new List<HfRevision>();
        if (repo.CorruptRef) { if (repo.Revisions.Any(r => r.Detached)) notes.Add("a ref is corrupt: no revision removed"); }
        else removeRevs.AddRange(repo.Revisions.Where(r => r.Detached && r.Mtime < settled));
        var kept = repo.Revisions.Where(r => !removeRevs.Contains(r)).ToList();
        var removeBlobs = new List<HfBlob>();
        if (kept.Any(r => r.HasUnresolvable)) notes.Add("a kept revision has entries that do not resolve into blobs/: no blob removed");
        else
        {
            var referenced = new HashSet<string>(kept.SelectMany(r => r.BlobNames), StringComparer.Ordinal);
            removeBlobs.AddRange(repo.Blobs.Values.Where(b => !referenced.Contains(b.Name) && b.Mtime < settled).OrderBy(b => b.Name, StringComparer.Ordinal));
        }
        var removeInc = repo.Incomplete.Where(b => b.Mtime < settled).ToList();
        return new HfRepoPlan(repo, false, removeRevs, removeBlobs, removeInc, notes);
    }
}
