using System.Text;
using Aica.Config;
using Aica.IO;
using Aica.Native;
using Aica.Services;
using Aica.Site;
using static Aica.Native.Flags;

namespace Aica.Data;

/// <summary>One configured legacy path (<c>data.legacy_mirrors</c>: "LEGACY" mirrors data.datasets, "LEGACY=SOURCE" another /data tree).</summary>
public sealed record MirrorPair(string Legacy, string Source)
{
    public static MirrorPair Parse(string entry, AicaConfig c)
    {
        var eq = entry.IndexOf('=');
        var legacy = eq < 0 ? entry : entry[..eq];
        var source = eq < 0 ? c.Datasets : entry[(eq + 1)..];
        if (!Names.IsCleanAbsolute(legacy) || legacy == "/" || Names.IsCleanDataPath(legacy))
            throw AicaException.Usage($"data.legacy_mirrors: '{Names.Printable(legacy)}' must be a normalised absolute path outside /data");
        if (!Names.IsCleanDataPath(source) || source == "/data")
            throw AicaException.Usage($"data.legacy_mirrors: source '{Names.Printable(source)}' must be a normalised path under /data");
        return new MirrorPair(legacy, source);
    }
}

public enum MirrorState { InStep, Drift, Synced, Linked, AlreadyLinked, Missing, Refused, Failed }

public sealed record MirrorResult(MirrorPair Pair, MirrorState State, string Summary, long Pending, long Extra, string? RunAs = null);

/// <summary>
/// aica data mirror: keeps each legacy path in step with its /data source (rsync as a child, no --delete unless
/// data.mirror_delete), or with <c>--link</c> merges the legacy path's extra content into /data and replaces it
/// with a symlink. rsync never runs as root into a destination members can write: such a destination is written
/// as its (non-root) owner, or refused.
/// </summary>
public sealed class MirrorService(AicaServices s)
{
    private const int Partial = 23, Vanished = 24; // rsync: some files unreadable / vanished; the rest was handled

    /// <summary>The identity rsync's sending side runs as when root writes the mirror (with the shared group).</summary>
    public const int Nobody = 65534;

    /// <summary>The "host" of the source for that sender: the remote shell (setpriv) runs it, and it runs the sender.</summary>
    private const string SenderHost = "env";

    /// <summary>PATH for rsync and what it starts: the standard admin directories, never the caller's.</summary>
    private static readonly Dictionary<string, string?> ChildPath = new() { ["PATH"] = "/usr/sbin:/usr/bin:/sbin:/bin" };

    /// <summary>Suffix of what a sync run as the legacy path's owner replaced or deleted there, kept beside it.</summary>
    public const string KeptSuffix = ".aica-replaced-";

    public const string ContainerNote = "containers that bind-mounted the old path keep seeing the old directory until they are restarted";

    public async Task<IReadOnlyList<MirrorResult>> Run(bool link, bool dryRun, CancellationToken ct = default)
    {
        var config = s.LoadConfig();
        var pairs = config.LegacyMirrors.Select(e => MirrorPair.Parse(e, config)).ToList();
        if (!dryRun) s.RequireRoot("data mirror");
        s.RequireDataMounted();
        if (pairs.Count == 0) return [];
        using var lck = dryRun ? null : s.Lock(ct);
        var results = new List<MirrorResult>();
        foreach (var p in pairs)
        {
            try { results.Add(link ? Link(p, config, dryRun, ct) : await Sync(p, config, dryRun, ct).ConfigureAwait(false)); }
            catch (SysException e) { results.Add(new MirrorResult(p, MirrorState.Failed, e.Message, 0, 0)); }
        }
        foreach (var r in results.Where(r => !dryRun && r.State is MirrorState.Synced or MirrorState.Linked or MirrorState.Failed))
            s.Log("mirror", $"{r.Pair.Legacy} <- {r.Pair.Source}: {r.State}: {r.Summary}");
        return results;
    }

    /// <summary>State of a legacy path without changing it (for data report).</summary>
    public Task<IReadOnlyList<MirrorResult>> Drift(CancellationToken ct = default) => Run(false, true, ct);

    private (MirrorResult? Done, FileStat Stat) Inspect(MirrorPair p)
    {
        var st = s.Fs.Lstat(p.Legacy);
        if (st is null) return (new MirrorResult(p, MirrorState.Missing, $"{p.Legacy} does not exist (nothing uses it: nothing to do)", 0, 0), default);
        if (st.Value.IsLink)
        {
            var target = s.Fs.ReadLink(p.Legacy);
            return target == p.Source
                ? (new MirrorResult(p, MirrorState.AlreadyLinked, $"{p.Legacy} -> {p.Source} (one copy, nothing to keep in step)", 0, 0), default)
                : (new MirrorResult(p, MirrorState.Refused, $"{p.Legacy} is a link to {s.Fs.ShowLink(p.Legacy)}, not to {p.Source}: left alone", 0, 0), default);
        }
        if (!st.Value.IsDir) return (new MirrorResult(p, MirrorState.Refused, $"{p.Legacy} is not a directory: left alone", 0, 0), default);
        // Every component above must be a real directory (a link there would redirect root's writes).
        var parent = p.Legacy[..p.Legacy.LastIndexOf('/')];
        if (parent.Length > 0)
        {
            using var fd = s.Fs.TryOpenDir(parent, out var errno);
            if (fd is null) return (new MirrorResult(p, MirrorState.Refused, $"{parent}: {Sys.StrError(errno)}", 0, 0), default);
        }
        return (null, st.Value);
    }

    private async Task<MirrorResult> Sync(MirrorPair p, AicaConfig config, bool dryRun, CancellationToken ct)
    {
        var (done, st) = Inspect(p);
        if (done is not null) return done;
        var rsync = s.Runner.Which("rsync") ?? throw new AicaException("rsync not found (install the rsync package)");
        var db = s.Accounts.Load();
        var gid = SharedTree.RequireGid(config, db);

        // Who writes: root only into a destination no member can write; else its non-root owner; else refuse.
        var prefix = new List<string>();
        string? runAs = null;
        if (st.Uid != 0)
        {
            var setpriv = s.Runner.Which("setpriv") ?? throw new AicaException("setpriv not found (install util-linux)");
            runAs = db.UserById((int)st.Uid)?.Name ?? $"uid {st.Uid}";
            prefix.AddRange([setpriv, $"--reuid={st.Uid}", $"--regid={st.Gid}", $"--groups={gid}", "--"]);
        }
        else if (s.Fs.WritableAncestor(p.Legacy) is { } above)
        {
            // rsync is given a path: whoever can rename an entry of a directory above could swap the legacy
            // directory for a link between this check and rsync's run, and root would write where it points.
            return new MirrorResult(p, MirrorState.Refused,
                $"{above} is writable by non-root users: the legacy path could be swapped for a link while rsync runs as root; make it root-owned and not group/world-writable (or use --link)", 0, 0);
        }
        else if (MemberWritable(p.Legacy) is { } writable)
        {
            return new MirrorResult(p, MirrorState.Refused,
                $"{writable} is writable by non-root users: rsync as root would follow their links; chown {p.Legacy} to a member (it is then written as that user) or use --link", 0, 0);
        }

        var src = s.Fs.Host(p.Source) + "/";
        var dst = s.Fs.Host(p.Legacy) + "/";
        // As root, only rsync's receiving side is root (it writes the root-only destination). The sending side reads the
        // source, which members can write: it runs as nobody with the shared group alone (what the group may read),
        // reached as rsync's "remote shell", so a folder swapped for a link there can only lead it where the group
        // could read anyway. SenderHost is the "host" word, which that shell runs: env starts the sender.
        string[] sender = [];
        if (runAs is null)
        {
            var setpriv = s.Runner.Which("setpriv") ?? throw new AicaException("setpriv not found (install util-linux)");
            sender = ["--secluded-args", $"--rsync-path={rsync}", "-e", $"{setpriv} --reuid={Nobody} --regid={gid} --clear-groups --"];
            src = $"{SenderHost}:{src}";
        }
        // As root the mirror is written root-owned and not group/world-writable, so it never becomes a tree members
        // can plant links in (the next run would refuse it); as the owner it is written as that user. Set-id bits go:
        // a member's setuid file copied root-owned would be a setuid-root program. No device nodes are made.
        // What an earlier run kept beside a file as its owner (below) is never deleted nor counted as pending.
        string[] opts = ["-a", .. config.MirrorDelete ? new[] { "--delete" } : [], .. runAs is null ? new[] { "--no-owner", "--no-devices", "--chmod=go-w,ug-s" } : [],
            $"--filter=P *{KeptSuffix}*"];
        // Nothing is lost (SPEC §6.6): what rsync replaces or deletes in the legacy path (containers may still write
        // there) is kept. As root, in the backup directory; as the owner (who cannot enter /data/admin), beside the file
        // with a suffix, which rsync also protects from --delete. The count below runs with the same options (a backup
        // without a folder leaves directory times alone: counted otherwise, they would stay pending forever).
        var stamp = s.Clock.Stamp();
        var keptIn = runAs is null ? KeptDir(config, p, stamp) : null;
        string[] keep = keptIn is not null ? ["--backup", $"--backup-dir={s.Fs.Host(keptIn)}"] : ["--backup", $"--suffix={KeptSuffix}{stamp}"];
        long pending, extra;
        using (s.Progress.Phase($"data mirror {p.Legacy}: comparing"))
        {
            pending = await Count(prefix, rsync, [.. opts, .. keep, .. sender, "-n", "--out-format=%n", src, dst], ct).ConfigureAwait(false);
            extra = await Count([], rsync, ["-a", "-n", "--ignore-existing", "--omit-dir-times", $"--exclude=*{KeptSuffix}*", "--out-format=%n", dst, s.Fs.Host(p.Source) + "/"], ct).ConfigureAwait(false);
        }
        if (pending < 0 || extra < 0) return new MirrorResult(p, MirrorState.Failed, "rsync could not compare the trees", 0, 0, runAs);
        var extraNote = extra > 0 ? $"; {extra} entr{(extra == 1 ? "y" : "ies")} only in {p.Legacy} (kept{(config.MirrorDelete ? "" : ", no --delete")}; --link merges them into /data)" : "";
        if (pending == 0) return new MirrorResult(p, MirrorState.InStep, $"{p.Legacy} is in step with {p.Source}{extraNote}", 0, extra, runAs);
        if (dryRun) return new MirrorResult(p, MirrorState.Drift, $"{pending} entr{(pending == 1 ? "y" : "ies")} to copy from {p.Source} to {p.Legacy}{extraNote}", pending, extra, runAs);

        // Each entry rsync copies is a line (--out-format), streamed into the progress line: 200k files are minutes of work.
        string[] syncArgs = [.. opts, .. keep, .. sender, "--out-format=%n", src, dst];
        var program = prefix.Count > 0 ? prefix[0] : rsync;
        var args = prefix.Count > 0 ? prefix.Skip(1).Append(rsync).Concat(syncArgs) : syncArgs;
        ProcessResult r;
        using (s.Progress.Phase($"data mirror {p.Legacy}", pending))
            r = await s.Runner.RunStreamingAsync(program, args, Entry, ct, ChildPath).ConfigureAwait(false);
        // 23/24: some files could not be transferred or vanished; the rest was copied.
        if (!r.Ok)
            return new MirrorResult(p, MirrorState.Failed, r.ExitCode == Partial
                ? $"rsync could not read some files{(runAs is null ? "" : $" as {runAs}")} ({r.Brief}); the rest was copied"
                : $"rsync exited {r.ExitCode}: {r.Brief}", pending, extra, runAs);
        var kept = keptIn is null ? $"; files it replaced{(config.MirrorDelete ? " or deleted" : "")} there are kept beside them as NAME{KeptSuffix}{stamp}"
            : s.Fs.Lstat(keptIn) is not null ? $"; files it replaced{(config.MirrorDelete ? " or deleted" : "")} there are kept in {keptIn}" : "";
        return new MirrorResult(p, MirrorState.Synced, $"{pending} entr{(pending == 1 ? "y" : "ies")} copied to {p.Legacy}{(runAs is null ? "" : $" (as {runAs})")}{kept}{extraNote}", pending, extra, runAs);
    }

    /// <summary>One line of rsync's file list: one entry more, and the name shown.</summary>
    private void Entry(string line)
    {
        s.Progress.Advance();
        s.Progress.Note(line);
    }

    /// <summary>A backup folder no earlier run used: <c>BACKUPS/mirror_TS/LEGACY_PATH_WITH_UNDERSCORES[-N]</c> (rsync creates it when it keeps something).</summary>
    private string KeptDir(AicaConfig config, MirrorPair p, string stamp)
    {
        var dir = $"{config.BackupDir}/mirror_{stamp}/{p.Legacy.Trim('/').Replace('/', '_')}";
        var unique = dir;
        for (var i = 2; s.Fs.Lstat(unique) is not null; i++) unique = $"{dir}-{i}";
        return unique;
    }

    private async Task<long> Count(List<string> prefix, string rsync, string[] args, CancellationToken ct)
    {
        var program = prefix.Count > 0 ? prefix[0] : rsync;
        var all = prefix.Count > 0 ? prefix.Skip(1).Append(rsync).Concat(args) : args;
        var r = await s.Runner.RunStreamingAsync(program, all, Entry, ct, ChildPath).ConfigureAwait(false);
        if (r.ExitCode is not (0 or Partial or Vanished)) return -1;
        return r.StdOut.Split('\n').Count(l => l.Length > 0 && l != "./" && !l.StartsWith("deleting ./"));
    }

    /// <summary>The first directory of the tree (or the tree itself) that a non-root user can write, or null.</summary>
    private string? MemberWritable(string path)
    {
        using var fd = s.Fs.OpenDir(path);
        var v = new WritableFinder();
        new TreeWalker(4).Walk(fd, path, v);
        return v.First;
    }

    private sealed class WritableFinder : IWalkVisitor
    {
        public string? First;
        public bool VisitDirectory(SafeFd dir, in FileStat st, string path, int depth)
        {
            if (!st.OnlyRootWrites) Interlocked.CompareExchange(ref First, path, null);
            return First is null;
        }
        public void VisitEntry(in WalkEntry e) { }
        public void OnError(string path, SysException error) { }
    }

    /// <summary>--link: merge what only the legacy path has into the source, keep the old directory aside, link.</summary>
    private MirrorResult Link(MirrorPair p, AicaConfig config, bool dryRun, CancellationToken ct)
    {
        var (done, _) = Inspect(p);
        if (done is not null) return done;
        var db = s.Accounts.Load();
        var gid = SharedTree.RequireGid(config, db);
        var aside = $"{p.Legacy}.aica-old-{s.Clock.Stamp()}";
        if (dryRun)
            return new MirrorResult(p, MirrorState.Drift, $"would merge {p.Legacy} into {p.Source}, move it to {aside} and link {p.Legacy} -> {p.Source}; {ContainerNote}", 0, 0);

        // A hard link to a file owned by root or a non-member (e.g. one a member linked from elsewhere on the same file
        // system) is not merged: its copy would be group-readable in /data. It stays in the old directory.
        var policy = new PermsService(s).Policy(config, gid, db, false);
        var copy = new TreeCopier(new CopyOptions { MergeExisting = true, Gid = (uint)gid, LeaveOut = st => policy.MustKeep(st), FsyncFiles = true });
        using (var legacy = s.Fs.OpenDir(p.Legacy))
        using (var source = s.Fs.OpenDir(p.Source))
        {
            foreach (var (name, _, _) in Sys.ReadDir(legacy, p.Legacy))
                copy.Copy(legacy, Sys.Z(name), source, $"{p.Legacy}/{SafeOps.Escape(name)}", ct);
        }
        // What was merged follows the shared-tree rules.
        new PermsService(s).Normalise(config, gid, db, p.Source, ct);
        s.Fs.Rename(p.Legacy, aside);
        try { s.Fs.Symlink(p.Legacy, p.Source); }
        catch (SysException)
        {
            s.Fs.Rename(aside, p.Legacy); // put the old directory back rather than leave the path missing
            throw;
        }
        var conflicts = copy.Conflicts > 0 ? $"; {copy.Conflicts} entr{(copy.Conflicts == 1 ? "y differs" : "ies differ")} from /data (the /data version is used; the old one stays in {aside})" : "";
        if (copy.LeftOut > 0)
            conflicts += $"; {copy.LeftOut} hard-linked file(s) owned by root or a non-member not merged (a link may reach a file outside the tree; they stay in {aside})";
        return new MirrorResult(p, MirrorState.Linked,
            $"merged {copy.Files} file(s) ({Human.Bytes(copy.Bytes)}) into {p.Source}, old directory kept at {aside}, {p.Legacy} -> {p.Source}{conflicts}; {ContainerNote}",
            0, copy.Files);
    }
}
