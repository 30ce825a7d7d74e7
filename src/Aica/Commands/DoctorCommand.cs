using Aica.Contracts;
using Aica.Engine;
using Aica.Services;
using ConsoleAppFramework;

namespace Aica.Cli.Commands;

public sealed class DoctorCommand(CliContext cli)
{
    /// <summary>Read-only checks: one line per area plus every WARN/FAIL with its fix (-v: every check); exit 1 on any FAIL. As a member: your own setup only.</summary>
    /// <param name="user">-u, Only this user's checks (plus the server-wide ones).</param>
    /// <param name="strict">Exit 6 when warnings were found (a FAIL stays exit 1).</param>
    [Command("doctor")]
    public int Run(string? user = null, bool strict = false)
    {
        using var s = cli.CreateServices();
        var doctor = DoctorService.WithAllChecks(s);
        // A member (not root) gets their own view (or --user's): what they can check, without permission noise.
        var r = Native.Sys.Euid != 0 ? doctor.RunMember((int)Native.Sys.Euid, user, AicaApp.Version) : doctor.Run(user, AicaApp.Version);
        var o = cli.Output;
        if (cli.Options.Json)
        {
            o.Json(new DoctorDoc(r.Version, r.Host,
                [.. r.Checks.Select(c => new DoctorCheckRow(c.Id, c.Status.ToString().ToLowerInvariant(), c.Summary, c.Details, c.Fix, Math.Round(c.DurationMs, 3)))],
                new StatusCounts(r.Count(CheckStatus.Pass), r.Count(CheckStatus.Warn), r.Count(CheckStatus.Fail))), AicaJsonContext.Default.DoctorDoc);
        }
        else Render(r, o);
        return strict ? r.StrictExitCode : r.ExitCode;
    }

    /// <summary>
    /// Like flutter/brew doctor: the areas where every check passes share a few lines ("data 3 · tree 21 · ...", the
    /// area being the check id's prefix), each area with a problem gets its own line followed by each WARN/FAIL as
    /// "[TAG] id  summary" and its fix; -v lists every check instead. The report is the command's product: all stdout.
    /// </summary>
    private void Render(DoctorReport r, Output o)
    {
        var verbose = cli.Options.Verbose;
        if (r.Member is { } me) o.Line("", $"doctor for {me} (a member's view; sudo aica doctor checks the whole server)");
        var areas = r.Checks.GroupBy(c => DoctorReport.Area(c.Id)).Select(g => (Name: g.Key, Checks: g.ToList())).ToList();
        if (!verbose)
        {
            var healthy = areas.Where(a => a.Checks.All(c => c.Status == CheckStatus.Pass)).Select(a => $"{a.Name} {a.Checks.Count}").ToList();
            if (healthy.Count > 0) o.Report("PASS", Wrap(healthy, " · ", 80 - 7));
        }
        foreach (var (name, list) in areas)
        {
            int pass = list.Count(c => c.Status == CheckStatus.Pass), warn = list.Count(c => c.Status == CheckStatus.Warn), fail = list.Count(c => c.Status == CheckStatus.Fail);
            if (!verbose)
            {
                if (warn + fail == 0) continue;
                o.Report(Output.Status(fail > 0 ? CheckStatus.Fail : CheckStatus.Warn),
                    $"{name,-10} {pass} pass" + (warn > 0 ? $", {warn} warn" : "") + (fail > 0 ? $", {fail} fail" : ""));
            }
            foreach (var c in list)
            {
                if (c.Status == CheckStatus.Pass && !verbose) continue;
                o.Report(Output.Status(c.Status), $"{c.Id}  {c.Summary}");
                if (c.Status == CheckStatus.Pass) continue;
                if (c.Details is not null && verbose) o.Report("", c.Details);
                if (c.Fix is not null) o.Report("", $"fix: {c.Fix}");
            }
        }
        var tail = r.NeedRoot > 0 ? $"; {r.NeedRoot} check{(r.NeedRoot == 1 ? "" : "s")} need root" : "";
        o.Summary($"doctor: {r.Count(CheckStatus.Pass)} pass, {r.Count(CheckStatus.Warn)} warn, {r.Count(CheckStatus.Fail)} fail{tail}{(verbose ? "" : " (-v: every check)")}");
    }

    /// <summary>Items joined on lines of at most <paramref name="width"/> columns, the next lines indented under the first.</summary>
    private static string Wrap(IEnumerable<string> items, string sep, int width)
    {
        var lines = new List<string> { "" };
        foreach (var item in items)
        {
            if (lines[^1].Length > 0 && lines[^1].Length + sep.Length + item.Length > width) lines.Add("");
            lines[^1] += (lines[^1].Length > 0 ? sep : "") + item;
        }
        return string.Join("\n       ", lines);
    }
}
