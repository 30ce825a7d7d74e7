using System.Text.Json;
using System.Text.RegularExpressions;
using Aica.Caches;
using Aica.Tests.Infra;

namespace Aica.Tests.Caches;

/// <summary>Black-box <c>aica disk</c> and <c>aica du</c> on a sandbox server.</summary>
[Trait("level", "blackbox")]
public sealed class DiskDuSpecs
{
    /// <summary>Use% of the sandbox's /data as df prints it.</summary>
    private static int DfPercent(Sandbox sb) => int.Parse(Tools.Sh($"df --output=pcent '{sb.P("/data")}' | tail -1").StdOut.Trim().TrimEnd('%'));

    [Theory]
    [InlineData(0UL, 0UL, null)]
    [InlineData(0UL, 100UL, 0)]
    [InlineData(1UL, 99UL, 1)]
    [InlineData(1UL, 199UL, 1)]   // 0.5% rounds up
    [InlineData(90UL, 10UL, 90)]
    [InlineData(901UL, 99UL, 91)] // 90.1% rounds up
    [InlineData(100UL, 0UL, 100)]
    public void Percent_is_dfs_used_over_used_plus_available_rounded_up(ulong used, ulong avail, int? want) =>
        Assert.Equal(want, DiskService.Percent(used, avail));

    [Fact]
    public void Above_the_threshold_one_exact_alert_line_goes_to_stdout_var_log_and_data_admin_log_and_at_it_nothing()
    {
        using var sb = Sandbox.Initialised();
        File.WriteAllBytes(sb.P("/data/fill"), new byte[20 << 20]); // 20 MiB of 512: a few percent
        var pct = DfPercent(sb);
        Assert.InRange(pct, 2, 98);

        var at = sb.Aica("disk", "--threshold", pct.ToString());
        Assert.True(at.ExitCode == 0, at.ToString());
        Assert.DoesNotContain("[ALERT]", at.StdOut);
        Assert.False(File.Exists(sb.P("/var/log/aica-disk-alert.log")));

        var dry = sb.Aica("disk", "--threshold", (pct - 1).ToString(), "--dry-run");
        Assert.Contains("[ALERT]", dry.StdOut);
        Assert.False(File.Exists(sb.P("/var/log/aica-disk-alert.log")));

        var r = sb.Aica("disk", "--threshold", (pct - 1).ToString(), "-q");
        Assert.True(r.ExitCode == ExitCodes.Alert, r.ToString()); // 5: an alert was raised (docs/monitoring.md)
        var line = Assert.Single(r.StdOut.Split('\n'), l => l.StartsWith("[ALERT]"));
        Assert.Matches(new Regex($@"^\[ALERT\] \d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d - /data disk usage: {pct}% \(threshold: {pct - 1}%\)$"), line);
        Assert.Equal(line + "\n", File.ReadAllText(sb.P("/var/log/aica-disk-alert.log")));
        Assert.Equal(line + "\n", File.ReadAllText(sb.P("/data/admin/log/aica-disk-alert.log")));

        var json = JsonDocument.Parse(sb.Aica("disk", "--json").StdOut).RootElement;
        var data = json.GetProperty("mounts").EnumerateArray().Single(m => m.GetProperty("path").GetString() == "/data");
        Assert.Equal(pct, data.GetProperty("percent").GetInt32());
        Assert.Equal(90, json.GetProperty("threshold").GetInt32());
    }

    [Fact]
    public void An_unmounted_watch_path_is_an_error_for_that_path_never_the_root_file_systems_figures()
    {
        using var sb = Sandbox.Initialised();
        Directory.CreateDirectory(sb.P("/data/not-a-mount"));
        File.WriteAllText(sb.P("/data/config/aica.toml"), File.ReadAllText(sb.P("/data/config/aica.toml"))
            .Replace("watch = [\"/data\", \"/backup\"]", "watch = [\"/data\", \"/data/not-a-mount\", \"/srv/missing\"]"));
        var r = sb.Aica("disk", "--json");
        Assert.True(r.ExitCode == 1, r.ToString());
        var mounts = JsonDocument.Parse(r.StdOut).RootElement.GetProperty("mounts").EnumerateArray().ToDictionary(m => m.GetProperty("path").GetString()!);
        Assert.Equal("ok", mounts["/data"].GetProperty("status").GetString());
        Assert.Equal("error", mounts["/data/not-a-mount"].GetProperty("status").GetString());
        Assert.Equal(JsonValueKind.Null, mounts["/data/not-a-mount"].GetProperty("percent").ValueKind);
        Assert.Equal("error", mounts["/srv/missing"].GetProperty("status").GetString());
    }

    [Fact]
    public void Du_counts_hard_links_once_shows_apparent_and_on_disk_and_attributes_owners()
    {
        using var sb = Sandbox.Initialised();
        sb.AddUser("alice", 3001);
        sb.AddUser("bob", 3002);
        Directory.CreateDirectory(sb.P("/data/users/alice/p"));
        Directory.CreateDirectory(sb.P("/data/users/bob"));
        File.WriteAllBytes(sb.P("/data/users/alice/p/big"), new byte[1 << 20]);
        Tools.Sh($"ln '{sb.P("/data/users/alice/p/big")}' '{sb.P("/data/users/alice/p/big2")}'; truncate -s 10M '{sb.P("/data/users/bob/sparse")}'");
        File.WriteAllBytes(sb.P("/data/models/torch/a"), new byte[300000]);
        File.WriteAllBytes(sb.P("/data/models/flux/b"), new byte[100000]);
        Tools.Sh($"chown 3001 '{sb.P("/data/models/torch/a")}'; chown 3002 '{sb.P("/data/models/flux/b")}'");

        var r = sb.Aica("du", "--json");
        Assert.True(r.ExitCode == 0, r.ToString());
        var rows = JsonDocument.Parse(r.StdOut).RootElement.GetProperty("rows").EnumerateArray().ToList();
        var alice = rows.Single(x => x.GetProperty("name").GetString() == "alice");
        Assert.InRange(alice.GetProperty("apparent_bytes").GetInt64(), 1 << 20, (1 << 20) + 8192); // once, not twice
        var bob = rows.Single(x => x.GetProperty("name").GetString() == "bob");
        Assert.True(bob.GetProperty("apparent_bytes").GetInt64() >= 10 << 20);
        Assert.True(bob.GetProperty("disk_bytes").GetInt64() < 1 << 20, "a sparse file takes almost nothing on disk");
        Assert.Equal("alice", rows[0].GetProperty("name").GetString()); // biggest on disk first

        var byUser = JsonDocument.Parse(sb.Aica("du", "--by-user", "--json").StdOut).RootElement.GetProperty("rows").EnumerateArray()
            .ToDictionary(x => x.GetProperty("name").GetString()!, x => x.GetProperty("apparent_bytes").GetInt64());
        Assert.Equal(300000, byUser["alice"]);
        Assert.Equal(100000, byUser["bob"]);

        var top = JsonDocument.Parse(sb.Aica("du", "/data/users", "--top", "1", "--json").StdOut).RootElement;
        Assert.Equal("alice", Assert.Single(top.GetProperty("rows").EnumerateArray()).GetProperty("name").GetString());
        Assert.Equal(1, top.GetProperty("omitted").GetInt32());
    }

    [Fact]
    public void Du_never_follows_a_planted_link()
    {
        using var sb = Sandbox.Initialised();
        sb.AddUser("alice", 3001);
        Directory.CreateDirectory(sb.P("/data/users/alice"));
        Directory.CreateDirectory(sb.P("/etc/big"));
        File.WriteAllBytes(sb.P("/etc/big/f"), new byte[1 << 20]);
        Directory.CreateSymbolicLink(sb.P("/data/users/alice/escape"), sb.P("/etc/big"));
        var rows = JsonDocument.Parse(sb.Aica("du", "/data/users", "--json").StdOut).RootElement.GetProperty("rows").EnumerateArray();
        Assert.True(rows.Single(x => x.GetProperty("name").GetString() == "alice").GetProperty("apparent_bytes").GetInt64() < 8192);
        Assert.Equal(2, sb.Aica("du", "/data/users/alice/escape").ExitCode);
    }
}
