using Aica.Contracts;
using Aica.Services;
using Aica.Site;
using ConsoleAppFramework;

namespace Aica.Cli.Commands;

public sealed class AccountsCommand(CliContext cli)
{
    /// <summary>Store the registered users' password hashes, lock state, aging, shell, GECOS and groups, and the lab's groups, on /data (root-only) so a full reset loses none of it.</summary>
    /// <param name="force">Replace a stored file that is refused (not root's, readable by others, truncated, corrupt).</param>
    /// <param name="dryRun">-n, Show what differs; write nothing.</param>
    /// <param name="cancellationToken">Cancelled on SIGINT/SIGTERM.</param>
    [Command("accounts capture")]
    public int Capture(bool force = false, bool dryRun = false, CancellationToken cancellationToken = default)
    {
        using var s = cli.CreateServices();
        var r = new CaptureService(s).Run(force, dryRun, cancellationToken);
        var o = cli.Output;
        if (cli.Options.Json)
        {
            o.Json(new AccountsCaptureDoc("accounts capture", r.DryRun, r.Written, r.Users, r.Groups, [.. r.Differences], r.Replaced), AicaJsonContext.Default.AccountsCaptureDoc);
            return 0;
        }
        foreach (var d in r.Differences) o.Line(r.DryRun ? "PLAN" : "DONE", d);
        if (r.Replaced is not null) o.Problem("WARN", $"replaced the refused file ({r.Replaced})");
        o.Summary(r.DryRun ? $"accounts capture (dry run): {r.Differences.Count} changes for {r.Users} users, {r.Groups} lab groups"
            : r.Written ? $"captured {r.Users} users and {r.Groups} lab groups ({r.Differences.Count} changes)"
            : $"account state already current ({r.Users} users, {r.Groups} lab groups)");
        return 0;
    }
}
