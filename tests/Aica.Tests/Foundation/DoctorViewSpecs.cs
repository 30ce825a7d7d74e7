using System.Text.Json;
using System.Text.RegularExpressions;
using Aica.Tests.Infra;

namespace Aica.Tests.Foundation;

/// <summary>Doctor as admins know it (issue 13 point 2), and summaries that agree with the details and the log (black-box, --root).</summary>
[Trait("level", "blackbox")]
public sealed class DoctorViewSpecs
{
    private static Sandbox Server(int users)
    {
        var sb = Sandbox.Initialised();
        for (var i = 1; i <= users; i++) sb.AddUser($"u{i:000}", 3000 + i);
        Directory.CreateDirectory(sb.P("/usr/sbin"));
        File.WriteAllText(sb.P("/usr/sbin/cron"), ""); // a cron daemon "installed": the cron file runs
        Directory.CreateDirectory(sb.P("/data/apps/miniconda3/bin"));
        File.WriteAllText(sb.P("/data/apps/miniconda3/bin/conda"), "#!/bin/sh\n");
        Tools.Sh($"chmod 755 '{sb.P("/data/apps")}' '{sb.P("/data/apps/miniconda3")}' '{sb.P("/data/apps/miniconda3/bin")}' '{sb.P("/data/apps/miniconda3/bin/conda")}'");
        var r = sb.Aica("recover", "-q");
        if (r.ExitCode != 0) throw new InvalidOperationException(r.ToString());
        return sb;
    }

    private static readonly Regex Line = new(@"^\[(PASS|WARN|FAIL)\] ", RegexOptions.Compiled);

    [Fact]
    public void A_healthy_50_user_server_fits_an_80x24_screen_and_v_shows_every_check()
    {
        using var sb = Server(50);
        var r = sb.Aica("doctor");
        Assert.True(r.ExitCode == 0, r.ToString());
        var lines = r.StdOut.TrimEnd('\n').Split('\n');
        Assert.True(lines.Length <= 23, $"{lines.Length} lines:\n{r.StdOut}"); // 24 rows, one left for the prompt
        Assert.All(lines, l => Assert.True(l.Length <= 80, $"{l.Length} columns: {l}"));
        Assert.DoesNotContain("[WARN]", r.StdOut);
        Assert.Matches(@"^doctor: \d+ pass, 0 warn, 0 fail", lines[^1]);
        Assert.Equal("", r.StdErr);

        using var json = JsonDocument.Parse(sb.Aica("--json", "doctor").StdOut);
        var checks = json.RootElement.GetProperty("checks");
        Assert.True(checks.GetArrayLength() > 500, $"{checks.GetArrayLength()} checks");
        foreach (var key in new[] { "id", "status", "summary", "details", "fix", "duration_ms" }) Assert.True(checks[0].TryGetProperty(key, out _), key);
        foreach (var key in new[] { "pass", "warn", "fail" }) Assert.True(json.RootElement.GetProperty("summary").TryGetProperty(key, out _), key);
        // Every area (the id's prefix) named once with its number of checks, the numbers adding up to the whole.
        var areas = checks.EnumerateArray().GroupBy(c => Regex.Match(c.GetProperty("id").GetString()!, @"^[^.:]+").Value).ToList();
        var listed = string.Join(" · ", lines[..^1]).Replace("[PASS] ", "").Split(" · ").Select(x => x.Trim()).ToList();
        Assert.Equal(areas.Select(a => $"{a.Key} {a.Count()}").Order(), listed.Order());

        var verbose = sb.Aica("doctor", "-v").StdOut.Split('\n');
        Assert.Equal(checks.GetArrayLength(), verbose.Count(l => Line.IsMatch(l)));
    }

    [Fact]
    public void A_problem_is_shown_with_its_fix_under_its_area()
    {
        using var sb = Server(2);
        File.Delete(sb.P("/usr/sbin/cron"));
        var r = sb.Aica("doctor");
        Assert.Equal(0, r.ExitCode); // a WARN is not a failure
        var lines = r.StdOut.Split('\n');
        var i = Array.FindIndex(lines, l => l.StartsWith("[WARN] schedule.runs  /etc/cron.d/aica never runs: cron is the scheduler", StringComparison.Ordinal));
        Assert.True(i > 0, r.StdOut);
        Assert.Matches(@"^\[WARN\] schedule +0 pass, 1 warn", lines[i - 1]); // the area line, then the check
        Assert.Equal("       fix: apt install cron (or boot with systemd as init: aica then schedules systemd timers)", lines[i + 1]);
    }

    [Fact]
    public void A_member_sees_only_their_own_checks_without_permission_noise_and_exit_0()
    {
        using var sb = Server(2);
        var r = Tools.Run("setpriv", ["--reuid", "3001", "--regid", "3001", "--groups", "2500", "env", "-i", "PATH=/usr/bin:/bin",
            Tools.AicaBin, "--root", sb.Root, "doctor"]);
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.DoesNotContain("permission denied", r.All);
        Assert.DoesNotContain("[FAIL]", r.All);
        Assert.DoesNotContain("see the error; run aica doctor", r.All);
        Assert.StartsWith("       doctor for u001 (a member's view", r.StdOut);
        Assert.DoesNotContain("u002", r.StdOut); // another member's setup is not theirs to check
        Assert.Matches(@"^doctor: \d+ pass, \d+ warn, 0 fail", r.StdOut.TrimEnd().Split('\n')[^1]);

        // The same member with a broken setup of their own: a FAIL they can act on, exit 1.
        File.Delete(sb.P("/home/u001"));
        var broken = Tools.Run("setpriv", ["--reuid", "3001", "--regid", "3001", "--groups", "2500", "env", "-i", "PATH=/usr/bin:/bin",
            Tools.AicaBin, "--root", sb.Root, "doctor"]);
        Assert.True(broken.ExitCode == 1, broken.ToString());
        Assert.Contains("/home/u001", broken.StdOut);
    }

    [Fact]
    public void No_pass_for_a_file_that_does_not_exist()
    {
        using var sb = Server(1);
        string Ids() => string.Join("\n", JsonDocument.Parse(sb.Aica("--json", "doctor").StdOut).RootElement.GetProperty("checks").EnumerateArray()
            .Select(c => $"{c.GetProperty("status").GetString()} {c.GetProperty("id").GetString()}"));
        Assert.DoesNotContain(".bash_profile", Ids());
        File.WriteAllText(sb.P("/data/users/u001/.bash_profile"), "# mine\n");
        Assert.Contains("user.rc:", Ids().Split('\n').Single(l => l.Contains(".bash_profile")));
    }

    [Fact]
    public void Doctor_names_why_the_last_recovery_failed_and_recover_counts_registry_problems()
    {
        using var sb = Server(2);
        File.AppendAllText(sb.P("/data/config/users.txt"), "Bad Name:x\nalso bad\n");
        var rec = sb.Aica("recover");
        Assert.Equal(1, rec.ExitCode);
        Assert.Contains("2 other problems", rec.StdOut.TrimEnd().Split('\n')[^1]);
        Assert.Equal(2, rec.StdErr.Split('\n').Count(l => l.StartsWith("[FAIL] ", StringComparison.Ordinal))); // the details agree
        var doctor = sb.Aica("doctor").StdOut;
        Assert.DoesNotContain("(0 users failed)", doctor);
        Assert.Matches(@"\[WARN\] recovery\.last  last recovery failed at \S+: 2 problems, first: ", doctor);
    }

    [Fact]
    public void Init_prints_the_number_of_changes_it_logs()
    {
        Require.Root();
        using var sb = new Sandbox();
        var r = sb.Aica("init", "--gid", "2500");
        Assert.True(r.ExitCode == 0, r.ToString());
        var printed = Regex.Match(r.StdOut, @"init: (\d+) changes, 0 failed").Groups[1].Value;
        var logged = Regex.Match(File.ReadAllText(sb.P("/data/admin/log/aica.log")), @"gid 2500: (\d+) changes").Groups[1].Value;
        Assert.NotEqual("", printed);
        Assert.Equal(printed, logged);
        Assert.Equal(r.StdOut.Split('\n').Count(l => l.StartsWith("[DONE] ", StringComparison.Ordinal)), int.Parse(printed));
    }

    [Fact]
    public void Clean_does_not_say_ok_when_part_of_a_target_could_not_be_removed()
    {
        using var sb = Server(0);
        Directory.CreateDirectory(sb.P("/data/models/torch/checkpoints/mnt"));
        File.WriteAllText(sb.P("/data/models/torch/checkpoints/a.pth"), "x");
        Assert.Equal(0, Tools.Sh($"mount -t tmpfs aica-test-inner '{sb.P("/data/models/torch/checkpoints/mnt")}'").ExitCode);
        File.WriteAllText(sb.P("/data/models/torch/checkpoints/mnt/b.pth"), "y");
        var r = sb.Aica("clean", "--torch");
        Assert.Equal(1, r.ExitCode);
        Assert.DoesNotContain("[OK]", r.StdOut);
        Assert.Contains("[FAIL] torch", r.StdErr);
        Assert.Contains("another file system mounted here", r.StdErr);
        Assert.EndsWith("in 1 target(s), 1 failed", r.StdOut.TrimEnd()); // the summary agrees with the [FAIL] line
    }
}
