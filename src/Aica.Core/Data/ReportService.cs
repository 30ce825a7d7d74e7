using System.Text;
using Aica.Contracts;
using Aica.Config;
using Aica.Engine;
using Aica.IO;
using Aica.Native;
using Aica.Services;
using Aica.Site;
using static Aica.Native.Perms;

namespace Aica.Data;

public sealed record DataReport(string TextPath, string JsonPath, IReadOnlyList<DatasetInfo> Datasets, PermsReport Fixes,
    OrphanReport Orphans, IReadOnlyList<MirrorResult> Mirrors, IReadOnlyList<AccessResult> Access)
{
    /// <summary>Problems found (the report itself was written): fixes needed, orphans, drift, refused access.</summary>
    public int Problems => (Fixes.Changed > 0 ? 1 : 0) + Orphans.Orphans.Count + Mirrors.Count(m => m.State is MirrorState.Drift or MirrorState.Refused or MirrorState.Failed) + Access.Count(a => !a.Ok);
}

/// <summary>
/// aica data report: datasets, fixes needed, orphans, mirror drift and access results in one report,
/// <c>/data/admin/reports/data_sync_report_&lt;ts&gt;.txt</c> plus <c>.json</c>. Changes nothing else.
/// </summary>
public sealed class ReportService(AicaServices s)
{
    public const string Prefix = "data_sync_report_";

    public async Task<DataReport> Run(bool verify = true, CancellationToken ct = default)
    {
        var config = s.LoadConfig();
        s.RequireRoot("data report");
        s.RequireDataMounted();
        var stamp = s.Clock.Stamp();
        var datasets = new DatasetService(s).List(ct);
        var fixes = new PermsService(s).FixDatasets(dryRun: true, record: false, ct);
        var orphans = new OrphanReport(new OrphanService(s).Find(ct), null, [], true);
        var mirrors = await new MirrorService(s).Drift(ct).ConfigureAwait(false);
        IReadOnlyList<AccessResult> access = verify ? await new VerifyService(s).Run(null, ct).ConfigureAwait(false) : [];

        var dir = config.ReportsDir;
        if (s.Fs.Lstat(dir) is null) { s.Fs.EnsureParents(dir); s.Fs.EnsureDir(dir, O(750), 0, 0); }
        var json = $"{dir}/{Prefix}{stamp}.json";
        var text = $"{dir}/{Prefix}{stamp}.txt";
        var r = new DataReport(text, json, datasets, fixes, orphans, mirrors, access);
        s.Fs.WriteAtomic(json, Json(r), O(640));
        s.Fs.WriteAtomic(text, Encoding.UTF8.GetBytes(Text(r)), O(640));
        s.Log("data report", $"{text}: {datasets.Count} datasets, {fixes.Changed} fixes needed, {orphans.Orphans.Count} orphans, {access.Count(a => !a.Ok)} access failures");
        return r;
    }

    private byte[] Json(DataReport r) => AicaJson.ToFile(new DataReportFileDoc(s.Clock.Now.ToString("yyyy-MM-ddTHH:mm:ss"), Sys.HostName(),
        DataJson.Datasets(r.Datasets), DataJson.Perms("data fix", r.Fixes), DataJson.Orphans(r.Orphans), DataJson.Mirrors(r.Mirrors, true),
        DataJson.Access(r.Access), r.Problems), AicaJsonContext.Default.DataReportFileDoc);

    private string Text(DataReport r)
    {
        var sb = new StringBuilder();
        sb.AppendLine($"aica data report  {s.Clock.LogTime()}  {Sys.HostName()}");
        sb.AppendLine();
        sb.AppendLine($"Datasets ({r.Datasets.Count})");
        foreach (var d in r.Datasets)
            sb.AppendLine($"  {d.Name}  {d.SizeHuman}  {d.Files} files  {d.Owner}:{d.Group} {TreeNormaliser.Octal(d.Mode)}  {(d.MembersCanRead ? "members can read" : $"{d.Unreadable} unreadable, first {d.FirstUnreadable}")}");
        sb.AppendLine();
        sb.AppendLine($"Fixes needed (aica data fix): {r.Fixes.Changed} of {r.Fixes.Scanned} entries, {r.Fixes.Kept} kept, {r.Fixes.Special} special, {r.Fixes.Errors} errors");
        foreach (var t in r.Fixes.Trees)
            foreach (var (kind, path, detail) in t.Events) sb.AppendLine($"  {DataJson.EventName(kind)}  {path}: {detail}");
        sb.AppendLine();
        sb.AppendLine($"Orphaned user data (aica data orphans --remove): {r.Orphans.Orphans.Count}");
        foreach (var o in r.Orphans.Orphans) sb.AppendLine($"  {OrphanService.UsersDir}/{o.Name}  {Human.Bytes(o.SizeBytes)}  {o.Files} files  uid {o.Uid}");
        sb.AppendLine();
        sb.AppendLine($"Legacy mirrors (aica data mirror): {r.Mirrors.Count}");
        foreach (var m in r.Mirrors) sb.AppendLine($"  {DataJson.MirrorStateName(m.State)}  {m.Pair.Legacy} <- {m.Pair.Source}: {m.Summary}");
        sb.AppendLine();
        sb.AppendLine($"Access as each member (aica data verify): {r.Access.Count(a => a.Ok)} ok, {r.Access.Count(a => !a.Ok)} failed");
        foreach (var a in r.Access.Where(a => !a.Ok)) sb.AppendLine($"  {a.User} / {a.Dataset}: {a.Summary}");
        sb.AppendLine();
        sb.AppendLine(r.Problems == 0 ? "No problems found." : $"{r.Problems} problem(s) found.");
        return sb.ToString();
    }
}

/// <summary>The doctor extension: age of the latest data report, and shared caches members cannot write.</summary>
public static class DataDoctor
{
    public static readonly TimeSpan MaxAge = TimeSpan.FromDays(30);

    /// <param name="registry">The registry and <paramref name="accounts"/> the account files doctor already read; null: read here.</param>
    public static IEnumerable<CheckResult> Checks(AicaServices s, AicaConfig c, Registry? registry = null, Accounts.AccountDb? accounts = null) =>
        Report(s, c).Concat(CacheWritable(s, c, registry, accounts));

    /// <summary>The checks that read no tree (aica metrics, every few minutes, never walks the shared caches).</summary>
    public static IEnumerable<CheckResult> Report(AicaServices s, AicaConfig c)
    {
        CheckResult r;
        try { r = ReportAge(s, c); }
        catch (SysException e) { r = new CheckResult("data.report", CheckStatus.Warn, $"cannot read {c.ReportsDir}: {Sys.StrError(e.Errno)}"); }
        yield return r;
    }

    /// <summary>
    /// cache.&lt;id&gt;.group-writable: entries of each shared cache that are not the group's or not group-writable
    /// (one member's install would fail on another's files), counted by a dry run of the normaliser.
    /// </summary>
    private static IEnumerable<CheckResult> CacheWritable(AicaServices s, AicaConfig c, Registry? registry, Accounts.AccountDb? accounts)
    {
        var db = accounts ?? s.Accounts.Load();
        if (Site.DesiredStateBuilder.SharedGid(c, db) is not { } gid) yield break; // the group check reports it
        var normaliser = new TreeNormaliser(new PermsService(s).Policy(c, (uint)gid, db, false, registry));
        foreach (var (id, path) in c.SharedCaches)
        {
            if (s.Fs.Lstat(path) is not { IsDir: true }) continue; // the tree checks report a missing cache
            var t = normaliser.Run(s.Fs, path, dryRun: true);
            var checkId = $"cache.{id}.group-writable";
            yield return t.Changed == 0
                ? new CheckResult(checkId, CheckStatus.Pass, $"{path}: all {t.Scanned} entries group {c.Group} and group-writable")
                : new CheckResult(checkId, CheckStatus.Warn, $"{path}: {t.Changed} of {t.Scanned} entries not group {c.Group} or not group-writable: members' installs may fail on them",
                    Fix: $"aica perms {path}");
        }
    }

    private static CheckResult ReportAge(AicaServices s, AicaConfig c)
    {
        using var dir = s.Fs.TryOpenDir(c.ReportsDir, out _);
        (string Name, long Mtime)? latest = null;
        if (dir is not null)
            foreach (var (raw, _, _) in Sys.ReadDir(dir, c.ReportsDir))
            {
                var name = SafeOps.Escape(raw);
                if (!name.StartsWith(ReportService.Prefix, StringComparison.Ordinal) || !name.EndsWith(".json", StringComparison.Ordinal)) continue;
                if (Sys.LstatAt(dir.Fd, Sys.Z(raw), name) is not { IsFile: true } st) continue;
                if (latest is null || st.MtimeSec > latest.Value.Mtime) latest = (name, st.MtimeSec);
            }
        if (latest is null) return new CheckResult("data.report", CheckStatus.Pass, "no data report yet (aica data report writes one)");
        var age = DateTimeOffset.FromUnixTimeSeconds(latest.Value.Mtime).UtcDateTime is var t ? s.Clock.Now.ToUniversalTime() - t : TimeSpan.Zero;
        var summary = $"latest data report {Age(age)} old ({c.ReportsDir}/{latest.Value.Name})";
        return age > MaxAge
            ? new CheckResult("data.report", CheckStatus.Warn, summary, Fix: "aica data report (weekly from cron keeps it fresh)")
            : new CheckResult("data.report", CheckStatus.Pass, summary);
    }

    public static string Age(TimeSpan t) =>
        t.TotalMinutes < 1 ? "less than a minute" : t.TotalHours < 1 ? $"{(int)t.TotalMinutes} min" : t.TotalDays < 2 ? $"{(int)t.TotalHours} h" : $"{(int)t.TotalDays} days";
}
