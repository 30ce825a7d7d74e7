using Aica.Contracts;
using Aica.Services;
using Aica.Site;
using ConsoleAppFramework;

namespace Aica.Cli.Commands;

public sealed class InitCommand(CliContext cli)
{
    /// <summary>First setup: config with the group and its gid, the group, the shared tree, /etc files, unit and cron.</summary>
    /// <param name="group">-g, Shared group name (default gpu-users).</param>
    /// <param name="gid">The group's gid (default: the existing group's, else the first free from 2000).</param>
    /// <param name="layout">Default home layout for new users: symlink or hybrid.</param>
    /// <param name="dryRun">-n, Print the plan; change nothing.</param>
    /// <param name="image">Write only what a node image needs to run recovery at boot (the unit and its enable link) into the image root DIR; /data is not touched.</param>
    /// <param name="cancellationToken">Cancelled on SIGINT/SIGTERM.</param>
    [Command("init")]
    public async Task<int> Run(string? group = null, int? gid = null, string? layout = null, bool dryRun = false, string? image = null, CancellationToken cancellationToken = default)
    {
        using var s = cli.CreateServices();
        if (image is not null)
        {
            // An image gets only the unit: the group, gid and layout live in /data's aica.toml, and there is no plan to print.
            if (group is not null || gid is not null || layout is not null || dryRun)
                throw AicaException.Usage("--image takes no --group, --gid, --layout or --dry-run (it writes only the unit and its enable link)");
            return await Image(s, image, cancellationToken);
        }
        var r = await new InitService(s).Run(new InitOptions(group, gid, layout, dryRun), cancellationToken);
        var o = cli.Output;
        if (cli.Options.Json)
        {
            o.Json(new InitDoc("init", r.Config.Group, r.Config.Gid, dryRun, r.ConfigChanged,
                dryRun ? Output.Rows(r.Planned) : Output.Rows(r.Applied!.Actions), [.. r.Problems], [.. r.Notes]), AicaJsonContext.Default.InitDoc);
        }
        else
        {
            if (r.ConfigChanged) o.Line(dryRun ? "PLAN" : "DONE", $"config /data/config/aica.toml: group {r.Config.Group}, gid {r.Config.Gid}");
            if (dryRun) o.Planned(r.Planned); else o.Applied(r.Applied!.Actions);
            foreach (var p in r.Problems) o.Problem("WARN", p);
            foreach (var n in r.Notes) o.Line("INFO", n);
            o.Summary(r.NoChanges ? "init: no changes" : dryRun
                ? $"init (dry run): {r.Changes} changes planned"
                : $"init: {r.Changes} changes, {r.Applied!.Actions.Count(a => !a.Ok)} failed");
        }
        return r.Failed ? ExitCodes.Failed : ExitCodes.Ok;
    }

    private async Task<int> Image(AicaServices s, string image, CancellationToken ct)
    {
        var r = await new ImageService(s).Run(image, ct);
        var o = cli.Output;
        if (cli.Options.Json)
        {
            o.Json(new InitImageDoc("init", r.Image, Output.Rows(r.Applied.Actions)), AicaJsonContext.Default.InitImageDoc);
        }
        else
        {
            o.Applied(r.Applied.Actions);
            var changes = r.Applied.Actions.Count(a => a.Ok);
            o.Summary(changes == 0 && !r.Failed ? $"init --image {r.Image}: no changes"
                : $"init --image {r.Image}: {changes} changes, {r.Applied.Actions.Count(a => !a.Ok)} failed");
        }
        return r.Failed ? ExitCodes.Failed : ExitCodes.Ok;
    }
}
