using Aica.Cli;
using Aica.Tests.Infra;

namespace Aica.Tests.Foundation;

/// <summary>The command-line contract (SPEC §7), in-process.</summary>
[Collection("cli")]
public sealed class CliSpecs
{
    private static (int Code, string Out, string Err) Run(params string[] args) => Integration.InProcess.Run(args);

    [Trait("level", "inproc")]
    [Theory]
    [InlineData("frobnicate")]
    [InlineData("--frobnicate")]
    [InlineData("recover", "--frobnicate")]
    [InlineData("doctor", "--user")]
    [InlineData("init", "--gid", "abc")]
    [InlineData("--root")]
    [InlineData("--wait", "soon", "recover")]
    [InlineData("recover", "extra")]
    [InlineData("user", "frob")]
    [InlineData("user")]
    public void Unknown_or_malformed_input_is_exit_2_with_usage_on_stderr(params string[] args)
    {
        var (code, stdout, stderr) = Run(args);
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.Contains("usage: ", stderr, StringComparison.OrdinalIgnoreCase);
        if (args.Length > 1 && AicaApp.Commands.Contains(args[0])) Assert.Contains($"Usage: aica {args[0]} ", stderr); // the command's own options
    }

    [Trait("level", "inproc")]
    [Theory]
    [InlineData("recover", "--", "x")]
    [InlineData("perms", "--", "/data/dataset/x")] // the framework would drop the path and normalise every shared root
    public void A_double_dash_is_exit_2_never_silently_dropped_arguments(params string[] args)
    {
        var (code, stdout, stderr) = Run(args);
        Assert.Equal(2, code);
        Assert.Equal("", stdout);
        Assert.Contains("'--' is not used by aica", stderr);
    }

    [Trait("level", "inproc")]
    [Fact]
    public void No_arguments_without_a_terminal_prints_help_and_exits_2()
    {
        var (code, stdout, stderr) = Run();
        Assert.Equal(2, code);
        Assert.Contains("Usage: aica", stderr);
        Assert.Equal("", stdout);
    }

    [Trait("level", "inproc")]
    [Fact]
    public void Version_and_help_exit_0()
    {
        Assert.Equal((0, "aica 0.1.0\n"), (Run("--version").Code, Run("--version").Out));
        var help = Run("recover", "--help");
        Assert.Equal(0, help.Code);
        Assert.Contains("--dry-run", help.Out);
    }

    [Trait("level", "unit")]
    [Fact]
    public void Global_options_are_accepted_in_any_position()
    {
        var a = GlobalArgs.Parse(["--json", "recover", "--root", "/tmp/x", "--dry-run", "-q", "--wait=5"], null);
        Assert.Null(a.Error);
        Assert.Equal(["recover", "--dry-run"], a.Rest);
        Assert.True(a.Options.Json && a.Options.Quiet);
        Assert.Equal("/tmp/x", a.Options.Root);
        Assert.Equal(5, a.Options.WaitSeconds);
        Assert.Equal("/srv/r", GlobalArgs.Parse(["doctor"], "/srv/r").Options.Root);
    }

    [Trait("level", "inproc")]
    [Fact]
    public void An_expected_failure_is_one_line_on_stderr_without_a_stack_trace()
    {
        Require.Root();
        using var sb = new Sandbox(mountData: false);
        var (code, stdout, stderr) = Run("recover", "--root", sb.Root);
        Assert.Equal(3, code);
        Assert.Single(stderr.Trim().Split('\n'));
        Assert.DoesNotContain(" at ", stderr);
    }
}
