using Aica.Cli;
using Aica.Tests.Infra;

namespace Aica.Tests.Data;

/// <summary>The perms and data commands' command line, in-process (help, unknown options, refusal before any change).</summary>
[Collection("cli")]
[Trait("level", "inproc")]
public sealed class DataCliSpecs
{
    private static (int Code, string Out, string Err) Run(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        var code = AicaApp.RunAsync(args, o, e, null).GetAwaiter().GetResult();
        return (code, o.ToString(), e.ToString());
    }

    [Theory]
    [InlineData("perms", "--dry-run")]
    [InlineData("data", "orphans", "--remove")]
    [InlineData("data", "mirror", "--link")]
    [InlineData("data", "verify", "--user")]
    public void Help_names_the_options(params string[] args)
    {
        var (code, stdout, _) = Run([.. args[..^1], "--help"]);
        Assert.Equal(0, code);
        Assert.Contains(args[^1], stdout);
    }

    [Theory]
    [InlineData("data", "frobnicate")]
    [InlineData("data", "list", "--frobnicate")]
    [InlineData("perms", "--frobnicate")]
    [InlineData("data", "orphans", "--remove", "--yes", "extra")]
    public void Unknown_subcommands_and_options_are_exit_2(params string[] args)
    {
        var (code, stdout, stderr) = Run(args);
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.NotEqual("", stderr);
    }

    [Fact]
    public void A_path_outside_the_shared_roots_is_refused_before_anything_is_opened()
    {
        using var sb = Sandbox.Initialised();
        var (code, stdout, stderr) = Run("--root", sb.Root, "perms", "/data/config");
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.Contains("outside the shared roots", stderr);
    }
}
