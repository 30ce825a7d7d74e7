namespace Aica.Tests.Foundation;

/// <summary>
/// Every child aica starts (as root under sudo or cron) runs in <c>/</c>, never in the caller's working directory, which a
/// member chooses: conda's <c>rsync --delete $CWD/.empty/</c> was one way a tool running as root acted there by path.
/// </summary>
[Trait("level", "unit")]
public sealed class ChildProcessSpecs
{
    [Fact]
    public async Task A_child_starts_in_the_root_directory_whatever_the_callers_working_directory()
    {
        Assert.NotEqual("/", Environment.CurrentDirectory); // the test runner's own folder: what a caller's cwd would be
        var r = await new ProcessRunner().RunAsync("sh", ["-c", "pwd -P"], TestContext.Current.CancellationToken);
        Assert.True(r.Ok, r.StdErr);
        Assert.Equal("/", r.StdOut.Trim());
        Assert.Equal("/", ProcessRunner.WorkingDirectory);
    }
}
