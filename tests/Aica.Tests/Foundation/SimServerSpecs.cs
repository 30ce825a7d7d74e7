using Aica.Tests.Infra;

namespace Aica.Tests.Foundation;

[Trait("level", "sim")]
public sealed class SimServerSpecs
{
    [Fact]
    public void A_boot_sees_mounted_data_and_an_overlay_etc()
    {
        Require.Root();
        using var sim = new SimServer();
        var r = sim.Boot(Reset.None, "mountpoint -q /data && echo data-ok; touch /etc/aica-probe && echo etc-ok; $AICA --version");
        Assert.Contains("data-ok", r.StdOut);
        Assert.Contains("etc-ok", r.StdOut);
        Assert.False(File.Exists("/etc/aica-probe"), "the host /etc must not change");
        Assert.True(File.Exists(Path.Combine(sim.EtcUpper, "aica-probe")));
    }
}
