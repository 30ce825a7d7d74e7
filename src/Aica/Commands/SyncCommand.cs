using Aica.Services;
using ConsoleAppFramework;

namespace Aica.Cli.Commands;

public sealed class SyncCommand(CliContext cli)
{
    /// <summary>Follow the registry: recover when it or the account files changed since the last good recover, else nothing (the timer's job).</summary>
    /// <param name="dryRun">-n, Say whether recover would run and print its plan; change nothing.</param>
    /// <param name="cancellationToken">Cancelled on SIGINT/SIGTERM.</param>
    [Command("sync")]
    public async Task<int> Run(bool dryRun = false, CancellationToken cancellationToken = default)
    {
        using var s = cli.CreateServices();
        var r = await new SyncService(s).Run(dryRun, cancellationToken);
        var o = cli.Output;
        if (cli.Options.Json)
        {
            o.Json(j =>
            {
                j.WriteStartObject();
                j.WriteString("command", "sync");
                j.WriteBoolean("recovered", r.Ran is not null);
                j.WriteBoolean("dry_run", dryRun);
                j.WriteString("status", r.Ran?.Status ?? "ok");
                if (r.Generation is { } g) j.WriteNumber("generation", g); else j.WriteNull("generation");
                j.WriteString("reason", r.Reason);
                j.WriteNumber("duration_ms", Math.Round(r.DurationMs, 2));
                j.WriteEndObject();
            });
        }
        else if (r.Ran is { } rec)
        {
            o.Line("INFO", $"sync: {r.Reason}");
            if (rec.DryRun) o.Planned(rec.Planned); else o.Applied(rec.Actions);
            foreach (var p in rec.Problems) o.Problem("FAIL", p);
            o.Summary(rec.DryRun ? $"sync (dry run): recover would make {rec.Planned.Count} changes" : $"sync: {rec.Summary}");
        }
        else o.Summary($"sync: {r.Reason}");
        return r.ExitCode;
    }
}
