using Aica.Tests.Infra;

namespace Aica.Tests.Foundation;

public sealed class SmokeSpecs
{
    [Fact]
    public void Version_prints_and_exits_zero()
    {
        var r = Tools.Aica("--version");
        Assert.Equal(0, r.ExitCode);
        Assert.StartsWith("aica ", r.StdOut);
    }
}

public sealed class BinaryUsageSpecs
{
    [Theory]
    [InlineData("frobnicate")]
    [InlineData("recover", "--frobnicate")]
    [InlineData("init", "--gid", "abc")]
    [InlineData("user", "frob")]
    public void The_binary_answers_bad_usage_with_exit_2_and_usage_on_stderr_only(params string[] args)
    {
        var r = Tools.Aica(args);
        Assert.Equal(2, r.ExitCode);
        Assert.Equal("", r.StdOut);
        Assert.Contains("usage: ", r.StdErr, StringComparison.OrdinalIgnoreCase);
    }
}
