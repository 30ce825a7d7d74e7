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
        foreach (var s in _extra) Tools.Run("tmux", ["kill-session", "-t", s]);
        _sb.Dispose();
    }

    private string Screen() => ScreenOf(_session);

    private static string ScreenOf(string session) => Tools.Run("tmux", ["capture-pane", "-p", "-t", session]).StdOut;

    private void Keys(params string[] keys) => SendKeys(_session, keys);

    private static void SendKeys(string session, params string[] keys) => Tools.Run("tmux", ["send-keys", "-t", session, .. keys]);

    /// <summary>The menu's last line: once it shows, the whole menu is drawn (its title alone may be mid-draw).</summary>
    private const string MenuDrawn = "q to quit";

    /// <summary>From an entry's output (or its "cancelled" line), any key goes back to the drawn menu.</summary>
    private void BackToMenu()
    {
        Keys("x");
        WaitFor(MenuDrawn);
    }

    /// <summary>q quits the menu: aica exits 0.</summary>
    private void Quit()
    {
        Keys("q");
        WaitFor("EXITED=0");
    }

    /// <summary>Polls the screen until it shows <paramref name="text"/> (bounded; fails with the screen it saw).</summary>
    private string WaitFor(string text, int seconds = 20) => WaitUntil(_session, s => s.Contains(text), $"'{text}'", seconds);

    private static string WaitIn(string session, string text) => WaitUntil(session, s => s.Contains(text), $"'{text}'");

    /// <summary>Polls the screen until <paramref name="done"/> holds (bounded; fails with the screen it saw).</summary>
    private static string WaitUntil(string session, Func<string, bool> done, string what, int seconds = 20)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        var ct = TestContext.Current.CancellationToken;
        string screen;
        while (!done(screen = ScreenOf(session)))
        {
            if (DateTime.UtcNow > deadline) Assert.Fail($"screen never showed {what}:\n{screen}");
            ct.WaitHandle.WaitOne(50);
            ct.ThrowIfCancellationRequested();
        }
        return screen;
    }

    /// <summary>A second session on the same sandbox: its own size and environment, aica as the pane's process when exec.</summary>
    private string Start(int width, int height, string env = "", string args = "", bool exec = false)
    {
        var session = "aica-menu2-" + Guid.NewGuid().ToString("N")[..8];
        var command = exec
            ? $"exec env {env} NO_COLOR=1 '{Tools.AicaBin}' {args} --root '{_sb.Root}'"
            : $"env {env} NO_COLOR=1 '{Tools.AicaBin}' {args} --root '{_sb.Root}'; echo EXITED=$?; read -r _";
        var r = Tools.Run("tmux", ["new-session", "-d", "-s", session, "-x", width.ToString(), "-y", height.ToString(), command]);
        Assert.True(r.ExitCode == 0, r.ToString());
        _extra.Add(session);
        return session;
    }

    private readonly List<string> _extra = [];

    private bool Registered(string name) => File.ReadAllLines(_sb.P("/data/config/users.txt")).Any(l => l.StartsWith(name + ":", StringComparison.Ordinal));

    private bool HasAccount(string name) => File.ReadAllLines(_sb.P("/etc/passwd")).Any(l => l.StartsWith(name + ":", StringComparison.Ordinal));

    [Fact]
    public void Admin_menu_fits_80x24_runs_an_entry_by_number_and_quits_with_q()
    {
        var screen = WaitFor(MenuDrawn);
        Assert.Contains("Recover now", screen);
        Assert.True(screen.Split('\n').Length <= 25);
        Assert.All(screen.Split('\n'), l => Assert.True(l.Length <= 80));
        Keys("6");
        WaitFor("Type yes to confirm"); // recover creates accounts: it asks first
        Keys("yes", "Enter");
        WaitFor("recovered 0 users, 0 failed");
        WaitFor("Press any key");
        BackToMenu();
        Quit();
    }

    [Fact]
    public void Arrow_keys_move_the_selection_and_Enter_runs_it()
    {
        WaitFor(MenuDrawn);
        Keys("Down", "Down", "Down", "Down", "Enter"); // the fifth entry: user list
        WaitFor("$ aica user list");
        WaitFor("Press any key");
        BackToMenu();
        Quit();
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
        BackToMenu();
        Keys("7");
        WaitFor("Type yes to confirm");
        Keys("yes", "Enter");
        WaitFor("Press any key");
        Assert.Contains("$ aica clean --all --older-than 30", Screen());
        Assert.False(File.Exists(old), "answering yes runs the same clean as the command");
        BackToMenu();
        Quit();
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

    [Fact]
    public void Esc_an_empty_answer_or_q_cancels_every_prompt_and_nothing_is_created()
    {
        WaitFor(MenuDrawn);
        void Cancel(params string[] answersThenCancel)
        {
            Keys("3");
            WaitFor("user name:");
            foreach (var k in answersThenCancel) Keys(k);
            WaitFor("cancelled: nothing changed.");
            Keys("x");
            WaitFor(MenuDrawn);
        }
        Cancel("Escape");
        Cancel("q", "Enter"); // once the name of an account created without asking
        Cancel("Enter");
        Cancel("carol", "Enter", "Escape"); // at the layout prompt
        Cancel("carol", "Enter", "default", "Enter", "ssh-ed25519 AAAAnotakey", "Enter", "Escape"); // a bad key is asked again, then Esc
        Keys("3");
        WaitFor("user name:");
        Keys("carol", "Enter", "default", "Enter", "none", "Enter");
        var screen = WaitFor("Type yes to confirm");
        Assert.Contains("the account stays locked", screen.Replace("\n", " "));
        Assert.Contains("aica user add carol", screen);
        Keys("Enter"); // an empty answer to the confirmation cancels too
        WaitFor("cancelled: nothing changed.");
        BackToMenu();
        foreach (var name in new[] { "q", "carol" })
        {
            Assert.False(HasAccount(name), $"{name} has an account");
            Assert.False(Registered(name), $"{name} is registered");
            Assert.False(Directory.Exists(_sb.P($"/data/users/{name}")), $"{name} has data");
        }
        Quit();
    }

    /// <summary>A valid ed25519 public key line (the blob is the type and 32 key bytes).</summary>
    private static string Ed25519Key(string comment)
    {
        var blob = new List<byte>();
        void Str(byte[] b) { blob.AddRange(BitConverter.GetBytes(System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(b.Length))); blob.AddRange(b); }
        Str("ssh-ed25519"u8.ToArray());
        Str(Enumerable.Range(1, 32).Select(i => (byte)i).ToArray());
        return $"ssh-ed25519 {Convert.ToBase64String(blob.ToArray())} {comment}";
    }

    [Fact]
    public void Add_user_asks_for_a_key_confirms_and_creates_the_account_with_it()
    {
        WaitFor(MenuDrawn);
        var key = Ed25519Key("dave@laptop");
        Keys("3");
        WaitFor("user name:");
        Keys("dave", "Enter", "default", "Enter");
        WaitFor("public key");
        Keys("-l", key);
        Keys("Enter");
        var screen = WaitFor("Type yes to confirm");
        Assert.DoesNotContain("stays locked", screen);
        Assert.Contains("--pubkey-file", screen);
        Assert.False(Registered("dave"), "nothing happens before the confirmation");
        Keys("yes", "Enter");
        WaitFor("Press any key");
        Assert.True(Registered("dave"));
        Assert.True(HasAccount("dave"));
        Assert.Contains(key, File.ReadAllText(_sb.P("/data/users/dave/.ssh/authorized_keys")));
        Assert.DoesNotContain(Directory.GetDirectories(Path.GetTempPath(), "aica-key-*"), d => Directory.GetFiles(d).Any(f => File.ReadAllText(f).Contains("dave@laptop")));
        BackToMenu();
        Quit();
    }

    [Fact]
    public void Long_output_goes_through_PAGER_and_short_output_is_printed()
    {
        var dir = Directory.CreateTempSubdirectory("aica-pager-").FullName;
        try
        {
            var paged = Path.Combine(dir, "paged.txt");
            var session = Start(60, 15, $"PAGER='cat > {paged}'", "-v");
            WaitIn(session, MenuDrawn);
            SendKeys(session, "2"); // doctor -v: every check, far more than 15 lines
            WaitIn(session, "Press any key");
            Assert.Contains("$ aica doctor", File.ReadAllText(paged));
            Assert.Contains("doctor:", File.ReadAllText(paged));
            File.Delete(paged);
            SendKeys(session, "x");
            WaitIn(session, MenuDrawn);
            SendKeys(session, "5"); // user list of an empty server: fits, printed as it is
            var screen = WaitIn(session, "Press any key");
            Assert.Contains("$ aica user list", screen);
            Assert.False(File.Exists(paged), "short output must not go through the pager");
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void Without_PAGER_long_output_goes_through_less_and_q_returns()
    {
        var session = Start(60, 15, "-u PAGER", "-v");
        WaitIn(session, MenuDrawn);
        SendKeys(session, "2");
        var screen = WaitUntil(session, s => s.Contains("$ aica doctor") && s.TrimEnd().EndsWith(':'), "less's prompt");
        Assert.DoesNotContain("Press any key", screen);
        SendKeys(session, "q");
        WaitIn(session, "Press any key");
    }

    private static void AssertFits(string screen, int width, int height)
    {
        var lines = screen.TrimEnd('\n').Split('\n');
        Assert.True(lines.Length <= height, $"{lines.Length} lines:\n{screen}");
        Assert.All(lines, l => Assert.True(l.Length <= width, $"'{l}' is wider than {width}"));
    }

    [Fact]
    public void The_menu_fits_60x15_and_is_redrawn_when_the_terminal_is_resized()
    {
        var screen = WaitFor(MenuDrawn);
        Assert.Contains("Manage the server", screen);
        Tools.Run("tmux", ["resize-window", "-t", _session, "-x", "60", "-y", "15"]);
        screen = WaitUntil(_session, s => !s.Contains("Manage the server") && s.Contains(MenuDrawn), "the compact menu");
        AssertFits(screen, 60, 15);
        Assert.Contains(" 0. Shared data report", screen); // the tenth entry, key 0
        Tools.Run("tmux", ["resize-window", "-t", _session, "-x", "40", "-y", "10"]);
        WaitUntil(_session, s => !s.Contains("0. Shared") && s.Contains("q to quit"), "the scrolled menu");
        for (var i = 0; i < 8; i++) Keys("Down");
        screen = WaitUntil(_session, s => s.Split('\n').Any(l => l.StartsWith('>') && l.Contains("9. Usage by user")), "the ninth entry selected");
        AssertFits(screen, 40, 10);
        Tools.Run("tmux", ["resize-window", "-t", _session, "-x", "80", "-y", "24"]);
        screen = WaitUntil(_session, s => s.Contains("Manage the server") && s.Contains(MenuDrawn), "the full menu again");
        AssertFits(screen, 80, 24);
        Quit();
    }

    [Fact]
    public void Closing_the_terminal_mid_menu_ends_the_process_and_creates_nothing()
    {
        var session = Start(80, 24, exec: true);
        var pid = int.Parse(Tools.Run("tmux", ["display-message", "-p", "-t", session, "#{pane_pid}"]).StdOut.Trim());
        WaitIn(session, MenuDrawn);
        SendKeys(session, "3");
        WaitIn(session, "user name:");
        SendKeys(session, "erin", "Enter", "default", "Enter", "none", "Enter");
        WaitIn(session, "Type yes to confirm");
        Tools.Run("tmux", ["kill-session", "-t", session]);
        var deadline = DateTime.UtcNow.AddSeconds(20);
        var ct = TestContext.Current.CancellationToken;
        while (Directory.Exists($"/proc/{pid}") && !File.ReadAllText($"/proc/{pid}/stat").Contains(") Z "))
        {
            if (DateTime.UtcNow > deadline) Assert.Fail($"aica (pid {pid}) still runs after its terminal closed");
            ct.WaitHandle.WaitOne(50);
        }
        Assert.False(HasAccount("erin"));
        Assert.False(Registered("erin"));
        Assert.False(Directory.Exists(_sb.P("/data/users/erin")));
    }
}
