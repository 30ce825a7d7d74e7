using Aica.Contracts;
using Aica.Data;
using ConsoleAppFramework;

namespace Aica.Cli.Commands;

public sealed class PermsCommand(CliContext cli)
{
    /// <summary>Normalise the shared trees (group, g+rwxs dirs, g+rw files, execute bits kept), link-safe and parallel; only what is wrong changes.</summary>
    /// <param name="paths">Trees inside the shared roots (default: all of them: caches, datasets, code).</param>
    /// <param name="dryRun">-n, Count what would change; change nothing.</param>
    /// <param name="cancellationToken">Cancelled on SIGINT/SIGTERM.</param>
    [Command("perms")]
    public int Run(bool dryRun = false, CancellationToken cancellationToken = default, [Argument] params string[] paths)
    {
        // The generated parser hands a trailing params argument every later token, so `perms PATH --dry-run` arrives
        // here with the flag among the paths: take it out (a path never starts with '-'; anything else is exit 2).
        foreach (var option in paths.Where(p => p.StartsWith('-')))
            if (option == "--dry-run") dryRun = true;
            else throw AicaException.Usage($"perms: unknown option '{option}'");
        paths = paths.Where(p => !p.StartsWith('-')).ToArray();
        using var s = cli.CreateServices();
        var r = new PermsService(s).Run(new PermsOptions(paths, dryRun, cli.Options.Verbose), cancellationToken);
        return Render(cli, "perms", r);
    }

    /// <summary>Human or JSON output of a normalisation (perms, data fix).</summary>
    internal static int Render(CliContext cli, string command, PermsReport r)
    {
        var o = cli.Output;
        if (cli.Options.Json) { o.Json(DataJson.Perms(command, r), AicaJsonContext.Default.PermsDoc); return r.ExitCode; }
        foreach (var t in r.Trees)
        {
            foreach (var (kind, path, detail) in t.Events)
            {
                switch (kind)
                {
                    case NormaliseEvent.Changed: o.Line("DONE", $"{path}  ({detail})"); break;
                    case NormaliseEvent.Planned: o.Line("PLAN", $"{path}  ({detail})"); break;
                    case NormaliseEvent.Error or NormaliseEvent.Raced: o.Problem("FAIL", $"{path}: {detail}"); break;
                    default: o.Problem("WARN", $"{path}: {detail}"); break;
                }
            }
            var verb = r.DryRun ? "to change" : "changed";
            o.Line(t.Errors > 0 ? "FAIL" : "OK", $"{t.Root}: {t.Scanned} scanned, {t.Changed} {verb}, {t.SkippedLinks} links skipped, {t.Special + t.Kept} left as is, {t.Errors} errors");
        }
        o.Summary($"{command}{(r.DryRun ? " (dry run)" : "")}: {r.Scanned} scanned, {r.Changed} {(r.DryRun ? "to change" : "changed")}, {r.Skipped} skipped, {r.Errors} errors");
        return r.ExitCode;
    }
}
