using Aica.Contracts;
using Aica.Site;
using Aica.Services;
using ConsoleAppFramework;

namespace Aica.Cli.Commands;

public sealed class NotifyCommand(CliContext cli)
{
    /// <summary>Send "UNIT failed on HOST" through disk.notify and disk.mail (for systemd OnFailure= units); exit 1 when a channel failed.</summary>
    /// <param name="failedUnit">The unit that failed (systemd's %i).</param>
    /// <param name="cancellationToken">Cancelled on SIGINT/SIGTERM.</param>
    [Command("notify")]
    public int Run(string? failedUnit = null, CancellationToken cancellationToken = default)
    {
        // Optional for the parser: a missing required option would print help and exit 0 (ConsoleAppFramework).
        if (failedUnit is null) throw AicaException.Usage("--failed-unit UNIT is required");
        using var s = cli.CreateServices();
        var (message, outcomes) = new Notifier(s).FailedUnit(failedUnit, cancellationToken);
        var o = cli.Output;
        if (cli.Options.Json)
        {
            o.Json(new NotifyDoc("notify", message, [.. outcomes.Select(c => new NotifyChannelRow(c.Channel, c.Ok ? "sent" : "failed", c.Message))]),
                AicaJsonContext.Default.NotifyDoc);
        }
        else
        {
            // The failure itself is an error line: journald files it at priority 3.
            o.Problem("FAIL", message);
            foreach (var c in outcomes)
                if (c.Ok) o.Line("OK", $"{c.Channel}: sent"); else o.Problem("WARN", $"{c.Channel} failed: {c.Message}");
            if (outcomes.Count == 0) o.Problem("WARN", "no disk.notify or disk.mail in aica.toml: only the log was told");
        }
        return outcomes.Any(c => !c.Ok) ? ExitCodes.Failed : ExitCodes.Ok;
    }
}
