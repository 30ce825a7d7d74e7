using Aica.Tests.Infra;

namespace Aica.Tests.Menu;

/// <summary>The interactive menu driven for real: tmux send-keys, read with capture-pane, in an 80×24 terminal.</summary>
[Trait("level", "blackbox")]
public sealed class MenuSpecs : IDisposable
{
    private readonly string _session = "aica-menu-" + Guid.NewGuid().ToString("N")[..8];
    private readonly Sandbox _sb;

    public MenuSpecs()
    {
        Require.Root();
        _sb = new Sandbox();
        _sb.Init();
        var r = Tools.Run("tmux", ["new-session", "-d", "-s", _session, "-x", "80", "-y", "24",
            $"NO_COLOR=1 '{Tools.AicaBin}' --root '{_sb.Root}'; echo EXITED=$?; read -r _"]);
        Assert.True(r.ExitCode == 0, r.ToString());
    }

    public void Dispose()
    {
        Tools.Run("tmux", ["kill-session", "-t", _session]);
        _sb.Dispose();
    }

    private string Screen() => Tools.Run("tmux", ["capture-pane", "-p", "-t", _session]).StdOut;

    private void Keys(params string[] keys) => Tools.Run("tmux", ["send-keys", "-t", _session, .. keys]);

    /// <summary>The menu's last line: once it shows, the whole menu is drawn (its title alone may be mid-draw).</summary>
    private const string MenuDrawn = "q to quit";

    /// <summary>Polls the screen until it shows <paramref name="text"/> (bounded; fails with the screen it saw).</summary>
    private string WaitFor(string text, int seconds = 20)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        var ct = TestContext.Current.CancellationToken;
        string screen;
        while (!(screen = Screen()).Contains(text))
        {
            if (DateTime.UtcNow > deadline) Assert.Fail($"screen never showed '{text}':\n{screen}");
            ct.WaitHandle.WaitOne(50);
            ct.ThrowIfCancellationRequested();
        }
        return screen;
    }

    [Fact]
    public void Admin_menu_fits_80x24_runs_an_entry_by_number_and_quits_with_q()
    {
        var screen = WaitFor(MenuDrawn);
        Assert.Contains("Recover now", screen);
        Assert.True(screen.Split('\n').Length <= 25);
        Assert.All(screen.Split('\n'), l => Assert.True(l.Length <= 80));
        Keys("6");
        WaitFor("recovered 0 users, 0 failed");
        WaitFor("Press any key");
        Keys("x");
        WaitFor(MenuDrawn);
        Keys("q");
        WaitFor("EXITED=0");
    }

    [Fact]
    public void Arrow_keys_move_the_selection_and_Enter_runs_it()
    {
        WaitFor(MenuDrawn);
        Keys("Down", "Enter"); // the second entry: doctor
        WaitFor("doctor:");
        Keys("x");
        WaitFor(MenuDrawn);
        Keys("q");
        WaitFor("EXITED=0");
    }

    [Fact]
    public void A_destructive_entry_asks_first_and_a_no_changes_nothing()
    {
        WaitFor(MenuDrawn);
        // A model nobody touched for 60 days: what "Clean caches (all, older than 30 days)" removes.
        var old = _sb.P("/data/models/torch/hub/old-model.pt");
        Tools.Sh($"mkdir -p '{Path.GetDirectoryName(old)}' && echo weights > '{old}' && touch -d '60 days ago' '{old}'");
        Keys("7");
        WaitFor("Type yes to confirm");
        Keys("no", "Enter");
        WaitFor("cancelled: nothing changed.");
        Assert.True(File.Exists(old), "answering no must not clean");
        Keys("x");
        WaitFor(MenuDrawn);
        Keys("7");
        WaitFor("Type yes to confirm");
        Keys("yes", "Enter");
        WaitFor("Press any key");
        Assert.Contains("$ aica clean --all --older-than 30", Screen());
        Assert.False(File.Exists(old), "answering yes runs the same clean as the command");
        Keys("x");
        WaitFor(MenuDrawn);
        Keys("q");
        WaitFor("EXITED=0");
    }

    /// <summary>Colour (SGR sequences, read with capture-pane -e) on a colour terminal; none at all with NO_COLOR or TERM=dumb.</summary>
    [Theory]
    [InlineData("", true)]
    [InlineData("NO_COLOR=1", false)]
    [InlineData("TERM=dumb", false)]
    public void Colour_only_when_the_terminal_supports_it_and_NO_COLOR_is_unset(string env, bool colour)
    {
        var session = "aica-colour-" + Guid.NewGuid().ToString("N")[..8];
        try
        {
            var r = Tools.Run("tmux", ["new-session", "-d", "-s", session, "-x", "80", "-y", "24",
                $"env -u NO_COLOR {env} '{Tools.AicaBin}' --root '{_sb.Root}'; echo EXITED=$?; read -r _"]);
            Assert.True(r.ExitCode == 0, r.ToString());
            var deadline = DateTime.UtcNow.AddSeconds(20);
            var ct = TestContext.Current.CancellationToken;
            string screen;
            while (!(screen = Tools.Run("tmux", ["capture-pane", "-p", "-e", "-t", session]).StdOut).Contains(MenuDrawn))
            {
                if (DateTime.UtcNow > deadline) Assert.Fail($"menu never drawn:\n{screen}");
                ct.WaitHandle.WaitOne(50);
            }
            Assert.True(screen.Contains("\e[") == colour, $"colour expected: {colour}\n{screen.Replace("\e", "^[")}");
            Tools.Run("tmux", ["send-keys", "-t", session, "q"]);
        }
        finally { Tools.Run("tmux", ["kill-session", "-t", session]); }
    }

    /// <summary>
    /// stdout is the terminal but stdin is a FIFO nobody writes to (a pipe that never closes): reading a key would
    /// block for ever. The menu must not start: help on stderr, exit 2, at once. The same when only stdout is redirected.
    /// </summary>
    [Fact]
    public void Without_a_terminal_on_stdin_or_stdout_it_prints_help_and_exits_2_without_waiting()
    {
        var session = "aica-notty-" + Guid.NewGuid().ToString("N")[..8];
        var dir = Directory.CreateTempSubdirectory("aica-notty-").FullName;
        try
        {
            Tools.Sh($"mkfifo '{dir}/in'");
            var script = $"exec 3<>'{dir}/in'; '{Tools.AicaBin}' --root '{_sb.Root}' <&3; echo STDIN-EXITED=$?; "
                + $"'{Tools.AicaBin}' --root '{_sb.Root}' > '{dir}/out'; echo STDOUT-EXITED=$?; read -r _";
            var r = Tools.Run("tmux", ["new-session", "-d", "-s", session, "-x", "80", "-y", "24", "bash", "-c", script]);
            Assert.True(r.ExitCode == 0, r.ToString());
            var deadline = DateTime.UtcNow.AddSeconds(20);
            var ct = TestContext.Current.CancellationToken;
            string screen;
            while (!(screen = Tools.Run("tmux", ["capture-pane", "-p", "-t", session]).StdOut).Contains("STDOUT-EXITED="))
            {
                if (DateTime.UtcNow > deadline) Assert.Fail($"aica waited for input instead of exiting:\n{screen}");
                ct.WaitHandle.WaitOne(50);
            }
            Assert.Contains("STDIN-EXITED=2", screen);
            Assert.Contains("STDOUT-EXITED=2", screen);
            Assert.Contains("Usage: aica", screen); // help on stderr, which is the terminal
            Assert.DoesNotContain("menu", File.ReadAllText($"{dir}/out"));
            Assert.Equal("", File.ReadAllText($"{dir}/out"));
        }
        finally
        {
            Tools.Run("tmux", ["kill-session", "-t", session]);
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void A_member_gets_the_member_menu_and_its_guides()
    {
        var member = "aica-member-" + Guid.NewGuid().ToString("N")[..8];
        _sb.AddUser("alice", 3994);
        Assert.Equal(0, _sb.Aica("recover", "-q").ExitCode);
        Tools.Sh($"mkdir '{_sb.P("/data/users/alice/checkpoints")}' && head -c 300000 /dev/zero > '{_sb.P("/data/users/alice/checkpoints/w.bin")}' && chown -R 3994:3994 '{_sb.P("/data/users/alice/checkpoints")}'");
        try
        {
            var r = Tools.Run("tmux", ["new-session", "-d", "-s", member, "-x", "80", "-y", "24",
                $"NO_COLOR=1 setpriv --reuid=3994 --regid=3994 --clear-groups '{Tools.AicaBin}' --root '{_sb.Root}'; echo EXITED=$?; read -r _"]);
            Assert.True(r.ExitCode == 0, r.ToString());
            string Screen() => Tools.Run("tmux", ["capture-pane", "-p", "-t", member]).StdOut;
            var deadline = DateTime.UtcNow.AddSeconds(20);
            var ct = TestContext.Current.CancellationToken;
            void Wait(string text)
            {
                while (!Screen().Contains(text))
                {
                    if (DateTime.UtcNow > deadline) Assert.Fail($"screen never showed '{text}':\n{Screen()}");
                    ct.WaitHandle.WaitOne(50);
                }
            }
            Wait(MenuDrawn);
            Assert.Contains("member menu", Screen());
            Assert.Contains("Clean my caches", Screen());
            Assert.DoesNotContain("Add a user", Screen());
            Tools.Run("tmux", ["send-keys", "-t", member, "4"]); // conda guide: text, runs nothing
            Wait("conda create");
            Tools.Run("tmux", ["send-keys", "-t", member, "x"]);
            Wait(MenuDrawn);
            Tools.Run("tmux", ["send-keys", "-t", member, "2"]); // my disk usage: du of the member's own data, biggest first
            Wait("under /data/users/alice");
            Assert.Contains("checkpoints", Screen());
            Tools.Run("tmux", ["send-keys", "-t", member, "x"]);
            Wait(MenuDrawn);
            Tools.Run("tmux", ["send-keys", "-t", member, "q"]);
            Wait("EXITED=0");
        }
        finally { Tools.Run("tmux", ["kill-session", "-t", member]); }
    }
}
