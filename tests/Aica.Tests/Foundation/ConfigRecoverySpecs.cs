using System.Text.Json;
using Aica.Config;
using Aica.Tests.Infra;

namespace Aica.Tests.Foundation;

/// <summary>
/// Black-box (dist/aica, --root sandbox): a bad aica.toml never stops recovery (issue 11 point 5), config check works like
/// sshd -t, init refuses an invalid file and edits a valid one in place.
/// </summary>
[Trait("level", "blackbox")]
public sealed class ConfigRecoverySpecs
{
    /// <summary>The sandbox after a full reset: accounts back to the image's, homes and /run gone (/data kept).</summary>
    private sealed class ResettableSandbox : IDisposable
    {
        public Sandbox Sb { get; } = new();
        private readonly Dictionary<string, string> _image;

        public ResettableSandbox() =>
            _image = new[] { "/etc/passwd", "/etc/group", "/etc/shadow", "/etc/gshadow" }.ToDictionary(f => f, f => File.ReadAllText(Sb.P(f)));

        public void FullReset()
        {
            foreach (var (f, text) in _image) File.WriteAllText(Sb.P(f), text);
            Tools.Sh($"rm -rf '{Sb.P("/home")}'/* '{Sb.P("/run")}'/*");
        }

        public void Dispose() => Sb.Dispose();
    }

    private static string Toml(Sandbox sb) => File.ReadAllText(sb.P("/data/config/aica.toml"));

    /// <summary>Each key gets one black-box run: garbage for every other key, a wrong type for the rest (both forms of every key are in ConfigSpecs).</summary>
    public static TheoryData<string, string> OneBadValuePerKey()
    {
        var data = new TheoryData<string, string>();
        var i = 0;
        foreach (var key in ConfigFile.KeyNames) data.Add(key, i++ % 2 == 0 ? "@@@ not toml" : ConfigSpecs.WrongType(key));
        return data;
    }

    [Theory]
    [MemberData(nameof(OneBadValuePerKey))]
    public void After_a_full_reset_a_bad_value_in_any_key_is_reported_with_its_line_and_every_user_is_recovered(string key, string value)
    {
        Require.Root();
        using var rs = new ResettableSandbox();
        var sb = rs.Sb;
        sb.Init();
        Assert.Equal(0, sb.Aica("user", "add", "alice").ExitCode);
        var (bad, line) = ConfigSpecs.WithValue(Toml(sb), key, value);
        File.WriteAllText(sb.P("/data/config/aica.toml"), bad);
        rs.FullReset();

        var r = sb.Aica("recover");

        Assert.True(r.ExitCode == 1, r.ToString());
        Assert.Contains($"aica.toml line {line}: ", r.All); // problem lines go to stderr
        Assert.Contains(key, r.All);
        Assert.Contains("recovered 1 users, 0 failed", r.StdOut);
        Assert.Contains("alice:x:", File.ReadAllText(sb.P("/etc/passwd")));
        Assert.Equal("symlink", new FileInfo(sb.P("/home/alice")).LinkTarget is null ? "dir" : "symlink");
        var status = JsonDocument.Parse(File.ReadAllText(sb.P("/run/aica/recovery.json"))).RootElement;
        Assert.Equal(("failed", 1), (status.GetProperty("status").GetString(), status.GetProperty("recovered").GetInt32()));
        Assert.Equal(bad, Toml(sb)); // the admin's file is reported, never rewritten
    }

    [Fact]
    public void A_bad_key_takes_its_last_good_value_not_the_default_and_doctor_names_the_line()
    {
        Require.Root();
        using var rs = new ResettableSandbox();
        var sb = rs.Sb;
        Assert.Equal(0, sb.Aica("init", "--group", "lab", "--gid", "2700").ExitCode);
        Assert.Equal(0, sb.Aica("user", "add", "alice").ExitCode);
        Assert.Equal(0, sb.Aica("recover").ExitCode);
        Assert.Equal("root:root 600 regular file", sb.Stat("/data/admin/aica.toml.last-good"));
        Assert.Equal(Toml(sb), File.ReadAllText(sb.P("/data/admin/aica.toml.last-good")));

        // A typo in the group's name: the default (gpu-users) would create the wrong group and lock the lab out.
        var (bad, line) = ConfigSpecs.WithValue(Toml(sb), "group.name", "\"Lab Group\"");
        File.WriteAllText(sb.P("/data/config/aica.toml"), bad + "colour = \"blue\"\n");
        rs.FullReset();
        var r = sb.Aica("recover");

        Assert.True(r.ExitCode == 1, r.ToString());
        Assert.Contains($"line {line}: invalid group name 'Lab Group' (using group.name = \"lab\", the last good value)", r.All);
        Assert.Contains("unknown key 'fleet.colour'", r.All); // reported, not fatal ([fleet] is the file's last table)
        Assert.Contains("recovered 1 users, 0 failed", r.StdOut);
        Assert.Contains("lab:x:2700:alice", File.ReadAllText(sb.P("/etc/group")));
        Assert.DoesNotContain("gpu-users", File.ReadAllText(sb.P("/etc/group")));
        Assert.NotEqual(bad, File.ReadAllText(sb.P("/data/admin/aica.toml.last-good"))); // an invalid file never becomes the last good one

        var doctor = sb.Aica("doctor");
        Assert.Equal(1, doctor.ExitCode);
        Assert.Contains("config.parse", doctor.StdOut);
        Assert.Contains($"line {line}: invalid group name", doctor.StdOut);

        // Commands that act on the config refuse it (exit 2) rather than guess.
        var add = sb.Aica("user", "add", "bob");
        Assert.Equal(2, add.ExitCode);
        Assert.Contains($"line {line}", add.StdErr);
    }

    [Fact]
    public void Config_check_is_0_for_a_valid_file_and_2_with_each_bad_line_for_an_invalid_one()
    {
        using var sb = Sandbox.Initialised();
        var ok = sb.Aica("config", "check");
        Assert.True(ok.ExitCode == 0, ok.ToString());
        Assert.Contains("valid", ok.StdOut);

        var draft = sb.P("/tmp/draft.toml");
        File.WriteAllText(draft, "# draft\n[disk]\nthreshold = 85.0\n[group]\ngid = \"2500\"\ncolour = 1\n");
        var r = sb.Aica("config", "check", draft);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains($"{draft}:5: group.gid must be an integer, not a string", r.All);
        Assert.Contains($"{draft}:6: unknown key 'group.colour'", r.All);
        Assert.DoesNotContain(":3:", r.All); // 85.0 is a whole percentage

        var json = JsonDocument.Parse(sb.Aica("config", "check", draft, "--json").StdOut).RootElement;
        Assert.Equal([5, 6], json.GetProperty("problems").EnumerateArray().Select(p => p.GetProperty("line").GetInt32()));
        Assert.Equal(2, sb.Aica("config", "check", sb.P("/tmp/none.toml")).ExitCode);
    }

    [Fact]
    public void Init_refuses_an_invalid_config_with_exit_2_and_changes_nothing()
    {
        Require.Root();
        using var sb = new Sandbox();
        Directory.CreateDirectory(sb.P("/data/config"));
        File.WriteAllText(sb.P("/data/config/aica.toml"), "[group]\nname = \"lab\"\n[disk]\nthreshold = 250\n");
        var r = sb.Aica("init", "--gid", "2500");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("line 4: disk.threshold must be a whole percentage 1–99", r.StdErr);
        Assert.Equal("[group]\nname = \"lab\"\n[disk]\nthreshold = 250\n", Toml(sb));
        Assert.DoesNotContain("lab", File.ReadAllText(sb.P("/etc/group")));
    }

    [Fact]
    public void Init_edits_the_admins_aica_toml_in_place_keeping_comments_and_order()
    {
        using var sb = Sandbox.Initialised();
        // An admin's own file: comments, another order, no gid recorded yet (as written by hand or by an older tool).
        var mine = "# gpu01: mirrors added for the move of 2026-03 (ticket 42)\n[users]\ndefault_layout = \"symlink\" # most use links\n\n"
                   + "[group] # the lab\nname = \"gpu-users\"\n\n[disk]\nthreshold = 80 # alert early\n";
        File.WriteAllText(sb.P("/data/config/aica.toml"), mine);

        var r = sb.Aica("init", "--gid", "2500");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal(mine.Replace("name = \"gpu-users\"\n", "name = \"gpu-users\"\ngid = 2500\n"), Toml(sb));
        r = sb.Aica("init", "--layout", "hybrid");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Equal(mine.Replace("name = \"gpu-users\"\n", "name = \"gpu-users\"\ngid = 2500\n").Replace("\"symlink\" # most", "\"hybrid\" # most"), Toml(sb));
        Assert.Contains("comments and order kept", r.StdOut);
        Assert.Equal(Toml(sb), File.ReadAllText(sb.P("/data/admin/aica.toml.last-good"))); // the file init wrote is the last good one
        Assert.Empty(Directory.GetFiles(sb.P("/data/admin/backups"), "aica.toml", SearchOption.AllDirectories)); // nothing rewritten, nothing to back up
        var again = sb.Aica("init");
        Assert.True(again.ExitCode == 0, again.ToString());
        Assert.Contains("no changes", again.StdOut);
    }
}
