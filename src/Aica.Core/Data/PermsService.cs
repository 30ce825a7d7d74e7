using Aica.Config;
using Aica.Site;

namespace Aica.Data;

public sealed record PermsOptions(IReadOnlyList<string> Paths, bool DryRun, bool RecordChanges = false);

public sealed record PermsReport(bool DryRun, IReadOnlyList<NormaliseResult> Trees)
{
    public long Scanned => Trees.Sum(t => t.Scanned);
    public long Changed => Trees.Sum(t => t.Changed);
    public long SkippedLinks => Trees.Sum(t => t.SkippedLinks);
    public long Special => Trees.Sum(t => t.Special);
    public long Kept => Trees.Sum(t => t.Kept);
    public long Errors => Trees.Sum(t => t.Errors);
    public long Skipped => SkippedLinks + Special + Kept;
    public int ExitCode => Errors > 0 ? ExitCodes.Failed : ExitCodes.Ok;
}

/// <summary>
/// aica perms and aica data fix: validate the paths (exit 2 outside the shared roots), refuse without /data
/// (exit 3), take the lock, then normalise each tree with <see cref="TreeNormaliser"/>.
/// </summary>
public sealed class PermsService(AicaServices s)
{
    /// <summary>Absolute, normalised paths inside the shared roots; the default is every shared root.</summary>
    public static IReadOnlyList<string> ValidatePaths(AicaConfig config, IReadOnlyList<string> paths, bool realRoot)
    {
        if (paths.Count == 0) return SharedTree.Roots(config).Select(r => r.Path).ToList();
        var clean = new List<string>();
        foreach (var raw in paths)
        {
            var p = raw;
            if (p.Length == 0) throw AicaException.Usage("empty path");
            // Relative paths mean the current directory only on the real root (under --root there is no such thing).
            if (!p.StartsWith('/'))
            {
                if (!realRoot) throw AicaException.Usage($"{Names.Printable(p)}: give an absolute path (inside --root)");
                p = Path.GetFullPath(p);
            }
            if (p.Length > 1) p = p.TrimEnd('/');
            if (!Names.IsCleanAbsolute(p)) throw AicaException.Usage($"{Names.Printable(raw)}: not a normalised absolute path");
            if (SharedTree.RootOf(config, p) is null)
                throw AicaException.Usage($"{Names.Printable(p)} is outside the shared roots ({string.Join(", ", SharedTree.Roots(config).Select(r => r.Path))})");
            clean.Add(p);
        }
        // A path inside another given path is walked with it.
        return clean.Distinct().Where(p => !clean.Any(o => o != p && p.StartsWith(o + "/", StringComparison.Ordinal))).ToList();
    }

    public PermsReport Run(PermsOptions o, CancellationToken ct = default) => Normalise(o, null, "perms", ct);

    /// <summary>aica data fix: the datasets tree, with dataset roots owned by data.dataset_owner (default root).</summary>
    public PermsReport FixDatasets(bool dryRun, bool record, CancellationToken ct = default)
    {
        var config = s.LoadConfig();
        return Normalise(new PermsOptions([config.Datasets], dryRun, record), config.DatasetOwner, "data fix", ct);
    }

    private PermsReport Normalise(PermsOptions o, string? childOwner, string what, CancellationToken ct)
    {
        var config = s.LoadConfig();
        var targets = ValidatePaths(config, o.Paths, s.Fs.IsRealRoot);
        if (!o.DryRun) s.RequireRoot(what);
        s.RequireDataMounted();
        var db = s.Accounts.Load();
        var gid = SharedTree.RequireGid(config, db);
        var policy = Policy(config, gid, db, o.RecordChanges);
        if (childOwner is not null)
            policy = policy with { ChildDirOwner = new Dictionary<string, uint> { [config.Datasets] = SharedTree.ResolveOwner(childOwner, db) } };
        using var lck = o.DryRun ? null : s.Lock(ct);
        var trees = targets.Select(t =>
        {
            using var phase = s.Progress.Phase($"{what} {t}");
            return new TreeNormaliser(policy, s.Walker()).Run(s.Fs, t, o.DryRun, ct);
        }).ToList();
        var report = new PermsReport(o.DryRun, trees);
        if (!o.DryRun && (report.Changed > 0 || report.Errors > 0))
            s.Log(what, $"{report.Changed} changed, {report.Scanned} scanned, {report.Skipped} skipped, {report.Errors} errors in {string.Join(" ", targets)}");
        return report;
    }

    /// <summary>Normalises one tree under the lock the caller already holds (data mirror --link after a merge).</summary>
    public NormaliseResult Normalise(AicaConfig config, uint gid, Accounts.AccountDb db, string path, CancellationToken ct) =>
        new TreeNormaliser(Policy(config, gid, db, false)).Run(s.Fs, path, false, ct);

    /// <summary>The SPEC §3 policy for this server: exact top levels (root:G), members from registry and group.</summary>
    /// <param name="registry">The registry when the caller has read it already; null: read here.</param>
    public NormalisePolicy Policy(AicaConfig config, uint gid, Accounts.AccountDb db, bool record, Registry? registry = null) =>
        new(gid, SharedTree.MemberUids(config, registry ?? s.Registry.Load(), db))
        {
            Exact = SharedTree.Roots(config).ToDictionary(r => r.Path, r => (0u, gid, r.Mode)),
            RootOnlyGids = SharedTree.RootOnlyGids(db),
            RecordChanges = record,
        };
}
