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
            o.Json(j =>
            {
                j.WriteStartObject();
                j.WriteString("command", "du");
                if (r.Path is null) j.WriteNull("path"); else j.WriteString("path", r.Path);
                j.WriteBoolean("by_user", r.ByUser);
                j.WriteStartArray("rows");
                foreach (var x in r.Rows)
                {
                    j.WriteStartObject();
                    j.WriteString("name", x.Label);
                    j.WriteString("kind", x.Kind);
                    if (x.Path is null) j.WriteNull("path"); else j.WriteString("path", x.Path);
                    j.WriteNumber("apparent_bytes", x.Apparent);
                    j.WriteNumber("disk_bytes", x.Disk);
                    j.WriteNumber("files", x.Files);
                    j.WriteEndObject();
                }
                j.WriteEndArray();
                j.WriteNumber("omitted", r.Omitted);
                j.WriteStartObject("total");
                j.WriteNumber("apparent_bytes", r.Apparent);
                j.WriteNumber("disk_bytes", r.Disk);
                j.WriteNumber("files", r.Files);
                j.WriteEndObject();
                j.WriteStartArray("problems"); foreach (var p in r.Problems) j.WriteStringValue(p); j.WriteEndArray();
                j.WriteEndObject();
            });
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
