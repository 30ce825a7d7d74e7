using Aica.Config;
using Aica.Engine;
using Aica.IO;
using Aica.Tests.Infra;
using static Aica.Native.Perms;

namespace Aica.Tests.Foundation;

/// <summary>The desired-state engine on a temp root: plan, apply, check agree, and apply is idempotent.</summary>
public sealed class EngineSpecs : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("aica-engine-").FullName;
    private readonly RootedFs _fs;
    private readonly EngineContext _ctx;

    public EngineSpecs() => (_fs, _ctx) = EngineRoot.Open(_root, new ProcessRunner());

    public void Dispose()
    {
        _fs.Dispose();
        Directory.Delete(_root, true);
    }

    private static DesiredState State(params Item[] items) => new([new Unit(Phase.Etc, "test", null, items)], []);

    [Trait("level", "unit")]
    [Fact]
    public async Task Plan_lists_what_apply_does_and_a_second_apply_does_nothing()
    {
        Require.Root();
        var state = State(new DirItem("/opt/a/b", 0, 0, O(2775)), new FileItem("/opt/a/b/f", "x\n", O(640), "t.file"), new LinkItem("/opt/l", "/opt/a"));
        var engine = new StateEngine(_ctx);
        Assert.Equal(3, engine.Plan(state).Count);
        var first = await engine.Apply(state, TestContext.Current.CancellationToken);
        Assert.Equal(3, first.Actions.Count(a => a.Ok));
        Assert.Empty(engine.Plan(state));
        Assert.All(engine.Check(state), c => Assert.Equal(CheckStatus.Pass, c.Status));
        var second = await engine.Apply(state, TestContext.Current.CancellationToken);
        Assert.Empty(second.Actions);
    }

    [Trait("level", "unit")]
    [Fact]
    public async Task A_rejected_validation_leaves_the_installed_file_untouched_and_no_temp_file()
    {
        Require.Root();
        Directory.CreateDirectory(Path.Combine(_root, "etc/sudoers.d"));
        File.WriteAllText(Path.Combine(_root, "etc/sudoers.d/aica"), "old\n");
        var item = new FileItem("/etc/sudoers.d/aica", "new\n", O(440), "sudoers.valid", validate: (_, _, _) => Task.FromResult<string?>("syntax error"));
        var report = await new StateEngine(_ctx).Apply(State(item), TestContext.Current.CancellationToken);
        Assert.Contains("syntax error", report.Actions.Single().Error);
        Assert.Equal("old\n", File.ReadAllText(Path.Combine(_root, "etc/sudoers.d/aica")));
        Assert.Single(Directory.GetFiles(Path.Combine(_root, "etc/sudoers.d")));
    }

    [Trait("level", "unit")]
    [Fact]
    public async Task A_failing_user_unit_stops_only_that_user()
    {
        Require.Root();
        var bad = new FileItem("/opt/x", "x", O(644), "t", validate: (_, _, _) => Task.FromResult<string?>("no"));
        var state = new DesiredState(
        [
            new Unit(Phase.Accounts, "user a", "a", [bad]),
            new Unit(Phase.Homes, "home a", "a", [new DirItem("/opt/home-a", 0, 0, O(755))]),
            new Unit(Phase.Homes, "home b", "b", [new DirItem("/opt/home-b", 0, 0, O(755))]),
        ], []);
        var r = await new StateEngine(_ctx).Apply(state, TestContext.Current.CancellationToken);
        Assert.Equal(["a"], r.FailedUsers);
        Assert.False(Directory.Exists(Path.Combine(_root, "opt/home-a")));
        Assert.True(Directory.Exists(Path.Combine(_root, "opt/home-b")));
    }

    [Trait("level", "unit")]
    [Fact]
    public async Task A_link_is_never_put_over_a_directory_with_content()
    {
        Directory.CreateDirectory(Path.Combine(_root, "home/alice"));
        File.WriteAllText(Path.Combine(_root, "home/alice/work.txt"), "precious");
        var item = new LinkItem("/home/alice", "/data/users/alice");
        var d = item.Check(_ctx)!;
        Assert.True(d.Conflict);
        await new StateEngine(_ctx).Apply(State(item), TestContext.Current.CancellationToken);
        Assert.Equal("precious", File.ReadAllText(Path.Combine(_root, "home/alice/work.txt")));
    }

    [Trait("level", "blackbox")]
    [Fact]
    public void Recover_as_a_non_root_user_is_refused_with_exit_3()
    {
        Require.Root();
        var r = Tools.Run("setpriv", ["--reuid", "65534", "--regid", "65534", "--clear-groups", Tools.AicaBin, "recover"]);
        Assert.True(r.ExitCode == 3, r.ToString());
        Assert.Contains("must be run as root", r.StdErr);
    }
}
