using Aica.Native;

namespace Aica.Cli.Menu;

/// <summary>
/// The interactive menu (<c>aica</c> with no arguments on a terminal): arrow keys or numbers, Enter to run,
/// q to quit. Each entry runs the same command as the CLI through <see cref="AicaApp"/>. Fits 80×24.
/// </summary>
public sealed class MenuApp(string[] globalArgs, bool admin, TextWriter output, string? dataDir = null)
{
    private readonly bool _colour = Terminal.ColourAllowed;

    private string Bold(string s) => _colour ? $"\e[1m{s}\e[0m" : s;
    private string Inverse(string s) => _colour ? $"\e[7m> {s}\e[0m" : $"> {s}"; // same width as the "  " of the others

    public async Task<int> RunAsync()
    {
        Terminal.UsingConsoleInput(); // ReadKey puts the terminal in keypad mode; reset at exit
        var entries = admin ? MenuModel.Admin() : MenuModel.Member(dataDir);
        var current = 0;
        while (true)
        {
            Draw(entries, current);
            var key = Console.ReadKey(true);
            switch (key.Key)
            {
                case ConsoleKey.UpArrow or ConsoleKey.K: current = (current + entries.Count - 1) % entries.Count; continue;
                case ConsoleKey.DownArrow or ConsoleKey.J: current = (current + 1) % entries.Count; continue;
                case ConsoleKey.Q or ConsoleKey.Escape: output.WriteLine(); return 0;
                case ConsoleKey.Enter: break;
                default:
                    if (key.KeyChar is >= '1' and <= '9' && key.KeyChar - '1' < entries.Count) { current = key.KeyChar - '1'; break; }
                    if (key.KeyChar == '0' && entries.Count >= 10) { current = 9; break; }
                    continue;
            }
            await RunEntry(entries[current]);
            output.Write("\nPress any key to return to the menu...");
            Console.ReadKey(true);
        }
    }

    private void Draw(IReadOnlyList<MenuEntry> entries, int current)
    {
        output.Write("\e[2J\e[H");
        output.WriteLine(Bold($"aica {AicaApp.Version} — {(admin ? "admin" : "member")} menu"));
        output.WriteLine(admin ? "Manage the server: accounts, homes, caches and shared data on /data." : "Your environment on this server.");
        output.WriteLine();
        for (var i = 0; i < entries.Count; i++)
        {
            var label = $"{(i + 1) % 10,2}. {entries[i].Title}";
            output.WriteLine(i == current ? Inverse(label) : "  " + label);
        }
        output.WriteLine("   q. Quit");
        output.WriteLine();
        output.WriteLine("↑/↓ or number to choose, Enter to run, q to quit");
    }

    private async Task RunEntry(MenuEntry entry)
    {
        output.Write("\e[2J\e[H");
        output.WriteLine(Bold(entry.Title));
        output.WriteLine();
        if (entry.Text is not null) { output.WriteLine(entry.Text); return; }
        var answers = new List<string>();
        foreach (var p in entry.Prompts ?? [])
        {
            while (true)
            {
                output.Write($"{p.Label}{(p.Default is { Length: > 0 } d ? $" [{d}]" : "")}: ");
                var line = Console.ReadLine();
                if (line is null) return;
                line = line.Trim();
                if (line.Length == 0 && p.Default is not null) line = p.Default;
                if (p.Validate?.Invoke(line) is { } err) { output.WriteLine($"  {err}"); continue; }
                answers.Add(line);
                break;
            }
        }
        var args = entry.Args(answers);
        if (entry.Destructive)
        {
            output.WriteLine("This changes the server:");
            output.WriteLine($"  aica {string.Join(' ', args)}");
            output.Write("Type yes to confirm: ");
            if (Console.ReadLine()?.Trim() != "yes") { output.WriteLine("cancelled: nothing changed."); return; }
        }
        output.WriteLine($"$ aica {string.Join(' ', args)}");
        var code = await AicaApp.RunAsync([.. globalArgs, .. args], output, output, null);
        output.WriteLine(code == 0 ? "done." : $"finished with exit code {code}.");
    }

    public static bool CanRun => Sys.IsTerminal(0) && Sys.IsTerminal(1);
}
