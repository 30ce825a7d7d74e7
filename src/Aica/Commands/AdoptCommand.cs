using Aica.Contracts;
using Aica.Integration;
using ConsoleAppFramework;
using Aica.Services;

namespace Aica.Cli.Commands;

public sealed class AdoptCommand(CliContext cli)
{
    /// <summary>Take over a server set up by the bash scripts (AICADataKeeper): registry ids, aica.toml, old files backed up and replaced, wrappers, then init. Exit 1 when something needs a hand.</summary>
    /// <param name="dryRun">-n, Print what would change; change nothing.</param>
    /// <param name="cancellationToken">Cancelled on SIGINT/SIGTERM.</param>
    [Command("adopt")]
    public async Task<int> Run(bool dryRun = false, CancellationToken cancellationToken = default)
    {
        using var s = cli.CreateServices();
        var r = await new AdoptService(s).Run(dryRun, cancellationToken);
        var o = cli.Output;
        var engine = dryRun ? Output.Rows(r.Planned) : r.Init?.Applied is { } a ? Output.Rows(a.Actions) : [];
        if (cli.Options.Json)
        {
            o.Json(new AdoptDoc("adopt", dryRun, r.Config.Group, r.Config.Gid, r.BackupDir, r.ReportPath,
                [.. r.Changes.Select(c => new AdoptChangeRow(c.Action, c.Path, c.Detail))], engine, [.. r.Warnings], [.. r.Problems]),
                AicaJsonContext.Default.AdoptDoc);
            return r.ExitCode;
        }
        var tag = dryRun ? "PLAN" : "DONE";
        foreach (var c in r.Changes) o.Line(tag, $"{c.Action} {c.Path}: {c.Detail}");
        if (dryRun) o.Planned(r.Planned);
        else if (r.Init?.Applied is { } applied) o.Applied(applied.Actions);
        foreach (var n in r.Init?.Notes ?? []) o.Line("INFO", n);
        foreach (var w in r.Warnings) o.Problem("WARN", w);
        foreach (var p in r.Problems) o.Problem("FAIL", p);
        if (r.BackupDir is not null) o.Line("INFO", $"backups of everything replaced: {r.BackupDir}");
        if (r.ReportPath is not null) o.Line("INFO", $"report: {r.ReportPath}");
        var count = r.Changes.Count + (dryRun ? r.Planned.Count : r.Init?.Applied?.Actions.Count(x => x.Ok) ?? 0);
        o.Summary(r.NoChanges && !r.Failed ? "adopt: nothing to change, this server is aica's"
            : $"adopt{(dryRun ? " (dry run)" : "")}: {count} changes{(dryRun ? " planned" : "")}, {r.Problems.Count} problems, {r.Warnings.Count} warnings");
        return r.ExitCode;
    }
}
