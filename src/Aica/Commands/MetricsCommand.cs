using Aica.Contracts;
using Aica.Site;
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
        var prom = metrics.Render(AicaApp.Version);
        var text = prom.ToString();
        if (textfile is null)
        {
            if (!cli.Options.Json) { cli.Out.Write(text); return ExitCodes.Ok; }
            cli.Output.Json(new MetricsDoc("metrics",
                [.. prom.Samples.Select(x => new MetricSampleRow(x.Name, x.Sample.Labels.ToDictionary(l => l.Name, l => l.Value),
                    double.IsFinite(x.Sample.Value) ? x.Sample.Value : null))]), AicaJsonContext.Default.MetricsDoc);
            return ExitCodes.Ok;
        }
        var path = metrics.WriteTextfile(textfile, text);
        if (cli.Options.Json)
            cli.Output.Json(new MetricsTextfileDoc("metrics", path, System.Text.Encoding.UTF8.GetByteCount(text)), AicaJsonContext.Default.MetricsTextfileDoc);
        else cli.Output.Line("OK", $"wrote {path} ({text.Count(c => c == '\n')} lines)");
        return ExitCodes.Ok;
    }
}
