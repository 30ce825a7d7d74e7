using Aica.Engine;
using Aica.Services;
using ConsoleAppFramework;

namespace Aica.Cli.Commands;

public sealed class DoctorCommand(CliContext cli)
{
    /// <summary>Every check, PASS/WARN/FAIL with a fix hint; read-only; exit 1 on any FAIL.</summary>
    /// <param name="user">-u, Only this user's checks (plus the server-wide ones).</param>
    [Command("doctor")]
    public int Run(string? user = null)
    {
        using var s = cli.CreateServices();
        var doctor = new DoctorService(s);
        doctor.Extensions.Add(Aica.Data.DataDoctor.Checks);
        doctor.Extensions.Add(Integration.IntegrationChecks.Run);
        var r = doctor.Run(user, AicaApp.Version);
        var o = cli.Output;
        if (cli.Options.Json)
        {
            o.Json(j =>
            {
                j.WriteStartObject();
                j.WriteString("version", r.Version);
                j.WriteString("host", r.Host);
                j.WriteStartArray("checks");
                foreach (var c in r.Checks)
                {
                    j.WriteStartObject();
                    j.WriteString("id", c.Id);
                    j.WriteString("status", c.Status.ToString().ToLowerInvariant());
                    j.WriteString("summary", c.Summary);
                    if (c.Details is null) j.WriteNull("details"); else j.WriteString("details", c.Details);
                    if (c.Fix is null) j.WriteNull("fix"); else j.WriteString("fix", c.Fix);
                    j.WriteNumber("duration_ms", Math.Round(c.DurationMs, 3));
                    j.WriteEndObject();
                }
                j.WriteEndArray();
                j.WriteStartObject("summary");
                j.WriteNumber("pass", r.Count(CheckStatus.Pass));
                j.WriteNumber("warn", r.Count(CheckStatus.Warn));
                j.WriteNumber("fail", r.Count(CheckStatus.Fail));
                j.WriteEndObject();
                j.WriteEndObject();
            });
        }
        else
        {
            foreach (var c in r.Checks)
            {
                var line = $"{c.Id}  {c.Summary}";
                if (c.Status == CheckStatus.Pass) { o.Line("PASS", line); continue; }
                o.Problem(Output.Status(c.Status), line);
                if (c.Details is not null && cli.Options.Verbose) o.Line("", c.Details);
                if (c.Fix is not null) o.Problem("", $"fix: {c.Fix}");
            }
            o.Summary($"doctor: {r.Count(CheckStatus.Pass)} pass, {r.Count(CheckStatus.Warn)} warn, {r.Count(CheckStatus.Fail)} fail");
        }
        return r.ExitCode;
    }
}
