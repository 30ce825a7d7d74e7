using Aica.Contracts;
using Aica.Services;
using ConsoleAppFramework;

namespace Aica.Cli.Commands;

public sealed class RecoverCommand(CliContext cli)
{
    /// <summary>Boot-time rebuild of everything derived from /data: group, accounts, shared tree, /etc files, homes.</summary>
    /// <param name="dryRun">-n, Print the plan; change nothing.</param>
    /// <param name="cancellationToken">Cancelled on SIGINT/SIGTERM.</param>
    [Command("recover")]
    public async Task<int> Run(bool dryRun = false, CancellationToken cancellationToken = default)
    {
        using var s = cli.CreateServices();
        var r = await new RecoverService(s).Run(dryRun, cancellationToken);
        var o = cli.Output;
        if (cli.Options.Json)
        {
            o.Json(new RecoverDoc("recover", r.Status, r.DryRun, r.Users, r.Failed, Math.Round(r.DurationMs, 2),
                r.DryRun ? Output.Rows(r.Planned) : Output.Rows(r.Actions), [.. r.Problems], [.. r.Notes]), AicaJsonContext.Default.RecoverDoc);
        }
        else
        {
            if (r.DryRun) o.Planned(r.Planned); else o.Applied(r.Actions);
            foreach (var p in r.Problems) o.Problem("FAIL", p);
            foreach (var n in r.Notes) o.Line("INFO", n);
            o.Summary(r.DryRun ? $"recover (dry run): {r.Planned.Count} changes planned for {r.Users} users" : r.Summary);
        }
        return r.ExitCode;
    }
}
