using Aica.Contracts;
using Aica.Caches;
using Aica.Services;
using ConsoleAppFramework;

namespace Aica.Cli.Commands;

public sealed class DiskCommand(CliContext cli)
{
    /// <summary>Usage of the watched mounts (disk.watch); above the threshold an [ALERT] line to stdout, /var/log/aica-disk-alert.log and /data/admin/log/, disk.notify and disk.mail told, exit 5.</summary>
    /// <param name="threshold">Alert above this percentage, 1–99 (default: disk.threshold, 90).</param>
    /// <param name="dryRun">-n, Print the alert lines; write no log.</param>
    [Command("disk")]
    public int Run(string? threshold = null, bool dryRun = false)
    {
        int? t = null;
        if (threshold is not null)
        {
            if (!int.TryParse(threshold.TrimEnd('%'), System.Globalization.NumberStyles.None, null, out var v) || v is < 1 or > 99)
                throw AicaException.Usage($"--threshold must be a percentage 1–99, got '{threshold}'");
            t = v;
        }
        using var s = cli.CreateServices();
        // A member's `sudo aica disk` checks and logs, but pages nobody (sudo sets SUDO_UID; root's own sudo is 0).
        var sudoUid = Environment.GetEnvironmentVariable("SUDO_UID");
        var r = new DiskService(s).Run(t, dryRun, notify: sudoUid is null or "" or "0");
        var o = cli.Output;
        if (cli.Options.Json)
        {
            o.Json(new DiskDoc("disk", r.Threshold, dryRun,
                [.. r.Mounts.Select(m => new MountRow(m.Path, m.Status.ToString().ToLowerInvariant(), m.Percent, m.Size, m.Used, m.Available, m.Message))],
                [.. r.Alerts], [.. r.Problems]), AicaJsonContext.Default.DiskDoc);
        }
        else
        {
            foreach (var m in r.Mounts)
            {
                switch (m.Status)
                {
                    case MountStatus.Ok:
                        o.Line("OK", $"{m.Path} disk usage: {m.Percent?.ToString() ?? "-"}% (threshold: {r.Threshold}%), {Human.Bytes(m.Used)} used, {Human.Bytes(m.Available)} available of {Human.Bytes(m.Size)}");
                        break;
                    case MountStatus.Skipped: o.Line("INFO", $"{m.Path}: {m.Message}"); break;
                    case MountStatus.Error: o.Problem("FAIL", $"{m.Path}: {m.Message}"); break;
                }
            }
            // The alert line is exact (scripts and mail filters match it); it is printed even with -q.
            foreach (var a in r.Alerts) cli.Out.WriteLine(a);
            foreach (var p in r.Problems) o.Problem("WARN", p);
            o.Summary($"disk: {r.Mounts.Count(m => m.Status is MountStatus.Ok or MountStatus.Alert)} mount(s) checked, {r.Alerts.Count} alert(s), {r.Mounts.Count(m => m.Status == MountStatus.Error)} error(s){(dryRun && r.Alerts.Count > 0 ? " (dry run: no log written)" : "")}");
        }
        return r.ExitCode;
    }
}
