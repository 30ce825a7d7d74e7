using System.Text.Json;
using System.Text.RegularExpressions;
using Aica.Config;
using Aica.Engine;
using Aica.Site;
using Aica.Tests.Infra;

namespace Aica.Tests.Foundation;

/// <summary>
/// issue 13: one table of scheduled jobs, rendered as systemd timers where systemd is the init and as the cron file
/// elsewhere, never both; derived state that recover rebuilds and doctor checks; the units' sandbox. Booted for real in
/// Boot/RealBootSpecs (timers running, a failing job starting aica-notify@, the exposure score inside the node).
/// </summary>
public sealed class SchedulingSpecs
{
    private static readonly AicaConfig Defaults = new();

    [Theory]
    [Trait("level", "unit")]
    [InlineData("17 3 * * *", "*-*-* 03:17:00")]
    [InlineData("5 * * * *", "*-*-* *:05:00")]
    [InlineData("0 4 * * 0", "Sun *-*-* 04:00:00")]
    [InlineData("*/15 * * * 1-5", "Mon..Fri *-*-* *:00/15:00")]
    [InlineData("30 2 1,15 * *", "*-*-01,15 02:30:00")]
    public void A_cron_schedule_becomes_the_same_OnCalendar(string cron, string onCalendar) =>
        Assert.Equal(onCalendar, CronSchedule.ToOnCalendar(cron));

    [Fact]
    [Trait("level", "unit")]
    public void Every_row_of_the_table_is_a_cron_line_and_a_timer_with_its_service()
    {
        var jobs = ScheduledJobs.For(Defaults);
        var cron = Templates.Cron(Defaults).Split('\n').Where(l => Regex.IsMatch(l, @"^[0-9*]")).ToList();
        Assert.Equal(jobs.Count, cron.Count);
        var units = SchedulingItems.For(Defaults, new Scheduler(SchedulerKind.Systemd, "test")).OfType<FileItem>().ToDictionary(i => i.Path, i => System.Text.Encoding.UTF8.GetString(i.Content));
        foreach (var j in jobs)
        {
            Assert.Contains($"{j.Schedule} root /data/bin/aica {j.Args} >> /data/admin/log/aica-cron.log 2>&1", cron);
            Assert.Contains($"ExecStart=/data/bin/aica {j.Args}\n", units[j.ServicePath]);
            if (j.NotifyOnFailure) Assert.Contains("OnFailure=aica-notify@%n.service\n", units[j.ServicePath]);
            else Assert.DoesNotContain("OnFailure=", units[j.ServicePath]);
            Assert.Contains("AssertPathIsMountPoint=/data\n", units[j.ServicePath]); // the sandbox's own bind of /data must not pass for the disk
            Assert.Contains(j.EverySeconds is { } every ? $"OnUnitActiveSec={every}s\n" : $"OnCalendar={j.OnCalendar}\n", units[j.TimerPath]);
            Assert.Contains("WantedBy=timers.target\n", units[j.TimerPath]);
        }
        Assert.Contains("ExecStart=/data/bin/aica notify --failed-unit %i\n", units["/etc/systemd/system/aica-notify@.service"]);
        Assert.DoesNotContain("\nOnFailure=", units["/etc/systemd/system/aica-notify@.service"]); // a failing notify starts no other
    }

    [Fact]
    [Trait("level", "unit")]
    public void Capture_at_shutdown_is_its_own_unit_not_an_ExecStop_of_recovery()
    {
        Assert.DoesNotContain("ExecStop", Templates.Unit(Defaults));
        var capture = Templates.Capture(Defaults);
        Assert.Contains("ExecStop=/data/bin/aica accounts capture -q\n", capture);
        Assert.Contains("RemainAfterExit=yes\n", capture);
        Assert.Contains("RequiresMountsFor=/data\n", capture); // stopped before /data is unmounted
        Assert.DoesNotContain("Requires=aica-recovery", capture); // runs whatever recovery's result
    }

    private static Sandbox Server(bool systemd, bool cronDaemon = true)
    {
        Require.Root();
        var sb = new Sandbox();
        Directory.CreateDirectory(sb.P("/usr/sbin"));
        if (systemd) Assert.Equal(0, Tools.Sh($"ln -s /lib/systemd/systemd '{sb.P("/usr/sbin/init")}'").ExitCode);
        if (cronDaemon) File.WriteAllText(sb.P("/usr/sbin/cron"), "");
        sb.Init();
        return sb;
    }

    private static string[] JobUnits =>
        [.. ScheduledJobs.For(Defaults).SelectMany(j => new[] { j.ServicePath, j.TimerPath, j.WantsPath }), "/etc/systemd/system/aica-notify@.service"];

    /// <summary>A file or a link (a dangling one too).</summary>
    private static bool Present(string hostPath) => File.Exists(hostPath) || new FileInfo(hostPath).LinkTarget is not null;

    private static Dictionary<string, string> Checks(Sandbox sb)
    {
        using var json = JsonDocument.Parse(sb.Aica("--json", "doctor", "-v").StdOut);
        return json.RootElement.GetProperty("checks").EnumerateArray().ToDictionary(c => c.GetProperty("id").GetString()!, c => c.GetProperty("status").GetString()!);
    }

    [Fact]
    [Trait("level", "blackbox")]
    public void Where_systemd_is_the_init_the_jobs_are_enabled_timers_and_no_cron_file_and_recover_rebuilds_them()
    {
        using var sb = Server(systemd: true);
        foreach (var p in JobUnits) Assert.True(Present(sb.P(p)), p);
        Assert.Equal("/etc/systemd/system/aica-disk.timer", new FileInfo(sb.P("/etc/systemd/system/timers.target.wants/aica-disk.timer")).LinkTarget);
        Assert.Equal("/etc/systemd/system/aica-capture.service", new FileInfo(sb.P("/etc/systemd/system/multi-user.target.wants/aica-capture.service")).LinkTarget);
        Assert.False(File.Exists(sb.P("/etc/cron.d/aica")));
        var checks = Checks(sb);
        Assert.Equal("pass", checks["schedule.runs"]);
        Assert.Equal("pass", checks["schedule.enabled:/etc/systemd/system/timers.target.wants/aica-disk.timer"]);
        Assert.DoesNotContain(checks.Keys, k => k.StartsWith("cron.file", StringComparison.Ordinal)); // absent as it should be: no line

        // A disabled timer and a cron file planted beside the timers (jobs would run twice): doctor names both, recover fixes both.
        File.Delete(sb.P("/etc/systemd/system/timers.target.wants/aica-disk.timer"));
        Directory.CreateDirectory(sb.P("/etc/cron.d"));
        File.WriteAllText(sb.P("/etc/cron.d/aica"), Templates.Cron(Defaults));
        checks = Checks(sb);
        Assert.Equal("fail", checks["schedule.enabled:/etc/systemd/system/timers.target.wants/aica-disk.timer"]);
        Assert.Equal("fail", checks["cron.file:/etc/cron.d/aica"]);
        var r = sb.Aica("recover");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.False(File.Exists(sb.P("/etc/cron.d/aica")));
        Assert.NotNull(new FileInfo(sb.P("/etc/systemd/system/timers.target.wants/aica-disk.timer")).LinkTarget);
        Assert.Equal(0, sb.Aica("doctor").ExitCode);
        Assert.DoesNotContain("[DONE]", sb.Aica("recover").StdOut); // steady: nothing to do the second time
    }

    [Fact]
    [Trait("level", "blackbox")]
    public void Where_cron_is_the_scheduler_no_job_unit_is_left_and_a_missing_cron_daemon_is_a_warning()
    {
        using var sb = Server(systemd: true);
        // The image's init is no longer systemd: the cron file comes back, every job unit and link goes.
        File.Delete(sb.P("/usr/sbin/init"));
        var r = sb.Aica("recover");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.True(File.Exists(sb.P("/etc/cron.d/aica")));
        foreach (var p in JobUnits) Assert.False(Present(sb.P(p)), $"{p} left beside the cron file");
        var checks = Checks(sb);
        Assert.Equal("pass", checks["schedule.runs"]);
        Assert.Equal("pass", checks["cron.file:/etc/cron.d/aica"]);

        File.Delete(sb.P("/usr/sbin/cron"));
        Assert.Equal("warn", Checks(sb)["schedule.runs"]);
    }

    [Fact]
    [Trait("level", "blackbox")]
    public void The_rendered_units_verify_and_their_sandbox_keeps_the_exposure_low()
    {
        if (Tools.Sh("command -v systemd-analyze").ExitCode != 0) Assert.Skip("needs systemd-analyze (Debian package systemd)");
        var dir = Directory.CreateTempSubdirectory("aica-units-").FullName;
        try
        {
            // ExecStart must exist for verify: the binary under test stands in for /data/bin/aica.
            var config = new AicaConfig { InstallPath = Tools.AicaBin };
            var files = SchedulingItems.For(config, new Scheduler(SchedulerKind.Systemd, "test")).OfType<FileItem>()
                .Select(i => (i.Path, i.Content))
                .Append((Templates.UnitPath, System.Text.Encoding.UTF8.GetBytes(Templates.Unit(config))))
                .Append((Templates.CapturePath, System.Text.Encoding.UTF8.GetBytes(Templates.Capture(config))))
                .Select(x => { var p = Path.Combine(dir, Path.GetFileName(x.Item1)); File.WriteAllBytes(p, x.Item2); return p; }).ToList();
            var verify = Tools.Run("systemd-analyze", ["verify", .. files]);
            Assert.True(verify.ExitCode == 0 && verify.All.Trim() == "", verify.ToString());
            foreach (var (unit, max) in new[] { ("aica-recovery.service", 2.0), ("aica-capture.service", 2.0), ("aica-clean.service", 2.0), ("aica-accounts-capture.service", 2.0), ("aica-disk.service", 4.5) })
            {
                var r = Tools.Run("systemd-analyze", ["security", "--offline=true", "--no-pager", Path.Combine(dir, unit)]);
                var m = Regex.Match(r.StdOut, @"Overall exposure level for \S+: ([0-9.]+)");
                Assert.True(m.Success, r.ToString());
                var level = double.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
                Assert.True(level <= max, $"{unit}: exposure {level} (was 9.6 without a sandbox)\n{r.StdOut}");
            }
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }
}
