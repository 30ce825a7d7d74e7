using Aica.Contracts;
using Aica.Integration;
using ConsoleAppFramework;

namespace Aica.Cli.Commands;

public sealed class InstallCommands(CliContext cli)
{
    /// <summary>Install the shared Miniconda at /data/apps/miniconda3 from a local installer (bash FILE -b -p PREFIX).</summary>
    /// <param name="from">The Miniconda3-...-Linux-ARCH.sh file on this server (aica never downloads).</param>
    /// <param name="sha256">Expected SHA-256 of the installer (from the download page); a mismatch is exit 1.</param>
    /// <param name="dryRun">-n, Check the installer and print the plan; change nothing.</param>
    /// <param name="cancellationToken">Cancelled on SIGINT/SIGTERM.</param>
    [Command("install miniconda")]
    public Task<int> Miniconda(string? from = null, string? sha256 = null, bool dryRun = false, CancellationToken cancellationToken = default) =>
        Run(InstallTool.Miniconda, from, sha256, dryRun, cancellationToken);

    /// <summary>Install uv at /data/apps/uv from a local release archive (uv-ARCH-unknown-linux-gnu.tar.gz).</summary>
    /// <param name="from">The uv release archive on this server (aica never downloads).</param>
    /// <param name="sha256">Expected SHA-256 of the archive; a mismatch is exit 1.</param>
    /// <param name="dryRun">-n, Check the archive and print the plan; change nothing.</param>
    /// <param name="cancellationToken">Cancelled on SIGINT/SIGTERM.</param>
    [Command("install uv")]
    public Task<int> Uv(string? from = null, string? sha256 = null, bool dryRun = false, CancellationToken cancellationToken = default) =>
        Run(InstallTool.Uv, from, sha256, dryRun, cancellationToken);

    private async Task<int> Run(InstallTool tool, string? from, string? sha256, bool dryRun, CancellationToken ct)
    {
        using var s = cli.CreateServices();
        var r = await new InstallService(s).Run(new InstallOptions(tool, from, dryRun, sha256), ct);
        var o = cli.Output;
        if (cli.Options.Json)
        {
            o.Json(new InstallDoc($"install {r.Tool}", r.Prefix, r.From, r.Sha256, dryRun, r.Status, r.Version, r.Previous, [.. r.Steps], r.Error),
                AicaJsonContext.Default.InstallDoc);
            return r.ExitCode;
        }
        o.Line("INFO", $"installer {r.From} (sha256 {r.Sha256})");
        foreach (var st in r.Steps) o.Line(dryRun ? "PLAN" : "INFO", st);
        switch (r.Status)
        {
            case "failed":
                o.Problem("FAIL", r.Error!);
                o.Summary($"install {r.Tool}: failed; {(r.Previous is null ? "nothing was installed" : $"the previous install at {r.Prefix} is intact")}");
                break;
            case "planned":
                o.Summary($"install {r.Tool} (dry run): {r.Steps.Count} steps planned");
                break;
            case "unchanged":
                o.Summary($"install {r.Tool}: {r.Version} at {r.Prefix} already installed from this file, no changes");
                break;
            default:
                if (r.Previous is not null) o.Line("DONE", $"previous install kept in {r.Previous}");
                o.Line("OK", $"{r.Version} runs from {r.Prefix}");
                o.Summary($"install {r.Tool}: {r.Version} installed at {r.Prefix}");
                break;
        }
        return r.ExitCode;
    }
}
