using System.Text.Json;
using Aica.Tests.Infra;

namespace Aica.Tests.Data;

/// <summary>aica perms and aica data fix, black-box on a sandbox server (dist/aica --root, tmpfs /data).</summary>
[Trait("level", "blackbox")]
public sealed class PermsSpecs : IDisposable
{
    private readonly Sandbox _sb = Sandbox.WithUsers("alice");

    public void Dispose() => _sb.Dispose();

    private string Tree() => Tools.Sh($"cd '{_sb.P("/data")}' && find . -printf '%C@ %m %u %g %y %p\\0' | sort -z | tr '\\0' '\\n'").StdOut;

    [Theory]
    [InlineData("/etc")]
    [InlineData("/data/users/alice")]
    [InlineData("/data/dataset/../config")]
    [InlineData("data/dataset")]
    [InlineData("/data")]
    public void Paths_outside_the_shared_roots_are_refused_with_exit_2_and_nothing_changes(string path)
    {
        Tools.Sh($"mkdir -p '{_sb.P("/data/dataset/x")}'; chmod 700 '{_sb.P("/data/dataset/x")}'");
        var before = Tree();
        var r = _sb.Aica("perms", path);
        Assert.Equal(2, r.ExitCode);
        Assert.Equal("", r.StdOut);
        Assert.Contains("aica perms:", r.StdErr);
        Assert.Equal(before, Tree());
    }

    [Fact]
    public void Dry_run_after_the_paths_is_still_a_dry_run_and_an_unknown_option_there_is_exit_2()
    {
        Tools.Sh($"mkdir -p '{_sb.P("/data/dataset/x")}'; chmod 700 '{_sb.P("/data/dataset/x")}'");
        var before = Tree();
        var r = _sb.Aica("perms", "/data/dataset", "--dry-run");
        Assert.True(r.ExitCode == 0, r.ToString());
        Assert.Contains("perms (dry run):", r.StdOut);
        Assert.Equal(before, Tree());
        Assert.Equal(2, _sb.Aica("perms", "/data/dataset", "--force").ExitCode);
        Assert.Equal(before, Tree());
    }

    [Fact]
    public void A_named_path_that_is_a_link_is_not_followed()
    {
        File.CreateSymbolicLink(_sb.P("/data/dataset/etc"), "/etc");
        File.CreateSymbolicLink(_sb.P("/data/code/up"), _sb.P("/data/config"));
        var before = Tools.Sh($"stat -c '%a %g %Z' /etc '{_sb.P("/data/config")}' '{_sb.P("/data/config/users.txt")}'").StdOut;
        var r = _sb.Aica("perms", "/data/dataset/etc", "/data/code/up");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("/data/dataset/etc: is a symbolic link (not followed)", r.All);
        Assert.Equal(before, Tools.Sh($"stat -c '%a %g %Z' /etc '{_sb.P("/data/config")}' '{_sb.P("/data/config/users.txt")}'").StdOut);
    }

    [Fact]
    public void Without_a_mounted_data_it_refuses_with_exit_3()
    {
        using var bare = new Sandbox(mountData: false);
        var r = bare.Aica("perms");
        Assert.Equal(3, r.ExitCode);
        Assert.Empty(Directory.GetFileSystemEntries(bare.P("/data")));
    }

    [Fact]
    public void Admin_uploads_are_normalised_then_steady_state_changes_nothing()
    {
        new TreeFaker(11).Build(_sb.P("/data/dataset/Benchmark"), 25, 4, [0, 3001, 1001], [0, 999, 1001]);
        new TreeFaker(12).Build(_sb.P("/data/code/proj"), 10, 3, [3001], [3001]);
        var plan = _sb.Aica("--json", "perms", "--dry-run");
        Assert.Equal(0, plan.ExitCode);
        var planned = JsonDocument.Parse(plan.StdOut).RootElement.GetProperty("to_change").GetInt64();
        Assert.True(planned > 0);

        var r = _sb.Aica("--json", "perms");
        Assert.Equal(0, r.ExitCode);
        var doc = JsonDocument.Parse(r.StdOut).RootElement;
        Assert.Equal(planned, doc.GetProperty("changed").GetInt64());
        Assert.Equal(0, doc.GetProperty("errors").GetInt64());
        Assert.Equal(8, doc.GetProperty("trees").GetArrayLength());
        // Nothing left that is not group gpu-users or not group-writable (rwX) in the shared trees.
        var wrong = Tools.Sh($"find '{_sb.P("/data/dataset")}' '{_sb.P("/data/code")}' \\( ! -group 2500 -o -type d ! -perm -2070 -o -type f ! -perm -060 \\) -print").StdOut;
        Assert.Equal("", wrong);
        Assert.Equal("", Tools.Sh($"find '{_sb.P("/data/dataset")}' -type f -perm -010 ! -perm -100 -print").StdOut);

        var before = Tree();
        var again = _sb.Aica("perms");
        Assert.Equal(0, again.ExitCode);
        Assert.Contains(" 0 changed", again.StdOut);
        Assert.Equal(before, Tree());
    }

    [Fact]
    public void The_top_levels_get_the_modes_of_the_table()
    {
        Tools.Sh($"chmod 0777 '{_sb.P("/data/dataset")}'; chown 3001:3001 '{_sb.P("/data/dataset")}'; chmod 0700 '{_sb.P("/data/models/torch")}'");
        Assert.Equal(0, _sb.Aica("perms").ExitCode);
        Assert.Equal("root:gpu-users 3775 directory", _sb.Stat("/data/dataset"));
        Assert.Equal("root:gpu-users 2775 directory", _sb.Stat("/data/models/torch"));
    }

    [Fact]
    public void A_subtree_can_be_named_and_only_it_is_walked()
    {
        Tools.Sh($"mkdir -p '{_sb.P("/data/dataset/a")}' '{_sb.P("/data/dataset/b")}'; chmod 700 '{_sb.P("/data/dataset/a")}' '{_sb.P("/data/dataset/b")}'");
        var r = _sb.Aica("perms", "/data/dataset/a/");
        Assert.Equal(0, r.ExitCode);
        Assert.Equal("root:gpu-users 2770 directory", _sb.Stat("/data/dataset/a"));
        Assert.Equal("2700", Tools.Sh($"stat -c %a '{_sb.P("/data/dataset/b")}'").StdOut.Trim());
    }

    [Fact]
    public void Odd_names_are_handled_and_shown_escaped()
    {
        var ds = _sb.P("/data/dataset/odd set");
        Directory.CreateDirectory(ds);
        File.WriteAllText(Path.Combine(ds, "line\nbreak"), "x");
        TreeFaker.MakeNonUtf8(ds, "file");
        Tools.Sh($"chmod 600 '{ds}'/*; mkfifo '{ds}/fifo\nname'");
        var r = _sb.Aica("-v", "perms", "/data/dataset");
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("/data/dataset/odd set/line\\nbreak", r.StdOut);
        Assert.Contains("/data/dataset/odd set/bad\\xfffile", r.StdOut);
        Assert.Contains("/data/dataset/odd set/fifo\\nname: FIFO left as is", r.All);
        Assert.Equal("", Tools.Sh($"find '{ds}' -type f ! -perm -060").StdOut);
        var json = _sb.Aica("--json", "-v", "perms", "--dry-run", "/data/dataset");
        Assert.Equal(0, json.ExitCode);
        JsonDocument.Parse(json.StdOut); // escaped names keep the JSON valid
    }

    [Fact]
    public void Data_fix_gives_dataset_roots_the_configured_owner()
    {
        Tools.Sh($"mkdir -p '{_sb.P("/data/dataset/sdfdsf")}'; echo '<html>' > '{_sb.P("/data/dataset/sdfdsf/test.html")}'; chown -R 1001:1001 '{_sb.P("/data/dataset/sdfdsf")}'; chmod 700 '{_sb.P("/data/dataset/sdfdsf")}'; chmod 600 '{_sb.P("/data/dataset/sdfdsf/test.html")}'");
        var plan = _sb.Aica("data", "fix", "--dry-run");
        Assert.Equal(0, plan.ExitCode);
        Assert.Contains("owner 1001->0", plan.StdOut);
        Assert.Equal("1001:1001 2700 directory", _sb.Stat("/data/dataset/sdfdsf"));
        Assert.Equal(0, _sb.Aica("data", "fix").ExitCode);
        Assert.Equal("root:gpu-users 2770 directory", _sb.Stat("/data/dataset/sdfdsf"));
        Assert.Equal("1001:gpu-users 660 regular file", _sb.Stat("/data/dataset/sdfdsf/test.html"));

        File.WriteAllText(_sb.P("/data/config/aica.toml"), File.ReadAllText(_sb.P("/data/config/aica.toml")).Replace("dataset_owner = \"root\"", "dataset_owner = \"alice\""));
        Assert.Equal(0, _sb.Aica("data", "fix").ExitCode);
        Assert.Equal("alice:gpu-users 2770 directory", _sb.Stat("/data/dataset/sdfdsf"));

        File.WriteAllText(_sb.P("/data/config/aica.toml"), File.ReadAllText(_sb.P("/data/config/aica.toml")).Replace("dataset_owner = \"alice\"", "dataset_owner = \"nosuchuser\""));
        Assert.Equal(2, _sb.Aica("data", "fix").ExitCode);
    }

    [Fact]
    public void A_hard_link_to_a_root_owned_config_file_keeps_its_group_and_mode_and_is_reported()
    {
        Tools.Sh($"mkdir -p '{_sb.P("/data/dataset/ds")}'; ln '{_sb.P("/data/config/users.txt")}' '{_sb.P("/data/dataset/ds/users.txt")}'; ln -s /etc '{_sb.P("/data/dataset/ds/etc")}'");
        var before = Tools.Sh($"stat -c '%a %U %G %Z' '{_sb.P("/data/config/users.txt")}' /etc").StdOut;
        var r = _sb.Aica("perms", "/data/dataset");
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("[WARN] /data/dataset/ds/users.txt: 2 hard links, owned by root: kept as is", r.StdErr);
        Assert.Equal(before, Tools.Sh($"stat -c '%a %U %G %Z' '{_sb.P("/data/config/users.txt")}' /etc").StdOut);
    }
}
