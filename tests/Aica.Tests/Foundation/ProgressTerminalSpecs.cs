using Aica.Tests.Infra;

namespace Aica.Tests.Foundation;

/// <summary>
/// dist/aica on a real pseudo-terminal (util-linux <c>script</c>): long commands draw their progress line on it, and
/// draw nothing when stderr is a pipe, with -q, or with TERM=dumb. AICA_PROGRESS_INTERVAL_MS=0 makes the tiny test
/// trees, walked in milliseconds, draw at all (the real interval is 100 ms).
/// </summary>
[Trait("level", "blackbox")]
public sealed class ProgressTerminalSpecs
{
    private const string Erase = "\r\e[K";

    public static TheoryData<string, string> Commands() => new()
    {
        { "du", "du /data:" },
        { "perms --dry-run", "perms /data/" },
        { "data fix --dry-run", "data fix /data/dataset:" },
        { "user fix alice --dry-run", "user fix alice:" },
        { "clean --pip --dry-run", "clean (dry run):" },
        { "data verify", "data verify:" },
        { "data mirror", "data mirror /opt/old" },
    };

    private static Sandbox Server()
    {
        var sb = Sandbox.WithUsers("alice");
        var r = sb.Aica("recover");
        if (r.ExitCode != 0) throw new InvalidOperationException(r.ToString());
        Tools.Sh($"mkdir -p '{sb.P("/data/dataset/imagenet")}' '{sb.P("/data/users/alice/.cache/pip")}' && for i in $(seq 1 50); do echo $i > '{sb.P("/data/dataset/imagenet")}'/f$i; echo $i > '{sb.P("/data/users/alice/.cache/pip")}'/w$i; done");
        // A legacy mirror of the datasets, for data mirror (root-owned, as on a real server).
        Directory.CreateDirectory(sb.P("/opt/old"));
        var config = sb.P("/data/config/aica.toml");
        File.WriteAllText(config, File.ReadAllText(config).Replace("legacy_mirrors = []", "legacy_mirrors = [\"/opt/old\"]"));
        return sb;
    }

    /// <summary>Everything the terminal received (stdout and stderr share it), run through <c>script</c>.</summary>
    private static RunResult OnTerminal(Sandbox sb, string term, string args) =>
        Tools.Run("script", ["-qec", $"env AICA_PROGRESS_INTERVAL_MS=0 TERM={term} '{Tools.AicaBin}' --root '{sb.Root}' {args}", "/dev/null"]);

    [Theory]
    [MemberData(nameof(Commands))]
    public void Long_work_shows_a_progress_line_on_a_terminal_and_none_on_a_pipe(string args, string label)
    {
        Require.Root();
        using var sb = Server();

        var tty = OnTerminal(sb, "xterm", args);
        Assert.Contains(Erase + label, tty.StdOut);
        Assert.Matches(@"\d+/s", tty.StdOut);

        var piped = Tools.Run(Tools.AicaBin, ["--root", sb.Root, .. args.Split(' ')], new Dictionary<string, string> { ["AICA_PROGRESS_INTERVAL_MS"] = "0", ["TERM"] = "xterm" });
        Assert.DoesNotContain("\e[K", piped.All);
        Assert.DoesNotContain(label, piped.StdErr);

        Assert.DoesNotContain(Erase, OnTerminal(sb, "dumb", args).StdOut);
        if (args == "data mirror") Assert.Equal("1\n", File.ReadAllText(sb.P("/opt/old/imagenet/f1"))); // it did copy
        Assert.DoesNotContain(Erase, OnTerminal(sb, "xterm", "-q " + args).StdOut);
    }
}
