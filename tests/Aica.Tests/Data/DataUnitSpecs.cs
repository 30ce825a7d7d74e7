using Aica.Config;
using Aica.Data;

namespace Aica.Tests.Data;

/// <summary>Input validation of perms paths and mirror entries, and the report-age wording: pure functions.</summary>
[Trait("level", "unit")]
public sealed class DataUnitSpecs
{
    private static readonly AicaConfig Config = new();

    [Theory]
    [InlineData("/data/dataset", "/data/dataset")]
    [InlineData("/data/dataset/", "/data/dataset")]
    [InlineData("/data/models/torch/hub/x", "/data/models/torch/hub/x")]
    [InlineData("/data/code/a b", "/data/code/a b")]
    public void Paths_inside_the_shared_roots_are_accepted(string given, string expected) =>
        Assert.Equal([expected], PermsService.ValidatePaths(Config, [given], realRoot: false));

    [Theory]
    [InlineData("/data")]
    [InlineData("/data/users/alice")]
    [InlineData("/data/datasetx")]
    [InlineData("/data/dataset/../config")]
    [InlineData("/data/dataset//x")]
    [InlineData("/etc")]
    [InlineData("dataset")]
    [InlineData("")]
    public void Anything_else_is_exit_2(string given)
    {
        var e = Assert.Throws<AicaException>(() => PermsService.ValidatePaths(Config, [given], realRoot: false));
        Assert.Equal(ExitCodes.Usage, e.ExitCode);
    }

    [Fact]
    public void No_path_means_every_shared_root_and_nested_paths_are_walked_once()
    {
        Assert.Equal(8, PermsService.ValidatePaths(Config, [], false).Count);
        Assert.Equal(["/data/dataset"], PermsService.ValidatePaths(Config, ["/data/dataset/a", "/data/dataset", "/data/dataset/a/b"], false));
    }

    [Theory]
    [InlineData("/opt/ai-lab-data/shared", "/opt/ai-lab-data/shared", "/data/dataset")]
    [InlineData("/srv/code=/data/code", "/srv/code", "/data/code")]
    public void Mirror_entries_name_a_legacy_path_and_a_data_source(string entry, string legacy, string source) =>
        Assert.Equal(new MirrorPair(legacy, source), MirrorPair.Parse(entry, Config));

    [Theory]
    [InlineData("opt/x")]
    [InlineData("/")]
    [InlineData("/data/dataset")]
    [InlineData("/opt/x=/etc")]
    [InlineData("/opt/x=/data")]
    [InlineData("/opt/../etc")]
    public void Bad_mirror_entries_are_exit_2(string entry) =>
        Assert.Equal(ExitCodes.Usage, Assert.Throws<AicaException>(() => MirrorPair.Parse(entry, Config)).ExitCode);

    [Theory]
    [InlineData(0.2, "less than a minute")]
    [InlineData(30, "30 min")]
    [InlineData(60 * 5, "5 h")]
    [InlineData(60 * 24 * 40, "40 days")]
    public void Report_age_is_said_plainly(double minutes, string said) => Assert.Equal(said, DataDoctor.Age(TimeSpan.FromMinutes(minutes)));
}
