using Aica.Contracts;
using Aica.Services;
using ConsoleAppFramework;

namespace Aica.Cli.Commands;

public sealed class HealthCommand(CliContext cli)
{
    /// <summary>Node health for Slurm (HealthCheckProgram) or LBNL NHC: doctor's node-wide checks within a hard deadline, one line out; exit 1 and a drain with an "aica:" reason on a FAIL, a resume only of aica's own drains when healthy.</summary>
    /// <param name="node">The Slurm node name (default: this host's short name).</param>
    /// <param name="timeout">Hard deadline in seconds, 2–300 (default 10).</param>
    /// <param name="noDrain">Only report and set the exit code (NHC drains the node itself).</param>
    [Command("health")]
    public int Run(string? node = null, int timeout = 10, bool noDrain = false)
    {
        if (timeout is < 2 or > 300) throw AicaException.Usage($"--timeout must be 2–300 seconds, got {timeout}");
        if (node is not null && (node.Length == 0 || node.Any(c => char.IsWhiteSpace(c) || c is '=' or ',')))
            throw AicaException.Usage($"--node must be one Slurm node name, got '{node}'");
        using var s = cli.CreateServices();
        s.RequireRoot("health");
        var host = node ?? Native.Sys.HostName().Split('.')[0];
        var r = new HealthService(s, () => DoctorService.WithAllChecks(s).Run(null, AicaApp.Version))
            .Run(host, TimeSpan.FromSeconds(timeout), drain: !noDrain);
        if (cli.Options.Json)
        {
            cli.Output.Json(new HealthDoc(r.Healthy, r.Line, r.Node, r.Action, r.UserProblems), AicaJsonContext.Default.HealthDoc);
        }
        else
        {
            // The one line Slurm/NHC logs; what was done to the node on stderr.
            cli.Out.WriteLine(r.Line);
            if (!cli.Options.Quiet) cli.Err.WriteLine($"aica health: {r.Action}");
        }
        return r.ExitCode;
    }
}
