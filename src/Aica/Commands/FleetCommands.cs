using Aica.Contracts;
using Aica.Services;
using ConsoleAppFramework;

namespace Aica.Cli.Commands;

public sealed class FleetCommands(CliContext cli)
{
    /// <summary>The nodes sharing /data, from their status files (no ssh): stale, behind, id conflicts, version skew; exit 1 when any node needs a look.</summary>
    [Command("fleet status")]
    public int Status()
    {
        using var s = cli.CreateServices();
        var r = new FleetService(s).Status();
        var o = cli.Output;
        if (cli.Options.Json)
        {
            const string Utc = "yyyy-MM-ddTHH:mm:ssZ";
            o.Json(new FleetStatusDoc(r.RegistryGeneration, r.Version, r.Now.ToString(Utc), [.. r.Nodes.Select(n => new FleetNodeRow(
                n.Host, n.File.Name, n.Ok, n.Status is not null, n.Stale, n.OtherGeneration, n.VersionSkew,
                n.Age is { } age ? Math.Round(age.TotalSeconds) : null,
                n.Status?.Version, n.Status?.GenerationApplied, n.Status?.WrittenAt.ToString(Utc),
                n.Status?.LastRecovery is { } lr ? new FleetRecoveryRow(lr.Time.ToString(Utc), lr.Status, lr.DurationMs) : null,
                n.Status?.Doctor is { } d ? new FleetDoctorRow(d.Pass, d.Warn, d.Fail) : null,
                n.Status is { } st ? [.. st.IdConflicts.Select(c => new FleetConflictRow(c.User, c.Kind, c.Registered, c.Detail))] : null,
                n.Status?.Gpus.Count, [.. n.Flags]))]), AicaJsonContext.Default.FleetStatusDoc);
            return r.ExitCode;
        }
        var w = o.Writer;
        if (!cli.Options.Quiet)
        {
            w.WriteLine($"{"NODE",-20} {"VERSION",-10} {"GEN",-6} {"LAST RECOVERY",-24} {"DOCTOR P/W/F",-13} {"GPUS",4}  {"SEEN",-8} STATE");
            foreach (var n in r.Nodes)
            {
                var st = n.Status;
                var rec = st?.LastRecovery is { } lr ? $"{lr.Status} {lr.Time:MM-dd HH:mm} {lr.DurationMs:0}ms" : "-";
                var doc = st?.Doctor is { } d ? $"{d.Pass}/{d.Warn}/{d.Fail}" : "-";
                var seen = n.Age is { } a ? FleetService.Ago(a) + " ago" : "-";
                w.WriteLine($"{Trim(n.Host, 20),-20} {Trim(st?.Version ?? "?", 10),-10} {st?.GenerationApplied?.ToString() ?? "-",-6} {rec,-24} {doc,-13} {st?.Gpus.Count ?? 0,4}  {seen,-8} {(n.Ok ? "ok" : "CHECK")}");
            }
        }
        foreach (var n in r.Nodes)
            foreach (var f in n.Flags) o.Problem("WARN", $"{n.Host}: {f}");
        o.Summary($"fleet: {r.Nodes.Count} node(s), registry generation {r.RegistryGeneration}, {r.Problems} need a look");
        return r.ExitCode;
    }

    private static string Trim(string s, int n) => s.Length <= n ? s : s[..(n - 1)] + "~";
}
