using Aica.Config;

namespace Aica.Tests.Foundation;

[Trait("level", "unit")]
public sealed class ConfigSpecs
{
    [Fact]
    public void Missing_keys_take_the_spec_defaults()
    {
        var c = AicaConfig.Parse("[group]\nname = \"lab\"\n");
        Assert.Equal("lab", c.Group);
        Assert.Null(c.Gid);
        Assert.Equal("/data/cache/conda/pkgs", c.CondaPkgs);
        Assert.Equal("/data/models/huggingface/hub", c.HfHub);
        Assert.Equal("symlink", c.DefaultLayout);
    }

    [Fact]
    public void Unknown_key_is_an_error_with_its_line_number()
    {
        var e = Assert.Throws<ConfigError>(() => AicaConfig.Parse("# c\n[group]\nname = \"lab\"\ncolour = \"blue\"\n"));
        Assert.Equal(4, e.Line);
        Assert.Contains("group.colour", e.Message);
    }

    [Theory]
    [InlineData("[group]\ngid = \"x\"\n", 2)]
    [InlineData("[group]\nname = \"Bad Name\"\n", 2)]
    [InlineData("[disk]\nthreshold = 100\n", 2)]
    [InlineData("[paths]\ninstall = \"/etc/aica\"\n", 2)]
    [InlineData("[paths]\ninstall = \"/data/../etc/aica\"\n", 2)]
    [InlineData("[caches]\ntorch = \"unterminated\n", 2)]
    [InlineData("[users]\ndotfiles = [\".bashrc\",\n  \"../x\"]\n", 2)]
    public void Bad_values_name_their_line(string toml, int line)
    {
        var e = Assert.Throws<ConfigError>(() => AicaConfig.Parse(toml));
        Assert.Equal(line, e.Line);
    }

    [Fact]
    public void Render_parses_back_to_the_same_config()
    {
        var c = new AicaConfig { Group = "lab", Gid = 2345, LegacyMirrors = ["/opt/ai-lab-data/shared"], DiskThreshold = 85 };
        var back = AicaConfig.Parse(c.Render());
        Assert.Equal(c.Render(), back.Render());
        Assert.Equal(2345, back.Gid);
        Assert.Equal(["/opt/ai-lab-data/shared"], back.LegacyMirrors);
    }

    [Fact]
    public void Multi_line_arrays_and_comments_parse()
    {
        var c = AicaConfig.Parse("[disk] # watched\nwatch = [\n  \"/data\", # main\n  \"/backup\",\n]\nthreshold = 75\n");
        Assert.Equal(["/data", "/backup"], c.DiskWatch);
        Assert.Equal(75, c.DiskThreshold);
    }

    [Fact]
    public void Valid_toml_that_the_old_subset_parser_rejected_parses()
    {
        // Quoted and dotted keys, inline tables, a float where a number is allowed, multi-line and literal strings.
        var c = AicaConfig.Parse(""""
            group = { name = "lab", gid = 2_500 }
            caches.torch = '/data/models/t'
            [users]
            "shell" = """/bin/zsh"""
            dotfiles = [
              '.bashrc', # the shell
              """.vimrc""",
            ]
            [disk]
            threshold = 85.0
            [data]
            "dataset_owner" = "alice"
            """");
        Assert.Equal(("lab", 2500), (c.Group, c.Gid));
        Assert.Equal("/data/models/t", c.TorchHome);
        Assert.Equal("/bin/zsh", c.DefaultShell);
        Assert.Equal([".bashrc", ".vimrc"], c.Dotfiles);
        Assert.Equal(85, c.DiskThreshold);
        Assert.Equal("alice", c.DatasetOwner);
    }

    [Theory]
    [InlineData("[disk]\nthreshold = 85.5\n", "whole percentage")]
    [InlineData("[group]\ngid = 2500\ngid = 2501\n", "gid")]
    [InlineData("[[group]]\nname = \"x\"\n", "arrays of tables")]
    [InlineData("[colours]\nred = 1\n", "unknown table [colours]")]
    [InlineData("users = 3\n", "must be a table")]
    [InlineData("[users]\nshell = \"/bin/evil\"\n", "unsupported shell")]
    public void Other_bad_input_is_reported_not_thrown(string toml, string expected)
    {
        var load = ConfigFile.Read(toml);
        Assert.False(load.Valid);
        Assert.Contains(load.Issues, i => i.Message.Contains(expected) && i.Line > 0);
    }

    /// <summary>Every key with a garbage value and with a value of the wrong type (SPEC: issue 11, bad input).</summary>
    public static TheoryData<string, string> BadValues()
    {
        var data = new TheoryData<string, string>();
        foreach (var key in ConfigFile.KeyNames)
        {
            data.Add(key, "@@@ not toml");
            data.Add(key, WrongType(key));
        }
        return data;
    }

    /// <summary>A value of another TOML type than the key takes.</summary>
    public static string WrongType(string key) => key switch
    {
        "group.gid" => "\"2500\"",
        "disk.threshold" => "\"85%\"",
        "data.mirror_delete" => "\"yes\"",
        "fleet.sync_interval" => "\"5min\"",
        "users.dotfiles" or "disk.watch" or "data.legacy_mirrors" => "[1, 2]",
        _ => "42",
    };

    /// <summary>The default file as init writes it, with <paramref name="key"/>'s value replaced; and that line (1-based).</summary>
    public static (string Text, int Line) WithValue(string text, string key, string value)
    {
        var lines = text.Split('\n');
        var (table, leaf) = (key[..key.IndexOf('.')], key[(key.IndexOf('.') + 1)..]);
        var start = Array.IndexOf(lines, $"[{table}]");
        var at = Array.FindIndex(lines, start, l => l.StartsWith(leaf + " = "));
        if (start < 0 || at < 0) throw new InvalidOperationException($"{key} not in the file");
        lines[at] = $"{leaf} = {value}";
        return (string.Join('\n', lines), at + 1);
    }

    [Theory]
    [MemberData(nameof(BadValues))]
    public void A_bad_value_in_any_key_is_reported_with_its_line_and_takes_the_last_good_value(string key, string value)
    {
        // The last config that validated differs from the defaults in every key, so a fallback to it is visible.
        var lastGood = new AicaConfig
        {
            Group = "lab", Gid = 2600, DefaultLayout = "hybrid", DefaultShell = "/bin/zsh", Dotfiles = [".zshrc"], InstallPath = "/data/bin/aica2",
            CondaRoot = "/data/apps/conda", BackupDir = "/data/admin/bk", CondaPkgs = "/data/c/pkgs", TorchHome = "/data/m/torch", HfHub = "/data/m/hub",
            HfDatasets = "/data/m/ds", ComfyUi = "/data/m/comfy", Flux = "/data/m/flux", DiskWatch = ["/data"], DiskThreshold = 80,
            Datasets = "/data/ds", Code = "/data/src", DatasetOwner = "alice", LegacyMirrors = ["/opt/old"], MirrorDelete = true,
            SyncIntervalSeconds = 600,
        };
        var current = new AicaConfig { Gid = 2500 };
        var (text, line) = WithValue(current.Render(), key, value);

        var load = ConfigFile.Read(text, lastGood, "the last good value");

        var issue = Assert.Single(load.Issues);
        Assert.Equal(line, issue.Line);
        Assert.Contains(key, issue.Message);
        Assert.Contains("the last good value", issue.Message);
        Assert.Equal(ConfigFile.Show(lastGood, key), ConfigFile.Show(load.Config, key));
        foreach (var other in ConfigFile.KeyNames.Where(k => k != key))
            Assert.Equal(ConfigFile.Show(current, other), ConfigFile.Show(load.Config, other)); // the other keys stand
        Assert.Equal(line, Assert.Throws<ConfigError>(() => AicaConfig.Parse(text)).Line); // strict readers stop on it
    }

    [Fact]
    public void An_unknown_key_is_reported_and_ignored_by_the_lenient_reader()
    {
        var load = ConfigFile.Read("[group]\nname = \"lab\"\ncolour = \"blue\"\n[disk]\nthreshold = 70\n");
        Assert.Equal(3, Assert.Single(load.Issues).Line);
        Assert.Equal(("lab", 70), (load.Config.Group, load.Config.DiskThreshold));
    }

    [Fact]
    public void Edit_sets_values_in_place_and_keeps_comments_blank_lines_and_order()
    {
        var mine = "# gpu01 (ticket 42)\n\n[users] # people\ndefault_layout = \"symlink\" # most use links\nshell = \"/bin/bash\"\n\n# the lab's group\n[group]\nname = \"lab\"\n\n[disk]\nthreshold = 80\n";
        var edited = ConfigFile.Edit(mine, [("group.gid", 2500), ("users.default_layout", "hybrid")]);
        Assert.Equal("# gpu01 (ticket 42)\n\n[users] # people\ndefault_layout = \"hybrid\" # most use links\nshell = \"/bin/bash\"\n\n# the lab's group\n[group]\nname = \"lab\"\ngid = 2500\n\n[disk]\nthreshold = 80\n", edited);
        var c = AicaConfig.Parse(edited);
        Assert.Equal((2500, "hybrid"), (c.Gid, c.DefaultLayout));
        // A table that is not there yet is added at the end.
        Assert.Equal("[disk]\nthreshold = 80\n\n[group]\ngid = 7\n", ConfigFile.Edit("[disk]\nthreshold = 80\n", [("group.gid", 7)]));
        Assert.Equal("[group]\ngid = 7\n", ConfigFile.Edit("", [("group.gid", 7)]));
    }

    [Theory]
    [InlineData("alice", true)]
    [InlineData("_svc", true)]
    [InlineData("a-b_c9", true)]
    [InlineData("Alice", false)]
    [InlineData("-rf", false)]
    [InlineData("../x", false)]
    [InlineData("a:b", false)]
    [InlineData("a b", false)]
    [InlineData("", false)]
    [InlineData("root", false)]
    [InlineData("abcdefghijabcdefghijabcdefghijabc", false)] // 33 characters
    [InlineData("alice\n", false)] // a trailing newline would split a registry line
    [InlineData("alice\r", false)]
    public void User_names_are_validated(string name, bool ok)
    {
        Assert.Equal(ok, Names.ValidateUser(name) is null);
        Assert.Equal(ok, Names.ValidateGroup(name) is null);
    }

    [Fact]
    public void Octal_helper_reads_modes_as_admins_write_them()
    {
        Assert.Equal(0x1EDu, Native.Perms.O(755)); // 0755
        Assert.Equal(0x5FDu, Native.Perms.O(2775)); // 02775
        Assert.Equal(0x7FDu, Native.Perms.O(3775));
        Assert.Throws<ArgumentOutOfRangeException>(() => Native.Perms.O(789));
    }
}
