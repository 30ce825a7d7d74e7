using System.Runtime.InteropServices;
using Aica.Native;

namespace Aica.Cli.Menu;

/// <summary>
/// The interactive menu (<c>aica</c> with no arguments on a terminal): arrow keys or numbers, Enter to run, q or Esc
/// to quit. Each entry runs the same command as the CLI through <see cref="AicaApp"/>. The screen is drawn for the
/// terminal's current size (80×24 and smaller) and redrawn when it changes (SIGWINCH). A hang-up (the terminal closed)
/// ends the menu; one that comes while a command runs lets the command finish first, so no account is left half made.
/// </summary>
public sealed class MenuApp(string[] globalArgs, bool admin, TextWriter output, string? dataDir = null)
{
    private readonly bool _colour = Terminal.ColourAllowed;
    private readonly Lock _screen = new();
    private readonly HangupSafeWriter _out = new(output);
    private IReadOnlyList<MenuEntry> _entries = [];
    private int _current;
    private volatile bool _inMenu;
    private volatile bool _running;
    private volatile bool _hungUp;

    private string Bold(string s) => _colour ? $"\e[1m{s}\e[0m" : s;
    private string Inverse(string s) => _colour ? $"\e[7m> {s}\e[0m" : $"> {s}"; // same width as the "  " of the others

    /// <summary>Exit status after a hang-up, as a shell reports a process ended by SIGHUP.</summary>
    private const int HangupExit = 129;

    public async Task<int> RunAsync()
    {
        Terminal.UsingConsoleInput(); // ReadKey puts the terminal in keypad mode; reset at exit
        if (OperatingSystem.IsWindows()) throw new PlatformNotSupportedException("the menu needs a POSIX terminal");
        using var winch = PosixSignalRegistration.Create(PosixSignal.SIGWINCH, _ => { if (_inMenu) Draw(); });
        using var hup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, c =>
        {
            _hungUp = true;
            _out.HungUp = true;
            // Mid-command: finish it (its output is dropped), then leave. Anywhere else: the default, terminate.
            if (_running) c.Cancel = true;
        });
        _entries = admin ? MenuModel.Admin() : MenuModel.Member(dataDir);
        while (true)
        {
            _inMenu = true;
            Draw();
            var key = ReadKey();
            _inMenu = false;
            if (key is null) return _hungUp ? HangupExit : 0;
            switch (key.Value.Key)
            {
                case ConsoleKey.UpArrow or ConsoleKey.K: _current = (_current + _entries.Count - 1) % _entries.Count; continue;
                case ConsoleKey.DownArrow or ConsoleKey.J: _current = (_current + 1) % _entries.Count; continue;
                case ConsoleKey.Q or ConsoleKey.Escape: _out.WriteLine(); return 0;
                case ConsoleKey.Enter: break;
                default:
                    var ch = key.Value.KeyChar;
                    if (ch is >= '1' and <= '9' && ch - '1' < _entries.Count) { _current = ch - '1'; break; }
                    if (ch == '0' && _entries.Count >= 10) { _current = 9; break; }
                    continue;
            }
            await RunEntry(_entries[_current]);
            if (_hungUp) return HangupExit;
            _out.Write("\nPress any key to return to the menu...");
            if (ReadKey() is null) return _hungUp ? HangupExit : 0;
        }
    }

    /// <summary>A key, or null when the terminal is gone (end of input, or the read failed after a hang-up).</summary>
    private ConsoleKeyInfo? ReadKey()
    {
        try
        {
            var k = Console.ReadKey(true);
            return k.Key == 0 && k.KeyChar == '\0' ? null : k; // end of input: the terminal is gone
        }
        catch (Exception e) when (e is InvalidOperationException or IOException) { return null; }
    }

    /// <summary>The terminal's size now (the console layer re-reads it after SIGWINCH); 80×24 if it cannot say.</summary>
    private static (int Width, int Height) Size()
    {
        try { return (Math.Max(Console.WindowWidth, 20), Math.Max(Console.WindowHeight, 5)); }
        catch (Exception e) when (e is IOException or PlatformNotSupportedException) { return (80, 24); }
    }

    /// <summary>
    /// The menu for the current size: the description and blank lines only when there is room, entries scrolled
    /// around the selection when they do not all fit, every line cut to the width (no wrap that would scroll the top away).
    /// </summary>
    private void Draw()
    {
        lock (_screen)
        {
            var (w, h) = Size();
            string Fit(string s) => s.Length < w ? s : s[..(w - 1)];
            var roomy = h >= 20;
            var lines = new List<string> { Bold(Fit($"aica {AicaApp.Version} — {(admin ? "admin" : "member")} menu")) };
            if (roomy)
            {
                lines.Add(Fit(admin ? "Manage the server: accounts, homes, caches and shared data on /data." : "Your environment on this server."));
                lines.Add("");
            }
            var footer = roomy ? 3 : 2; // quit line, (blank,) key help
            var rows = Math.Max(1, h - lines.Count - footer - 1);
            var first = _entries.Count <= rows ? 0 : Math.Clamp(_current - rows / 2, 0, _entries.Count - rows);
            for (var i = first; i < Math.Min(_entries.Count, first + rows); i++)
            {
                var label = Fit($"  {(i + 1) % 10,2}. {_entries[i].Title}")[2..];
                lines.Add(i == _current ? Inverse(label) : "  " + label);
            }
            lines.Add("   q. Quit");
            if (roomy) lines.Add("");
            lines.Add(Fit(w >= 50 ? "↑/↓ or number to choose, Enter to run, q to quit" : "↑/↓ Enter run, q to quit"));
            _out.Write("\e[2J\e[H" + string.Join("\n", lines) + "\n");
        }
    }

    /// <summary>
    /// A line typed at a prompt, echoed as typed: null when it is cancelled (Esc, an empty answer, a lone q) or the
    /// terminal is gone. Console.ReadLine cannot see Esc, and would return "q" as input.
    /// </summary>
    private string? ReadAnswer()
    {
        var line = new System.Text.StringBuilder();
        while (true)
        {
            if (ReadKey() is not { } k) return null;
            switch (k.Key)
            {
                case ConsoleKey.Escape: _out.WriteLine(); return null;
                case ConsoleKey.Enter:
                    _out.WriteLine();
                    var answer = line.ToString().Trim();
                    return answer is "" or "q" ? null : answer;
                case ConsoleKey.Backspace:
                    if (line.Length > 0) { line.Length--; _out.Write("\b \b"); }
                    continue;
            }
            if (k.KeyChar >= ' ' && !char.IsControl(k.KeyChar)) { line.Append(k.KeyChar); _out.Write(k.KeyChar); }
        }
    }

    private async Task RunEntry(MenuEntry entry)
    {
        _out.Write("\e[2J\e[H");
        _out.WriteLine(Bold(entry.Title));
        _out.WriteLine();
        if (entry.Text is not null) { Show(entry.Text, entry.Paged); return; }
        if (entry.Prompts is { Count: > 0 }) _out.WriteLine("(Enter on an empty line or Esc cancels)");
        var answers = new List<string>();
        string? keyDir = null;
        try
        {
            foreach (var p in entry.Prompts ?? [])
            {
                while (true)
                {
                    _out.Write($"{p.Label}: ");
                    var line = ReadAnswer();
                    if (line is null) { Cancelled(); return; }
                    if (p.Validate?.Invoke(line) is { } err) { _out.WriteLine($"  {err}"); continue; }
                    if (p.PublicKey && MenuModel.LooksLikeKey(line))
                    {
                        // user add reads a file: a pasted key goes into one only root can read, removed afterwards.
                        keyDir = Directory.CreateTempSubdirectory("aica-key-").FullName;
                        File.WriteAllText(Path.Combine(keyDir, "key.pub"), line + "\n");
                        line = Path.Combine(keyDir, "key.pub");
                    }
                    answers.Add(line);
                    break;
                }
            }
            var args = entry.Args(answers);
            if (entry.Notice?.Invoke(answers) is { } notice) _out.WriteLine(notice);
            if (entry.Confirm)
            {
                _out.WriteLine("This changes the server:");
                _out.WriteLine($"  aica {string.Join(' ', args)}");
                _out.Write("Type yes to confirm (anything else cancels): ");
                if (ReadAnswer() != "yes") { Cancelled(); return; }
            }
            await Run(args, entry.Paged);
        }
        finally
        {
            if (keyDir is not null)
            {
                // Exactly what was made (root's 0700 folder and the one file in it): no recursive delete, nothing followed.
                File.Delete(Path.Combine(keyDir, "key.pub"));
                Directory.Delete(keyDir);
            }
        }
    }

    private void Cancelled() => _out.WriteLine("cancelled: nothing changed.");

    private async Task Run(string[] args, bool paged)
    {
        var header = $"$ aica {string.Join(' ', args)}";
        _running = true;
        try
        {
            if (!paged)
            {
                _out.WriteLine(header);
                var code = await AicaApp.RunAsync([.. globalArgs, .. args], _out, _out, null);
                _out.WriteLine(code == 0 ? "done." : $"finished with exit code {code}.");
                return;
            }
            // A report: whole, then through the pager when it is longer than the screen.
            var text = new StringWriter();
            var rc = await AicaApp.RunAsync([.. globalArgs, .. args], text, text, null);
            Show($"{header}\n{text}{(rc == 0 ? "done." : $"finished with exit code {rc}.")}", true);
        }
        finally { _running = false; }
    }

    /// <summary>Text that fits below the title is printed; longer text goes through the pager.</summary>
    private void Show(string text, bool paged)
    {
        text = text.TrimEnd('\n');
        if (!paged || _hungUp || text.Split('\n').Length <= Size().Height - 4 || !Pager.Run(text)) _out.WriteLine(text);
    }

    public static bool CanRun => Sys.IsTerminal(0) && Sys.IsTerminal(1);

    /// <summary>The terminal's writer, quiet once the terminal is gone: a command still running must not fail on EIO halfway.</summary>
    private sealed class HangupSafeWriter(TextWriter inner) : TextWriter
    {
        public volatile bool HungUp;
        public override System.Text.Encoding Encoding => inner.Encoding;

        public override void Write(char value) => Guard(() => inner.Write(value));
        public override void Write(string? value) => Guard(() => inner.Write(value));
        public override void WriteLine(string? value) => Guard(() => inner.WriteLine(value));
        public override void Flush() => Guard(inner.Flush);

        private void Guard(Action write)
        {
            if (HungUp) return;
            try { write(); }
            catch (Exception e) when (e is SysException or IOException) { HungUp = true; }
        }
    }
}
