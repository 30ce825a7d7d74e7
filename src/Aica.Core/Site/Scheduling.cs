using System.Text;
using Aica.Config;
using Aica.Engine;
using Aica.IO;
using Aica.Native;
using static Aica.Native.Perms;

namespace Aica.Site;

/// <summary>What starts aica's scheduled jobs on a server: systemd timers where systemd is the init, cron elsewhere. Never both.</summary>
public enum SchedulerKind { Systemd, Cron }

/// <param name="Why">How it was decided, in words (doctor shows it).</param>
public sealed record Scheduler(SchedulerKind Kind, string Why)
{
    public bool IsSystemd => Kind == SchedulerKind.Systemd;

    /// <summary>
    /// The running system (<c>/</c>): systemd is PID 1 when <c>/run/systemd/system</c> exists (sd_booted(3)). Another
    /// root (<c>--root</c>, <c>init --image</c>) is not running: what counts is the init it boots, its
    /// <c>/sbin/init</c> (or <c>/usr/sbin/init</c>, merged /usr) being a link to systemd (Debian's systemd-sysv).
    /// </summary>
    public static Scheduler Detect(RootedFs fs)
    {
        if (fs.IsRealRoot)
            return fs.Lstat("/run/systemd/system") is { IsDir: true }
                ? new(SchedulerKind.Systemd, "systemd is PID 1 (/run/systemd/system exists)")
                : new(SchedulerKind.Cron, "systemd is not running here (no /run/systemd/system)");
        foreach (var init in new[] { "/sbin/init", "/usr/sbin/init" })
        {
            string? target;
            try { target = fs.ReadLink(init); }
            catch (SysException) { continue; } // /sbin is itself a link (merged /usr): the next path is the real one
            if (target is not null && Path.GetFileName(target) == "systemd")
                return new(SchedulerKind.Systemd, $"{fs.Host(init)} is systemd ({target})");
        }
        return new(SchedulerKind.Cron, $"the init of {fs.Root} is not systemd (no /sbin/init link to systemd)");
    }
}

/// <summary>
/// One job aica runs on a schedule: a row of <see cref="ScheduledJobs.For"/>. Rendered as a systemd timer and service
/// (<c>aica-NAME.timer</c>, <c>aica-NAME.service</c>) or as a line of <c>/etc/cron.d/aica</c>.
/// </summary>
/// <param name="Schedule">When, in cron's five fields (minute hour day-of-month month day-of-week); the timer's OnCalendar is derived.</param>
/// <param name="Args">aica's arguments (the binary is the configured install path).</param>
/// <param name="Description">What it is for, in a few words (the cron comment, the units' Description=).</param>
public sealed record ScheduledJob(string Name, string Schedule, string Args, string Description, UnitSandbox Sandbox)
{
    public string Unit => $"aica-{Name}";
    public string ServicePath => $"{SystemdUnits.Dir}/{Unit}.service";
    public string TimerPath => $"{SystemdUnits.Dir}/{Unit}.timer";
    public string WantsPath => $"{SystemdUnits.TimersWants}/{Unit}.timer";
    public string OnCalendar => CronSchedule.ToOnCalendar(Schedule);
    /// <summary>The units' Description=.</summary>
    public string Title => $"aica {Name}: {Description}";
    /// <summary>An exit status that reports a finding the job has already acted on (not a failure for OnFailure=).</summary>
    public int? AlertExit { get; init; }

    /// <summary>
    /// Run every this many seconds after the last run (the timer's OnUnitActiveSec=, spread a little) rather than at
    /// the calendar times of <see cref="Schedule"/>, which then only serves cron (whole minutes: see <see cref="CronSchedule.Every"/>).
    /// </summary>
    public int? EverySeconds { get; init; }

    /// <summary>
    /// Whether a failed run starts aica-notify@ (OnFailure=). Off for a job that fails at every run until an admin
    /// acts, where doctor and <c>aica fleet status</c> already show why: one page per run is noise.
    /// </summary>
    public bool NotifyOnFailure { get; init; } = true;
}

/// <summary>
/// The table of aica's scheduled jobs (docs/scheduling.md). A new job is one more row: its name (the units are
/// aica-NAME.timer/.service), cron schedule, aica's arguments, description and sandbox (a job that writes outside
/// /data adds those paths with <see cref="UnitSandbox.WithWrites"/>). init, recover, doctor and the cron file follow.
/// </summary>
public static class ScheduledJobs
{
    public static IReadOnlyList<ScheduledJob> For(AicaConfig c) =>
    [
        new("clean", "17 3 * * *", "clean --all --older-than 30 -q", "daily: caches unused for 30 days",
            UnitSandbox.Maintenance(c, homes: true)),
        // exit 5 is "alert raised": disk notified already, so OnFailure= must not page a second time
        new("disk", "5 * * * *", "disk -q", "hourly: disk usage alert", UnitSandbox.Notifier(c)) { AlertExit = ExitCodes.Alert },
        new("accounts-capture", "41 * * * *", "accounts capture -q",
            "hourly: account state (password hashes, locks, groups of registered users) onto /data, so a full reset loses none of it",
            UnitSandbox.Maintenance(c, homes: false)),
        new("du", "47 2 * * *", "du -q", "daily: usage per user, cache and dataset, kept in /data/admin/du-last.json for aica metrics (a scrape never walks /data)",
            UnitSandbox.Maintenance(c, homes: false)),
        new("metrics", "*/5 * * * *", $"metrics --textfile {MetricsTextfileDir} -q", "every 5 minutes: Prometheus metrics for node_exporter's textfile collector",
            UnitSandbox.Maintenance(c, homes: true).WithWrites("-" + MetricsTextfileDir)),
        // sync runs recover when another node changed the registry: recover's sandbox. A user this node cannot apply
        // fails every run until the admin acts; fleet.conflicts and aica fleet status show it, so no page per run.
        new("sync", CronSchedule.Every(c.SyncIntervalSeconds), "sync -q",
            $"every {c.SyncIntervalSeconds} s (fleet.sync_interval): follow registry changes made on other nodes sharing /data",
            UnitSandbox.Recovery(c)) { EverySeconds = c.SyncIntervalSeconds, NotifyOnFailure = false },
    ];

    /// <summary>Debian's prometheus-node-exporter reads its textfile collector's files here.</summary>
    public const string MetricsTextfileDir = "/var/lib/prometheus/node-exporter";

    /// <summary>The cron lines of the jobs (what /etc/cron.d/aica holds where cron is the scheduler).</summary>
    public static string CronLines(AicaConfig c)
    {
        var sb = new StringBuilder();
        foreach (var j in For(c))
        {
            sb.Append("# ").Append(j.Description).Append('\n');
            sb.Append(j.Schedule).Append(" root ").Append(c.InstallPath).Append(' ').Append(j.Args)
                .Append(" >> ").Append(c.LogDir).Append("/aica-cron.log 2>&1\n");
        }
        return sb.ToString();
    }
}

/// <summary>cron's five fields as systemd's OnCalendar (numbers, <c>*</c>, lists, ranges and steps).</summary>
public static class CronSchedule
{
    /// <summary>
    /// The nearest cron schedule to "every <paramref name="seconds"/>": cron counts whole minutes and steps within the
    /// hour (or the day), so 30 s runs every minute, 300 s at every fifth minute, 7200 s at every second hour.
    /// </summary>
    public static string Every(int seconds)
    {
        var minutes = Math.Max(1, (seconds + 30) / 60);
        if (minutes < 60) return minutes == 1 ? "* * * * *" : $"*/{minutes} * * * *";
        var hours = Math.Min(24, (minutes + 30) / 60);
        return hours >= 24 ? "0 0 * * *" : hours == 1 ? "0 * * * *" : $"0 */{hours} * * *";
    }

    private static readonly string[] Days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

    public static string ToOnCalendar(string cron)
    {
        var f = cron.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (f.Length != 5) throw new ArgumentException($"cron schedule needs 5 fields: {cron}");
        var dow = f[4] == "*" ? "" : Field(f[4], v => Days[int.Parse(v, System.Globalization.CultureInfo.InvariantCulture)]) + " ";
        return $"{dow}*-{Field(f[3], Num)}-{Field(f[2], Num)} {Field(f[1], Num)}:{Field(f[0], Num)}:00";
    }

    private static string Num(string v) => int.Parse(v, System.Globalization.CultureInfo.InvariantCulture).ToString("00", System.Globalization.CultureInfo.InvariantCulture);

    private static string Field(string field, Func<string, string> value) =>
        string.Join(',', field.Split(',').Select(part =>
        {
            if (part == "*") return "*";
            if (part.StartsWith("*/", StringComparison.Ordinal)) return "00/" + int.Parse(part[2..], System.Globalization.CultureInfo.InvariantCulture);
            var range = part.Split('-');
            return range.Length == 2 ? $"{value(range[0])}..{value(range[1])}" : value(part);
        }));
}

/// <summary>The scheduled jobs and the boot units as desired-state items, for the scheduler the server has.</summary>
public static class SchedulingItems
{
    /// <summary>
    /// With systemd: every job's service, timer and enable link, the notify template, the boot units' enable links, and
    /// no cron file. With cron: the cron file and none of the job units (so no job ever runs twice).
    /// </summary>
    public static IEnumerable<Item> For(AicaConfig c, Scheduler scheduler)
    {
        var jobs = ScheduledJobs.For(c);
        var notify = $"{SystemdUnits.Dir}/{SystemdUnits.NotifyTemplate}";
        if (scheduler.IsSystemd)
        {
            yield return new LinkItem(Templates.UnitWantsPath, Templates.UnitPath, "unit.enabled");
            yield return new LinkItem(Templates.CaptureWantsPath, Templates.CapturePath, "unit.enabled");
            yield return new FileItem(notify, SystemdUnits.Notify(c), O(644), "schedule.unit");
            foreach (var j in jobs)
            {
                yield return new FileItem(j.ServicePath, SystemdUnits.JobService(c, j), O(644), "schedule.unit");
                yield return new FileItem(j.TimerPath, SystemdUnits.Timer(j), O(644), "schedule.unit");
                yield return new LinkItem(j.WantsPath, j.TimerPath, "schedule.enabled");
            }
            yield return new AbsentItem(Templates.CronPath, Removal.Remove, "cron.file", "systemd timers run aica's jobs here") { Severity = CheckStatus.Fail, HiddenWhenAbsent = true };
        }
        else
        {
            yield return new FileItem(Templates.CronPath, Templates.Cron(c), O(644), "cron.file");
            const string why = "cron runs aica's jobs here";
            foreach (var j in jobs)
            {
                yield return new AbsentItem(j.WantsPath, Removal.Remove, "schedule.enabled", why) { Severity = CheckStatus.Fail, HiddenWhenAbsent = true };
                yield return new AbsentItem(j.TimerPath, Removal.Remove, "schedule.unit", why) { Severity = CheckStatus.Fail, HiddenWhenAbsent = true };
                yield return new AbsentItem(j.ServicePath, Removal.Remove, "schedule.unit", why) { Severity = CheckStatus.Fail, HiddenWhenAbsent = true };
            }
            yield return new AbsentItem(notify, Removal.Remove, "schedule.unit", why) { Severity = CheckStatus.Fail, HiddenWhenAbsent = true };
        }
    }

    /// <summary>The units a running systemd must start after they were written: the capture unit and every job's timer.</summary>
    public static IReadOnlyList<string> ToStart(AicaConfig c) =>
        [Templates.CaptureUnitName, .. ScheduledJobs.For(c).Select(j => j.Unit + ".timer")];
}
