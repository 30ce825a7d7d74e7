using Aica.Caches;
using Aica.IO;
using Aica.Native;
using Aica.Tests.Infra;

namespace Aica.Tests.Caches;

/// <summary>
/// A member swaps a cache directory for a link to a tree outside while clean is sweeping (root, no kernel protection:
/// fs.protected_symlinks is 0 here): at the moment before the directory is opened, and between its sweep and its removal.
/// </summary>
[Trait("level", "unit")]
public sealed class SweeperRaceSpecs : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("aica-sweep-race-").FullName;

    public void Dispose() => Directory.Delete(_dir, true);

    private string Cache => Path.Combine(_dir, "cache");
    private string Outside => Path.Combine(_dir, "outside");

    private string Setup()
    {
        foreach (var d in new[] { "a/deep", "b" }) Directory.CreateDirectory(Path.Combine(Cache, d));
        File.WriteAllText(Path.Combine(Cache, "a/deep/f"), "cached");
        File.WriteAllText(Path.Combine(Cache, "b/g"), "cached");
        // deep is empty outside: a sweep that removed "a/deep" by path through the swapped link would remove it.
        Directory.CreateDirectory(Path.Combine(Outside, "deep"));
        File.WriteAllText(Path.Combine(Outside, "g"), "secret");
        return Tools.Sh($"cd '{Outside}' && find . -printf '%p %s %m\\n' | sort").StdOut;
    }

    private void Swap(string name)
    {
        Directory.Move(Path.Combine(Cache, name), Path.Combine(_dir, name + ".moved"));
        Directory.CreateSymbolicLink(Path.Combine(Cache, name), Outside);
    }

    private SweepLog Sweep(TreeSweeper sweeper)
    {
        var log = new SweepLog();
        using var root = Sys.OpenAt(Flags.AT_FDCWD, Cache, Flags.O_RDONLY | Flags.O_DIRECTORY);
        sweeper.SweepContent(root, "/cache", log, TestContext.Current.CancellationToken);
        return log;
    }

    [Fact]
    public void A_directory_swapped_for_a_link_just_before_it_is_entered_is_not_followed()
    {
        Require.Root();
        var outside = Setup();
        var log = Sweep(new TreeSweeper { BeforeEnter = p => { if (p == "/cache/a") Swap("a"); } });
        Assert.Equal(outside, Tools.Sh($"cd '{Outside}' && find . -printf '%p %s %m\\n' | sort").StdOut);
        Assert.Contains(log.Problems, p => p.Contains("/cache/a") && p.Contains("not entered"));
        Assert.False(Directory.Exists(Path.Combine(Cache, "b")), "the rest of the cache is still cleaned");
    }

    [Fact]
    public void A_directory_swapped_for_a_link_after_its_sweep_is_not_removed_through()
    {
        Require.Root();
        var outside = Setup();
        var log = Sweep(new TreeSweeper { BeforeRemoveDir = p => { if (p == "/cache/a/deep") Swap("a"); } });
        Assert.Equal(outside, Tools.Sh($"cd '{Outside}' && find . -printf '%p %s %m\\n' | sort").StdOut);
        // The sweep went on in the directory it had opened (now a.moved): its content went, never the outside's.
        Assert.False(File.Exists(Path.Combine(_dir, "a.moved/deep/f")));
        Assert.NotEmpty(log.Problems);
    }
}
