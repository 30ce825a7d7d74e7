using System.Text.Json;
using Aica.Tests.Infra;

namespace Aica.Tests.Operations;

/// <summary>/etc/logrotate.d/aica: derived state like the other /etc files, and a file logrotate itself accepts.</summary>
[Trait("level", "blackbox")]
public sealed class LogrotateSpecs
{
    [Fact]
    public void Init_writes_it_doctor_checks_it_recover_rebuilds_it_and_logrotate_accepts_it()
    {
        using var sb = Sandbox.Initialised();
        const string path = "/etc/logrotate.d/aica";
        Assert.Equal("root:root 644 regular file", sb.Stat(path));
        var text = File.ReadAllText(sb.P(path));
        // Every log aica writes is rotated.
        foreach (var log in new[] { "/var/log/aica-recovery.log", "/var/log/aica-disk-alert.log", "/data/admin/log/aica.log", "/data/admin/log/aica-cron.log", "/data/admin/log/aica-disk-alert.log" })
            Assert.Contains(log, text);

        var lr = Tools.Run("/usr/sbin/logrotate", ["-d", "-s", sb.P("/tmp/logrotate.state"), sb.P(path)]);
        Assert.True(lr.ExitCode == 0, $"logrotate rejected the file (make deps installs logrotate): {lr}");
        Assert.DoesNotContain("error:", lr.All);
        Assert.Contains("rotating pattern: /data/admin/log/aica.log", lr.All);

        Check(sb, "pass");
        File.AppendAllText(sb.P(path), "/tmp/* { rotate 0 }\n");
        Check(sb, "fail");
        var rec = sb.Aica("recover", "-q");
        Assert.True(rec.ExitCode == 0, rec.ToString());
        Assert.Equal(text, File.ReadAllText(sb.P(path)));
        Check(sb, "pass");
    }

    private static void Check(Sandbox sb, string want)
    {
        var doc = JsonDocument.Parse(sb.Aica("doctor", "--json").StdOut).RootElement;
        var c = doc.GetProperty("checks").EnumerateArray().Single(x => x.GetProperty("id").GetString() == "logrotate.file:/etc/logrotate.d/aica");
        Assert.Equal(want, c.GetProperty("status").GetString());
    }
}
