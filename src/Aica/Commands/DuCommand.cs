using Aica.Contracts;
using Aica.Caches;
using Aica.Services;
using ConsoleAppFramework;

namespace Aica.Cli.Commands;

public sealed class DuCommand(CliContext cli)
{
    /// <summary>Fast parallel usage, biggest first: each user's data dir, shared cache and dataset; or PATH's entries; --by-user: by file owner. Hard links counted once.</summary>
    /// <param name="path">A directory to report on (its entries) instead of the /data overview.</param>
    /// <param name="byUser">Attribute bytes to file owners (across the shared trees, or PATH).</param>
    /// <param name="top">Only the N biggest rows.</param>
    /// <param name="cancellationToken">Cancelled on SIGINT/SIGTERM.</param>
    [Command("du")]
    public int Run([Argument] string? path = null, bool byUser = false, string? top = null, CancellationToken cancellationToken = default)
    {
        int? n = null;
        if (top is not null)
        {
            if (!int.TryParse(top, System.Globalization.NumberStyles.None, null, out var v) || v < 1)
                throw AicaException.Usage($"--top needs a positive number, got '{top}'");
            n = v;
        }
        using var s = cli.CreateServices();
        var r = new DuService(s).Run(path, byUser, n, cancellationToken);
        var o = cli.Output;
        if (cli.Options.Json)
        {
            o.Json(new DuDoc("du", r.Path, r.ByUser, [.. r.Rows.Select(x => new DuEntryRow(x.Label, x.Kind, x.Path, x.Apparent, x.Disk, x.Files))],
                r.Omitted, new DuTotal(r.Apparent, r.Disk, r.Files), [.. r.Problems]), AicaJsonContext.Default.DuDoc);
        }
        else
        {
            if (!cli.Options.Quiet) cli.Out.WriteLine($"{"on disk",10}  {"apparent",10}  {"files",9}  {(r.ByUser ? "owner" : "what")}");
            foreach (var x in r.Rows)
                o.Summary($"{Human.Bytes(x.Disk),10}  {Human.Bytes(x.Apparent),10}  {x.Files,9}  {x.Label}{(x.Kind is "owner" or "dir" or "path" || x.Path is null ? "" : $"  ({x.Kind}: {x.Path})")}");
            if (r.Omitted > 0) o.Line("", $"... {r.Omitted} smaller row(s) left out (--top)");
            foreach (var p in r.Problems) o.Problem("WARN", p);
            o.Summary($"du: {Human.Bytes(r.Disk)} on disk, {Human.Bytes(r.Apparent)} apparent, {r.Files} files{(r.Path is null ? "" : $" under {r.Path}")} (hard links counted once)");
        }
        return r.Problems.Count > 0 ? ExitCodes.Failed : ExitCodes.Ok;
    }
}
