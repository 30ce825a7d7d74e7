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
        var e = Assert.Throws<TomlError>(() => AicaConfig.Parse("# c\n[group]\nname = \"lab\"\ncolour = \"blue\"\n"));
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
        var e = Assert.Throws<TomlError>(() => AicaConfig.Parse(toml));
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
