using Aica.Native;
using Aica.Site;

namespace Aica.Caches;

public enum MountStatus { Ok, Alert, Error, Skipped }

public sealed record MountUsage(string Path, MountStatus Status, long Size, long Used, long Available, int? Percent, string? Message);

public sealed record DiskReport(int Threshold, IReadOnlyList<MountUsage> Mounts, IReadOnlyList<string> Alerts, IReadOnlyList<string> Problems)
{
    public bool Failed => Mounts.Any(m => m.Status == MountStatus.Error);
    /// <summary>1 when a mount could not be measured (a failure keeps its code), else 5 when an alert was raised, else 0.</summary>
    public int ExitCode => Failed ? ExitCodes.Failed : Alerts.Count > 0 ? ExitCodes.Alert : ExitCodes.Ok;
}

/// <summary>
/// <c>aica disk</c>: statvfs of each watched mount, the percentage as df computes it (used / (used + available),
/// rounded up), and above the threshold an alert line to stdout, /var/log and the persistent log on /data.
/// </summary>
public sealed class DiskService(AicaServices s)
{
    public const string AlertLog = "/var/log/aica-disk-alert.log";
    public const string PersistentAlertLog = "/data/admin/log/aica-disk-alert.log";
    /// <summary>Watched by default only when it is mounted.</summary>
    public const string OptionalMount = "/backup";

    /// <summary>df's Use%: ceil(100 × used / (used + available)); null when the file system has no blocks.</summary>
    public static int? Percent(ulong used, ulong available)
    {
        var total = used + available;
        if (total == 0) return null;
        var u100 = (UInt128)used * 100;
        return (int)(u100 / total + (u100 % total != 0 ? 1UL : 0UL));
    }

    public static string AlertLine(string time, string mount, int pct, int threshold) =>
        $"[ALERT] {time} - {mount} disk usage: {pct}% (threshold: {threshold}%)";

    /// <param name="notify">Tell disk.notify / disk.mail about the alerts (not for a member's sudo aica disk: they could page the admin at will).</param>
    public DiskReport Run(int? threshold, bool dryRun, bool notify = true)
    {
        if (threshold is < 1 or > 99) throw AicaException.Usage($"--threshold must be 1–99, got {threshold}");
        var config = s.LoadConfig();
        var t = threshold ?? config.DiskThreshold;
        var mounts = new List<MountUsage>();
        var alerts = new List<string>();
        var problems = new List<string>();
        var time = s.Clock.LogTime();
        foreach (var path in config.DiskWatch.Distinct())
        {
            MountUsage m;
            try { m = Measure(path, t); }
            catch (Exception e) when (e is SysException or ArgumentException) { m = new MountUsage(path, MountStatus.Error, 0, 0, 0, null, e.Message); }
            mounts.Add(m);
            if (m.Status == MountStatus.Alert) alerts.Add(AlertLine(time, path, m.Percent!.Value, t));
        }
        if (!dryRun && alerts.Count > 0)
        {
            foreach (var a in alerts)
            {
                Append(AlertLog, a, problems);
                // Never create the persistent log on an SSD directory standing in for a missing /data.
                if (s.DataMounted()) Append(PersistentAlertLog, a, problems);
            }
            // After the log: a hanging or failing notifier is reported, the alert is already written.
            if (notify)
                foreach (var o in new Notifier(s).Send(config, "disk-alert", $"disk usage alert on {Sys.HostName()}", string.Join("\n", alerts) + "\n").Where(o => !o.Ok))
                    problems.Add($"{o.Channel} failed: {o.Message}");
        }
        return new DiskReport(t, mounts, alerts, problems);
    }

    private MountUsage Measure(string path, int threshold)
    {
        var st = s.Fs.Lstat(path);
        if (st is null && path == OptionalMount) return new MountUsage(path, MountStatus.Skipped, 0, 0, 0, null, "not present (watched when mounted)");
        if (st is null) return new MountUsage(path, MountStatus.Error, 0, 0, 0, null, "does not exist");
        if (!s.Fs.IsMountPoint(path))
        {
            if (path == OptionalMount && s.Fs.Lstat(path) is { IsDir: true } && IsEmptyDir(path))
                return new MountUsage(path, MountStatus.Skipped, 0, 0, 0, null, "not mounted (watched when mounted)");
            return new MountUsage(path, MountStatus.Error, 0, 0, 0, null, "not a mounted file system: its figures would be the root file system's");
        }
        var u = s.Fs.StatVfs(path);
        var used = (u.Blocks - u.Free) * u.BlockSize;
        var avail = u.Available * u.BlockSize;
        var pct = Percent(u.Blocks - u.Free, u.Available);
        var status = pct is { } p && p > threshold ? MountStatus.Alert : MountStatus.Ok;
        return new MountUsage(path, status, (long)(u.Blocks * u.BlockSize), (long)used, (long)avail, pct, null);
    }

    private bool IsEmptyDir(string path)
    {
        using var fd = s.Fs.TryOpenDir(path, out _);
        return fd is not null && Sys.ReadDir(fd, path).Count == 0;
    }

    private void Append(string path, string line, List<string> problems)
    {
        try { s.Fs.AppendLine(path, line); }
        catch (Exception e) when (e is SysException or IOException or ArgumentException) { problems.Add($"cannot write {s.Fs.Host(path)}: {e.Message}"); }
    }
}
