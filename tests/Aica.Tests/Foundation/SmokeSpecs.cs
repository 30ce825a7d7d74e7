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
