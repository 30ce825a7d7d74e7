using Aica.Contracts;
using Aica.Services;
using ConsoleAppFramework;

namespace Aica.Cli.Commands;

public sealed class ConfigCommands(CliContext cli)
{
    /// <summary>Checks aica.toml (or FILE) like sshd -t: exit 0 when valid, 2 with each problem's line when not.</summary>
    /// <param name="file">The file to check (default: /data/config/aica.toml).</param>
    [Command("config check")]
    public int Check([Argument] string? file = null)
    {
        // The parser hands an unknown option over as FILE (a file named -x can be given as ./-x).
        if (file?.StartsWith('-') == true) throw AicaException.Usage($"unknown option '{file}' (see: aica config check --help)");
        using var s = cli.CreateServices();
        var r = new ConfigService(s).Check(file);
        var o = cli.Output;
        if (cli.Options.Json)
        {
            o.Json(new ConfigCheckDoc("config check", r.File, r.Exists, r.Valid, [.. r.Issues.Select(i => new ConfigProblemRow(i.Line, i.Message))]),
                AicaJsonContext.Default.ConfigCheckDoc);
        }
        else
        {
            if (!r.Exists) o.Problem("FAIL", $"{r.File} does not exist (every key would take its default; aica init writes one)");
            foreach (var i in r.Issues) o.Problem("FAIL", $"{r.File}:{i.Line}: {i.Message}");
            o.Summary(r.Valid ? $"{r.File}: valid" : $"{r.File}: {(r.Exists ? $"{r.Issues.Count} problem(s)" : "missing")}");
        }
        return r.Valid ? ExitCodes.Ok : ExitCodes.Usage;
    }
}
