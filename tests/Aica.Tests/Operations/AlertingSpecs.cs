using System.Text.Json;
using Aica.Site;
using Aica.Config;
using Aica.Engine;
using Aica.Services;
using Aica.Tests.Infra;

namespace Aica.Tests.Operations;

/// <summary>Exit codes for alerts and warnings, notify and mail settings, journald priorities: the parts without a server.</summary>
[Trait("level", "unit")]
public sealed class AlertingUnitSpecs
{
    [Fact]
    public void Strict_doctor_exit_is_6_for_warnings_and_keeps_1_for_a_fail()
    {
        CheckResult C(CheckStatus st) => new("x.y", st, "s");
        Assert.Equal(0, new DoctorReport("v", "h", [C(CheckStatus.Pass)]).StrictExitCode);
        Assert.Equal(6, new DoctorReport("v", "h", [C(CheckStatus.Pass), C(CheckStatus.Warn)]).StrictExitCode);
        Assert.Equal(0, new DoctorReport("v", "h", [C(CheckStatus.Warn)]).ExitCode);
        Assert.Equal(1, new DoctorReport("v", "h", [C(CheckStatus.Warn), C(CheckStatus.Fail)]).StrictExitCode);
    }

    [Fact]
    public void Notify_mail_and_timeout_are_config_keys_checked_with_their_line()
    {
        var ok = ConfigFile.Read("[disk]\nnotify = \"logger -t aica\"\nmail = \"admin@lab.example.org\"\nnotify_timeout = 2.5\n");
        Assert.True(ok.Valid, string.Join("; ", ok.Issues));
        Assert.Equal("logger -t aica", ok.Config.DiskNotify);
        Assert.Equal("admin@lab.example.org", ok.Config.DiskMail);
        Assert.Equal(2.5, ok.Config.DiskNotifyTimeout);
        Assert.Equal("", new AicaConfig().DiskNotify);
        Assert.Equal(30, new AicaConfig().DiskNotifyTimeout);
        // A second recipient or a header smuggled into To: is refused; so is a timeout of zero.
        var bad = ConfigFile.Read("[disk]\nmail = \"a@b.org, evil@x.org\"\nnotify_timeout = 0\n");
        Assert.Contains(bad.Issues, i => i.Line == 2 && i.Message.Contains("disk.mail"));
        Assert.Contains(bad.Issues, i => i.Line == 3 && i.Message.Contains("disk.notify_timeout"));
        // init's file round-trips the new keys.
        Assert.True(ConfigFile.Read(new AicaConfig { DiskMail = "root", DiskNotifyTimeout = 0.5 }.Render()).Valid);
    }

    [Fact]
    public void The_mail_has_the_recipient_and_a_one_line_subject_in_its_headers()
    {
        var m = Notifier.Mail("admin@lab.org", "disk usage alert on gpu1\nBcc: x@y", "[ALERT] ...");
        Assert.StartsWith("To: admin@lab.org\nSubject: [aica] disk usage alert on gpu1 Bcc: x@y\n", m);
        Assert.EndsWith("\n\n[ALERT] ...\n", m);
    }

    [Theory]
    [InlineData("[FAIL] /data: does not exist", 3)]
    [InlineData("[ERROR] x", 3)]
    [InlineData("aica disk: --threshold must be 1-99", 3)]
    [InlineData("aica: unknown command 'x'", 3)]
    [InlineData("[WARN] cannot write", 4)]
    [InlineData("[ALERT] 2026-01-01 - /data disk usage: 95%", 4)]
    [InlineData("Usage: aica <command>", 6)]
    [InlineData("aicanot: x", 6)]
    public void Each_stderr_line_gets_the_priority_its_tag_says(string line, int priority) =>
        Assert.Equal(priority, Cli.JournalPriorities.Of(System.Text.Encoding.UTF8.GetBytes(line)));

    [Fact]
    public void Only_a_journal_stream_naming_stderr_itself_turns_prefixes_on()
    {
        Assert.True(Cli.JournalPriorities.Matches("2049:1234", (2049, 1234)));
        Assert.False(Cli.JournalPriorities.Matches("2049:1235", (2049, 1234)));
        Assert.False(Cli.JournalPriorities.Matches(null, (2049, 1234)));
        Assert.False(Cli.JournalPriorities.Matches("garbage", (2049, 1234)));
        var ms = new MemoryStream();
        var w = new Cli.JournalPriorities.PrefixStream(ms);
        w.Write("[FAIL] a\n[WARN] b\nplain "u8);
        w.Write("tail\n"u8);
        Assert.Equal("<3>[FAIL] a\n<4>[WARN] b\n<6>plain tail\n", System.Text.Encoding.UTF8.GetString(ms.ToArray()));
    }
}

/// <summary>Black-box: disk and doctor exit codes, notify (hanging, failing, working), notify --failed-unit, journald prefixes.</summary>
[Trait("level", "blackbox")]
public sealed class AlertingSpecs
{
    private static Sandbox Server(string diskToml = "")
    {
        var sb = Sandbox.Initialised();
        if (diskToml.Length > 0)
            File.WriteAllText(sb.P("/data/config/aica.toml"), File.ReadAllText(sb.P("/data/config/aica.toml")).Replace("[disk]\n", "[disk]\n" + diskToml + "\n"));
        return sb;
    }

    private static string Set(string key, string value) => $"{key} = {ConfigFile.Quote(value)}";

    [Fact]
    public void Disk_exits_5_on_an_alert_and_doctor_strict_6_on_warnings_1_on_a_fail()
    {
        using var sb = Server();
        var calm = sb.Aica("disk", "--threshold", "99");
        Assert.True(calm.ExitCode == 0, calm.ToString());
        var alert = sb.Aica("disk", "--threshold", "1", "-q");
        Assert.True(alert.ExitCode == 5, alert.ToString());
        Assert.Contains("[ALERT]", alert.StdOut);

        // After init, no recovery is recorded yet: a WARN (recovery.last), no FAIL.
        var doctor = sb.Aica("doctor");
        Assert.True(doctor.ExitCode == 0, doctor.ToString());
        Assert.Contains("[WARN]", doctor.StdOut);
        Assert.Equal(6, sb.Aica("doctor", "--strict").ExitCode);
        File.Delete(sb.P("/etc/cron.d/aica"));
        Assert.Equal(1, sb.Aica("doctor", "--strict").ExitCode);
    }

    [Fact]
    public void A_hanging_notify_command_is_killed_at_the_timeout_reported_and_the_alert_is_still_logged()
    {
        using var sb = Server();
        var pidFile = sb.P("/tmp/notify.pid");
        File.WriteAllText(sb.P("/data/config/aica.toml"), File.ReadAllText(sb.P("/data/config/aica.toml"))
            .Replace("notify = \"\"", Set("notify", $"echo $$ > '{pidFile}'; exec sleep 600")).Replace("notify_timeout = 30", "notify_timeout = 0.3"));
        Assert.True(sb.Aica("config", "check").ExitCode == 0);
        // Bounded by the run's own timeout: a notifier that is not killed keeps aica waiting for 600 s and fails this.
        var r = Tools.Run(Tools.AicaBin, ["--root", sb.Root, "disk", "--threshold", "1"], timeoutSeconds: 30);
        Assert.True(r.ExitCode == 5, r.ToString());
        Assert.Contains("[WARN] disk.notify failed: timed out after 0.3 s (disk.notify_timeout) and was killed", r.StdErr);
        Assert.Contains("/data disk usage:", File.ReadAllText(sb.P("/data/admin/log/aica-disk-alert.log")));
        Assert.Contains("notify: disk.notify: timed out", File.ReadAllText(sb.P("/data/admin/log/aica.log")));
        var pid = File.ReadAllText(pidFile).Trim();
        var stat = $"/proc/{pid}/stat";
        Assert.True(!File.Exists(stat) || File.ReadAllText(stat).Split(") ")[1].StartsWith('Z'), $"notify command {pid} still runs");
    }

    [Fact]
    public void A_failing_notify_command_is_reported_and_a_working_one_gets_the_alert_on_stdin_with_aica_variables()
    {
        using var sb = Server();
        var toml = File.ReadAllText(sb.P("/data/config/aica.toml"));
        File.WriteAllText(sb.P("/data/config/aica.toml"), toml.Replace("notify = \"\"", Set("notify", "echo relay down >&2; exit 7")));
        var failed = sb.Aica("disk", "--threshold", "1");
        Assert.True(failed.ExitCode == 5, failed.ToString());
        Assert.Contains("[WARN] disk.notify failed: exit 7: relay down", failed.StdErr);
        Assert.Contains("/data disk usage:", File.ReadAllText(sb.P("/var/log/aica-disk-alert.log")));

        var got = sb.P("/tmp/got");
        File.WriteAllText(sb.P("/data/config/aica.toml"), toml.Replace("notify = \"\"", Set("notify", $"cat > '{got}'; echo \"$AICA_EVENT|$AICA_SUBJECT\" >> '{got}'")));
        var ok = sb.Aica("disk", "--threshold", "1");
        Assert.True(ok.ExitCode == 5, ok.ToString());
        Assert.DoesNotContain("notify", ok.StdErr);
        var text = File.ReadAllText(got);
        Assert.Matches(@"^\[ALERT\] .* - /data disk usage: \d+% \(threshold: 1%\)\ndisk-alert\|disk usage alert on ", text);

        // A member's sudo aica disk logs the alert but pages nobody.
        File.Delete(got);
        var member = Tools.Run(Tools.AicaBin, ["--root", sb.Root, "disk", "--threshold", "1"], new Dictionary<string, string> { ["SUDO_UID"] = "3001" });
        Assert.Equal(5, member.ExitCode);
        Assert.False(File.Exists(got));
    }

    [Fact]
    public void Notify_failed_unit_sends_unit_failed_on_host_through_the_same_notifier()
    {
        using var sb = Server();
        var toml = File.ReadAllText(sb.P("/data/config/aica.toml"));
        var got = sb.P("/tmp/got");
        File.WriteAllText(sb.P("/data/config/aica.toml"), toml.Replace("notify = \"\"", Set("notify", $"cat > '{got}'; echo \"$AICA_EVENT\" >> '{got}'")));
        var r = sb.Aica("notify", "--failed-unit", "aica-recovery.service");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains($"[FAIL] aica-recovery.service failed on {Environment.MachineName}", r.StdErr);
        Assert.StartsWith($"aica-recovery.service failed on {Environment.MachineName} at ", File.ReadAllText(got));
        Assert.EndsWith("unit-failed\n", File.ReadAllText(got));
        Assert.Contains("notify: aica-recovery.service failed on", File.ReadAllText(sb.P("/data/admin/log/aica.log")));

        File.WriteAllText(sb.P("/data/config/aica.toml"), toml.Replace("notify = \"\"", Set("notify", "exit 3")));
        var failed = sb.Aica("notify", "--failed-unit", "aica-recovery.service", "--json");
        Assert.True(failed.ExitCode == 1, failed.ToString());
        var ch = JsonDocument.Parse(failed.StdOut).RootElement.GetProperty("channels")[0];
        Assert.Equal("failed", ch.GetProperty("status").GetString());

        Assert.Equal(2, sb.Aica("notify", "--failed-unit", "x; rm -rf /").ExitCode);
        Assert.Equal(2, sb.Aica("notify").ExitCode);
    }

    [Fact]
    public void Under_journald_stderr_lines_carry_priorities_elsewhere_they_do_not()
    {
        using var sb = Server();
        var err = sb.P("/tmp/stderr");
        File.WriteAllText(err, "");
        var id = Tools.Sh($"stat -c %d:%i '{err}'").StdOut.Trim();
        var script = $"'{Tools.AicaBin}' --root '{sb.Root}' disk --threshold 1 2>> '{err}'; '{Tools.AicaBin}' --root '{sb.Root}' nosuch 2>> '{err}'; true";
        Tools.Sh(script, new Dictionary<string, string> { ["JOURNAL_STREAM"] = id });
        File.WriteAllText(sb.P("/data/config/aica.toml"), File.ReadAllText(sb.P("/data/config/aica.toml")).Replace("notify = \"\"", Set("notify", "exit 9")));
        Tools.Sh($"'{Tools.AicaBin}' --root '{sb.Root}' disk --threshold 1 2>> '{err}'", new Dictionary<string, string> { ["JOURNAL_STREAM"] = id });
        var lines = File.ReadAllLines(err);
        Assert.Contains("<3>aica: unknown command 'nosuch'", lines);
        Assert.Contains(lines, l => l.StartsWith("<6>Usage: aica"));
        Assert.Contains("<4>[WARN] disk.notify failed: exit 9", lines);
        Assert.All(lines, l => Assert.Matches("^<[346]>", l));

        // The variable inherited by something that is not the journal (here: another file) changes nothing.
        var plain = Tools.Sh($"'{Tools.AicaBin}' --root '{sb.Root}' nosuch", new Dictionary<string, string> { ["JOURNAL_STREAM"] = id });
        Assert.StartsWith("aica: unknown command", plain.StdErr);
    }
}
