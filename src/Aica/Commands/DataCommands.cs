using Aica.Contracts;
using Aica.Data;
using Aica.Services;
using ConsoleAppFramework;

namespace Aica.Cli.Commands;

public sealed class DataCommands(CliContext cli)
{
    /// <summary>Datasets under /data/dataset: size, file count, owner, group, mode, and whether members can read them.</summary>
    /// <param name="names">Only these datasets (default: all).</param>
    /// <param name="cancellationToken">Cancelled on SIGINT/SIGTERM.</param>
    [Command("data list")]
    public int List(CancellationToken cancellationToken = default, [Argument] params string[] names)
    {
        if (names.FirstOrDefault(n => n.StartsWith('-')) is { } opt) throw AicaException.Usage($"unknown option '{opt}' (see: aica data list --help)");
        using var s = cli.CreateServices();
        var list = new DatasetService(s).List(cancellationToken, names.Length == 0 ? null : names.ToHashSet(StringComparer.Ordinal));
        var o = cli.Output;
        if (cli.Options.Json) { o.Json(DataJson.Datasets(list), AicaJsonContext.Default.DatasetsDoc); return 0; }
        foreach (var d in list)
        {
            var line = $"{d.Name}  {d.SizeHuman} ({d.SizeBytes} bytes)  {d.Files} files  {d.Owner}:{d.Group} {TreeNormaliser.Octal(d.Mode)}";
            if (d.MembersCanRead) o.Line("OK", line);
            else o.Problem("WARN", $"{line}  members cannot read {d.Unreadable} entr{(d.Unreadable == 1 ? "y" : "ies")}, first {d.FirstUnreadable} (aica data fix)");
        }
        o.Summary($"data list: {list.Count} datasets, {Human.Bytes(list.Sum(d => d.SizeBytes))}, {list.Count(d => !d.MembersCanRead)} not readable by members");
        return 0;
    }

    /// <summary>Normalise admin uploads in /data/dataset (group, g+rw, g+rwxs dirs); dataset roots owned by data.dataset_owner (default root).</summary>
    /// <param name="dryRun">-n, Count what would change; change nothing.</param>
    /// <param name="cancellationToken">Cancelled on SIGINT/SIGTERM.</param>
    [Command("data fix")]
    public int Fix(bool dryRun = false, CancellationToken cancellationToken = default)
    {
        using var s = cli.CreateServices();
        var r = new PermsService(s).FixDatasets(dryRun, cli.Options.Verbose || dryRun, cancellationToken);
        return PermsCommand.Render(cli, "data fix", r);
    }

    /// <summary>User data in /data/users with no registered user and no account; --remove moves it to backups/orphaned_TS/ (never deletes).</summary>
    /// <param name="remove">Move each orphan to the backup directory (rename, or copy + verify + delete across file systems).</param>
    /// <param name="yes">-y, Do not ask (required with --remove when not on a terminal).</param>
    /// <param name="dryRun">-n, With --remove: show what would move; move nothing.</param>
    /// <param name="cancellationToken">Cancelled on SIGINT/SIGTERM.</param>
    [Command("data orphans")]
    public int Orphans(bool remove = false, bool yes = false, bool dryRun = false, CancellationToken cancellationToken = default)
    {
        using var s = cli.CreateServices();
        var svc = new OrphanService(s);
        OrphanReport r;
        if (!remove) r = new OrphanReport(svc.Find(cancellationToken), null, [], true);
        else
        {
            if (!dryRun && !yes && !Confirm("move every orphaned user directory to the backup directory?"))
                throw AicaException.Usage("--remove needs --yes when not run on a terminal (or answer y)");
            r = svc.Remove(dryRun, cancellationToken);
        }
        var o = cli.Output;
        if (cli.Options.Json) { o.Json(DataJson.Orphans(r), AicaJsonContext.Default.OrphansDoc); return r.ExitCode; }
        foreach (var orphan in r.Orphans)
        {
            var m = r.Moves.FirstOrDefault(x => ReferenceEquals(x.Orphan, orphan));
            var what = $"{OrphanService.UsersDir}/{orphan.Name}  {Human.Bytes(orphan.SizeBytes)}, {orphan.Files} files, uid {orphan.Uid}";
            if (m is null) o.Problem("WARN", $"{what}: no registered user and no account");
            else if (r.DryRun) o.Line("PLAN", $"{what} -> {r.BackupPath}/{orphan.Name}");
            else if (m.Moved) o.Line("DONE", $"{what} -> {r.BackupPath}/{orphan.Name} ({m.Method})");
            else o.Problem("FAIL", $"{what}: {m.Error}");
            if (m is not null) foreach (var n in m.Notes) o.Line("", n);
        }
        var moved = r.Moves.Count(m => m.Moved);
        o.Summary(!remove ? $"data orphans: {r.Orphans.Count} found{(r.Orphans.Count > 0 ? " (aica data orphans --remove moves them to a backup)" : "")}"
            : r.DryRun ? $"data orphans (dry run): {r.Orphans.Count} to move to {r.BackupPath}"
            : $"data orphans: {moved} moved{(moved > 0 ? $" to {r.BackupPath}" : "")}, {r.Orphans.Count - moved} kept");
        return r.ExitCode;
    }

    /// <summary>Keep the legacy paths of data.legacy_mirrors in step (rsync), or with --link merge them into /data and replace them with a link.</summary>
    /// <param name="link">Merge the legacy path's extra content into /data, keep the old directory aside, and link the legacy path to /data.</param>
    /// <param name="dryRun">-n, Show the drift; change nothing.</param>
    /// <param name="cancellationToken">Cancelled on SIGINT/SIGTERM.</param>
    [Command("data mirror")]
    public async Task<int> Mirror(bool link = false, bool dryRun = false, CancellationToken cancellationToken = default)
    {
        using var s = cli.CreateServices();
        var list = await new MirrorService(s).Run(link, dryRun, cancellationToken);
        var o = cli.Output;
        var failed = list.Count(m => m.State is MirrorState.Failed or MirrorState.Refused);
        if (cli.Options.Json) { o.Json(DataJson.Mirrors(list, dryRun), AicaJsonContext.Default.MirrorsDoc); return failed > 0 ? ExitCodes.Failed : 0; }
        foreach (var m in list)
        {
            var line = $"{m.Pair.Legacy} <- {m.Pair.Source}: {m.Summary}";
            switch (m.State)
            {
                case MirrorState.Failed or MirrorState.Refused: o.Problem("FAIL", line); break;
                case MirrorState.Drift: o.Line("PLAN", line); break;
                case MirrorState.Synced or MirrorState.Linked: o.Line("DONE", line); break;
                default: o.Line("OK", line); break;
            }
        }
        o.Summary(list.Count == 0 ? "data mirror: no legacy paths configured (data.legacy_mirrors)" : $"data mirror{(dryRun ? " (dry run)" : "")}: {list.Count} legacy path(s), {failed} failed");
        return failed > 0 ? ExitCodes.Failed : 0;
    }

    /// <summary>Prove each member can read each dataset: the kernel decides, checked as that user (setpriv).</summary>
    /// <param name="user">-u, Only this user.</param>
    /// <param name="cancellationToken">Cancelled on SIGINT/SIGTERM.</param>
    [Command("data verify")]
    public async Task<int> Verify(string? user = null, CancellationToken cancellationToken = default)
    {
        using var s = cli.CreateServices();
        var list = await new VerifyService(s).Run(user, cancellationToken);
        var o = cli.Output;
        var failed = list.Count(a => !a.Ok);
        if (cli.Options.Json) { o.Json(DataJson.Access(list), AicaJsonContext.Default.AccessDoc); return failed > 0 ? ExitCodes.Failed : 0; }
        foreach (var a in list)
        {
            if (a.Ok) o.Line("OK", $"{a.User} / {a.Dataset}: {a.Summary}");
            else o.Problem("FAIL", $"{a.User} / {a.Dataset}: {a.Summary}");
        }
        o.Summary($"data verify: {list.Count - failed} ok, {failed} failed ({list.Select(a => a.User).Distinct().Count()} users, {list.Select(a => a.Dataset).Distinct().Count()} datasets)");
        return failed > 0 ? ExitCodes.Failed : 0;
    }

    /// <summary>Everything above in one report: /data/admin/reports/data_sync_report_TS.txt and .json.</summary>
    /// <param name="noVerify">Leave out the access checks as each member (one child process per member).</param>
    /// <param name="cancellationToken">Cancelled on SIGINT/SIGTERM.</param>
    [Command("data report")]
    public async Task<int> Report(bool noVerify = false, CancellationToken cancellationToken = default)
    {
        using var s = cli.CreateServices();
        var r = await new ReportService(s).Run(!noVerify, cancellationToken);
        var o = cli.Output;
        if (cli.Options.Json)
        {
            o.Json(new DataReportDoc(r.TextPath, r.JsonPath, r.Datasets.Count, r.Fixes.Changed, r.Orphans.Orphans.Count,
                r.Mirrors.Count(m => m.State != MirrorState.InStep && m.State != MirrorState.AlreadyLinked && m.State != MirrorState.Missing),
                r.Access.Count(a => !a.Ok), r.Problems), AicaJsonContext.Default.DataReportDoc);
            return 0;
        }
        o.Line(r.Problems == 0 ? "OK" : "WARN", $"{r.Datasets.Count} datasets, {r.Fixes.Changed} fixes needed, {r.Orphans.Orphans.Count} orphans, {r.Mirrors.Count} mirrors, {r.Access.Count(a => !a.Ok)} access failures");
        o.Summary($"data report: {s.Fs.Host(r.TextPath)} (and .json)");
        return 0;
    }

    private bool Confirm(string question)
    {
        if (!ReferenceEquals(cli.Out, Terminal.Out) || !Native.Sys.IsTerminal(0)) return false;
        cli.Err.Write($"{question} [y/N] ");
        Terminal.UsingConsoleInput();
        return Console.ReadLine()?.Trim().ToLowerInvariant() is "y" or "yes";
    }
}
