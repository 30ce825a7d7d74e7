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
            o.Json(j =>
            {
                j.WriteStartObject();
                j.WriteString("command", "adopt");
                j.WriteBoolean("dry_run", dryRun);
                j.WriteString("group", r.Config.Group);
                if (r.Config.Gid is { } g) j.WriteNumber("gid", g); else j.WriteNull("gid");
                if (r.BackupDir is null) j.WriteNull("backup_dir"); else j.WriteString("backup_dir", r.BackupDir);
                if (r.ReportPath is null) j.WriteNull("report"); else j.WriteString("report", r.ReportPath);
                j.WriteStartArray("changes");
                foreach (var c in r.Changes)
                {
                    j.WriteStartObject();
                    j.WriteString("action", c.Action); j.WriteString("path", c.Path); j.WriteString("detail", c.Detail);
                    j.WriteEndObject();
                }
                j.WriteEndArray();
                Output.WriteActions(j, "actions", engine);
                j.WriteStartArray("warnings"); foreach (var w in r.Warnings) j.WriteStringValue(w); j.WriteEndArray();
                j.WriteStartArray("problems"); foreach (var p in r.Problems) j.WriteStringValue(p); j.WriteEndArray();
                j.WriteEndObject();
            });
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
