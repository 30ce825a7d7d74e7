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
            o.Json(j =>
            {
                j.WriteStartObject();
                j.WriteNumber("registry_generation", r.RegistryGeneration);
                j.WriteString("version", r.Version);
                j.WriteString("time", r.Now.ToString("yyyy-MM-ddTHH:mm:ssZ"));
                j.WriteStartArray("nodes");
                foreach (var n in r.Nodes)
                {
                    j.WriteStartObject();
                    j.WriteString("host", n.Host);
                    j.WriteString("file", n.File.Name);
                    j.WriteBoolean("ok", n.Ok);
                    j.WriteBoolean("readable", n.Status is not null);
                    j.WriteBoolean("stale", n.Stale);
                    j.WriteBoolean("other_generation", n.OtherGeneration);
                    j.WriteBoolean("version_skew", n.VersionSkew);
                    if (n.Age is { } age) j.WriteNumber("age_s", Math.Round(age.TotalSeconds)); else j.WriteNull("age_s");
                    if (n.Status is { } st)
                    {
                        j.WriteString("version", st.Version);
                        if (st.GenerationApplied is { } g) j.WriteNumber("generation_applied", g); else j.WriteNull("generation_applied");
                        j.WriteString("written_at", st.WrittenAt.ToString("yyyy-MM-ddTHH:mm:ssZ"));
                        if (st.LastRecovery is { } lr)
                        {
                            j.WriteStartObject("last_recovery");
                            j.WriteString("time", lr.Time.ToString("yyyy-MM-ddTHH:mm:ssZ"));
                            j.WriteString("status", lr.Status);
                            j.WriteNumber("duration_ms", lr.DurationMs);
                            j.WriteEndObject();
                        }
                        else j.WriteNull("last_recovery");
                        if (st.Doctor is { } d)
                        {
                            j.WriteStartObject("doctor");
                            j.WriteNumber("pass", d.Pass); j.WriteNumber("warn", d.Warn); j.WriteNumber("fail", d.Fail);
                            j.WriteEndObject();
                        }
                        else j.WriteNull("doctor");
                        j.WriteStartArray("id_conflicts");
                        foreach (var c in st.IdConflicts)
                        {
                            j.WriteStartObject();
                            j.WriteString("user", c.User); j.WriteString("kind", c.Kind); j.WriteNumber("registered", c.Registered); j.WriteString("detail", c.Detail);
                            j.WriteEndObject();
                        }
                        j.WriteEndArray();
                        j.WriteNumber("gpus", st.Gpus.Count);
                    }
                    j.WriteStartArray("problems"); foreach (var f in n.Flags) j.WriteStringValue(f); j.WriteEndArray();
                    j.WriteEndObject();
                }
                j.WriteEndArray();
                j.WriteEndObject();
            });
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
