using Aica.Services;
using ConsoleAppFramework;

namespace Aica.Cli.Commands;

public sealed class MetricsCommand(CliContext cli)
{
    /// <summary>Prometheus text: doctor by category, last recovery, watched mounts, last du per user and cache, aica_node_info. On stdout, or --textfile DIR writes DIR/aica.prom atomically for node_exporter.</summary>
    /// <param name="textfile">node_exporter's textfile collector directory (e.g. /var/lib/prometheus/node-exporter): write aica.prom there.</param>
    [Command("metrics")]
    public int Run(string? textfile = null)
    {
        using var s = cli.CreateServices();
        var metrics = new MetricsService(s);
        var text = metrics.Render(AicaApp.Version);
        if (textfile is null)
        {
            cli.Out.Write(text);
            return ExitCodes.Ok;
        }
        var path = metrics.WriteTextfile(textfile, text);
        if (cli.Options.Json)
            cli.Output.Json(j => { j.WriteStartObject(); j.WriteString("command", "metrics"); j.WriteString("textfile", path); j.WriteNumber("bytes", System.Text.Encoding.UTF8.GetByteCount(text)); j.WriteEndObject(); });
        else cli.Output.Line("OK", $"wrote {path} ({text.Count(c => c == '\n')} lines)");
        return ExitCodes.Ok;
    }
}
