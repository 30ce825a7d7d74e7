using Aica.Tests.Infra;

namespace Aica.Tests.Foundation;

[Trait("level", "blackbox")]
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

[Trait("level", "blackbox")]
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

[Trait("level", "blackbox")]
public sealed class EmptyEnvironmentSpecs
{
    /// <summary>cloud-init, `env -i` or a bare unit may start aica with no PATH (and no HOME): accounts still come back.</summary>
    [Fact]
    public void Init_and_a_full_account_recovery_work_with_an_empty_environment()
    {
        Require.Root();
        using var sb = new Sandbox();
        string Aica(params string[] args) =>
            Tools.Run("env", ["-i", Tools.AicaBin, "--root", sb.Root, .. args]) is var r && r.ExitCode == 0 ? r.StdOut : throw new Xunit.Sdk.XunitException(r.ToString());
        Aica("init", "--gid", "2500", "-q");
        sb.AddUser("alice", 3001);
        Tools.Sh($"cd '{sb.Root}' && sed -i '/^alice:/d' etc/passwd etc/group etc/shadow etc/gshadow");
        Assert.Contains("recovered 1 users, 0 failed", Aica("recover"));
        Assert.Contains("alice:x:3001:3001:", File.ReadAllText(sb.P("/etc/passwd")));
    }
}
