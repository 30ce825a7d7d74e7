using System.Reflection;
using Aica.Contracts;
using Aica.Services;
using Aica.Site;
using ConsoleAppFramework;

namespace Aica.Cli;

/// <summary>
/// Starts the app: pulls the global options out of any position (SPEC §7), rejects unknown commands with exit 2
/// (ConsoleAppFramework would print help and exit 0), then lets the generated parser run the command.
/// </summary>
public static class AicaApp
{
    /// <summary>The version, from the one place it is written (Aica.csproj's &lt;Version&gt;).</summary>
    public static readonly string Version =
        typeof(AicaApp).Assembly.GetCustomAttribute<System.Reflection.AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0";

    /// <summary>
    /// Every command in one place: its path, its arguments as the usage line shows them (a bare NAME is required,
    /// [NAME] optional) and the one-line description of <c>aica --help</c>. The unknown-command check, the
    /// missing-argument check, "did you mean" and the rewritten help all read it.
    /// </summary>
    public static readonly CommandInfo[] Table =
    [
        new("init", "", "First setup: config, group, shared tree, /etc files, unit and cron"),
        new("recover", "", "Rebuild everything derived from /data (run at boot)"),
        new("doctor", "", "Check the server (or, as a member, your own setup); -v for every check"),
        new("user add", "USER", "Create or adopt an account, set up its home, register it"),
        new("user remove", "USER", "Unregister and remove an account (--purge backs up its data)"),
        new("user list", "", "The registry joined with the accounts that exist"),
        new("user fix", "USER", "Repair owner, group and setgid bits of /data/users/USER"),
        new("user migrate", "USER", "Move a user between the symlink and hybrid layouts (with backup)"),
        new("perms", "[PATH...]", "Normalise group and modes of the shared trees"),
        new("data list", "[NAME...]", "Datasets: size, files, owner, mode, readable by members"),
        new("data fix", "", "Normalise admin uploads in /data/dataset"),
        new("data orphans", "", "User data with no registered user (--remove moves it aside)"),
        new("data mirror", "", "Keep the legacy data paths in step with /data"),
        new("data verify", "", "Prove each member can read each dataset"),
        new("data report", "", "All data checks in one report file"),
        new("clean", "", "Clean caches: per-target status and bytes freed"),
        new("disk", "", "Usage of the watched mounts; alert above the threshold (exit 5)"),
        new("metrics", "", "Prometheus metrics on stdout, or --textfile DIR for node_exporter"),
        new("notify", "", "Tell disk.notify / disk.mail that a systemd unit failed (--failed-unit UNIT)"),
        new("du", "[PATH]", "Fast disk usage, biggest first"),
        new("install miniconda", "", "Install the shared Miniconda from a local installer"),
        new("install uv", "", "Install uv from a local release archive"),
        new("adopt", "", "Take over a server set up by the bash scripts"),
        new("env", "", "Your environment: layout, paths, caches, hints"),
        new("config check", "[FILE]", "Validate aica.toml (or FILE) like sshd -t; every problem with its line"),
        new("accounts capture", "", "Store the registered users' password hashes, locks and groups on /data"),
        new("completion", "SHELL", "Print the bash or zsh completion script (init installs both)"),
        new("manpage", "", "Print the aica(8) man page (init installs it)"),
        new("sync", "", "Follow registry changes made on other nodes (the timer's job; instant when nothing changed)"),
        new("fleet status", "", "The nodes sharing /data: stale, behind, id conflicts, version skew (from their status files)"),
        new("health", "", "Node health for Slurm/NHC: one line, drains with an aica: reason on a FAIL"),
    ];

    /// <summary>Every command path, so an unknown one is exit 2 before the framework sees it.</summary>
    public static readonly HashSet<string> Commands = new(Table.Select(c => c.Name), StringComparer.Ordinal);

    /// <summary>Commands whose method takes no parameter: the generated parser ignores anything given to them.</summary>
    private static readonly HashSet<string> TakesNothing = new(["user list", "manpage", "fleet status"], StringComparer.Ordinal);

    /// <summary>Parents whose subcommands are listed in <see cref="Commands"/> as "parent sub".</summary>
    private static IEnumerable<string> Groups => Commands.Where(c => c.Contains(' ')).Select(c => c[..c.IndexOf(' ')]).Distinct();

    public static Task<int> RunAsync(string[] args) => RunAsync(args, Terminal.Out, Terminal.Err, null);

    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr, Func<GlobalOptions, AicaServices>? services)
    {
        Environment.ExitCode = 0;
        var parsed = GlobalArgs.Parse(args, Environment.GetEnvironmentVariable("AICA_ROOT"));
        if (parsed.Error is { } err) return UsageError(stdout, stderr, parsed.Options, $"aica: {err}", ShortUsage);
        if (parsed.ShowVersion) { stdout.WriteLine($"aica {Version}"); return 0; }

        var rest = parsed.Rest;
        var positional = rest.TakeWhile(a => !a.StartsWith('-')).ToArray();
        if (rest.Length == 0 && !parsed.Help)
        {
            // The interactive menu needs a terminal; without one print help and never wait for input.
            if (ReferenceEquals(stdout, Terminal.Out) && Menu.MenuApp.CanRun)
            {
                var admin = Native.Sys.Euid == 0;
                return await new Menu.MenuApp(GlobalArgs.Reconstruct(parsed.Options), admin, stdout, admin ? null : Menu.MenuModel.MyDataDir(parsed.Options)).RunAsync();
            }
            stderr.WriteLine("aica: the menu needs a terminal on stdin and stdout; give a command");
            stderr.WriteLine(ShortUsage);
            return ExitCodes.Usage;
        }
        if (parsed.Help && positional.Length == 0) { stdout.WriteLine(Usage); return 0; }
        if (positional.Length == 0) return UsageError(stdout, stderr, parsed.Options, $"aica: unknown option '{rest[0]}'", ShortUsage);
        var cmd = positional[0];
        if (Groups.Contains(cmd))
        {
            if (positional.Length < 2 || !Commands.Contains($"{cmd} {positional[1]}"))
            {
                if (parsed.Help && positional.Length < 2) { stdout.WriteLine(GroupUsage(cmd)); return 0; }
                var message = positional.Length < 2 ? $"aica {cmd}: a subcommand is required"
                    : $"aica {cmd}: unknown subcommand '{positional[1]}'" + DidYouMean(positional[1], Commands.Where(c => c.StartsWith(cmd + " ")).Select(c => c[(cmd.Length + 1)..]), $"aica {cmd} ");
                return UsageError(stdout, stderr, parsed.Options, message, GroupUsage(cmd));
            }
        }
        else if (!Commands.Contains(cmd))
        {
            var near = Commands.Select(c => c.Contains(' ') ? c[..c.IndexOf(' ')] : c).Distinct().Concat(Commands.Where(c => c.Contains(' ')));
            return UsageError(stdout, stderr, parsed.Options, $"aica: unknown command '{cmd}'" + DidYouMean(cmd, near, "aica "), ShortUsage);
        }

        var ctx = new CliContext(parsed.Options, stdout, stderr, services ?? (o => new AicaServices(o))) { Progress = TerminalProgress.For(parsed.Options, stderr) };
        ConsoleApp.ServiceProvider = ctx;
        ConsoleApp.Log = msg => stdout.WriteLine(HelpText.Rewrite(msg));
        ConsoleApp.LogError = msg => stderr.WriteLine($"aica: {msg}");
        var app = ConsoleApp.Create();
        app.UseFilter<ErrorFilter>();
        app.Add<Commands.InitCommand>();
        app.Add<Commands.RecoverCommand>();
        app.Add<Commands.DoctorCommand>();
        app.Add<Commands.UserCommands>();
        app.Add<Commands.PermsCommand>();
        app.Add<Commands.DataCommands>();
        app.Add<Commands.CleanCommand>();
        app.Add<Commands.DiskCommand>();
        app.Add<Commands.MetricsCommand>();
        app.Add<Commands.NotifyCommand>();
        app.Add<Commands.DuCommand>();
        app.Add<Commands.InstallCommands>();
        app.Add<Commands.AdoptCommand>();
        app.Add<Commands.EnvCommand>();
        app.Add<Commands.ConfigCommands>();
        app.Add<Commands.AccountsCommand>();
        app.Add<Commands.ManualCommands>();
        app.Add<Commands.SyncCommand>();
        app.Add<Commands.FleetCommands>();
        app.Add<Commands.HealthCommand>();
        var words = Commands.Contains(cmd) ? 1 : 2;
        var info = Table.First(c => c.Name == string.Join(' ', positional.Take(words)));
        if (!parsed.Help && Manual.ManualFiles.UsedBy(info.Name))
            ctx.CommandDocs = new(() => CollectCommandDocs(app));
        if (!parsed.Help && info.RequiredArgument is { } required && rest.Length == words)
        {
            // The framework would print help and exit 0: a script whose variable came out empty would "succeed".
            var message = $"aica {info.Name}: missing argument {required}";
            if (parsed.Options.Json) WriteJsonError(stdout, message, ExitCodes.Usage);
            stderr.WriteLine(message);
            ConsoleApp.Log = msg => stderr.WriteLine(HelpText.Rewrite(msg));
            await app.RunAsync([.. info.Name.Split(' '), "--help"]);
            return ExitCodes.Usage;
        }
        if (!parsed.Help && TakesNothing.Contains(info.Name) && rest.Length > words)
            return UsageError(stdout, stderr, parsed.Options, $"aica {info.Name}: unexpected '{rest[words]}' (it takes no arguments or options)", $"Usage: aica {info.Name} [global options]");
        await app.RunAsync(parsed.Help ? [.. rest, "--help"] : rest);
        if (ctx.ParseFailedCommand is { } failed)
        {
            // An unknown or malformed option: the command's usage on stderr (SPEC §7), still exit 2.
            ConsoleApp.Log = msg => stderr.WriteLine(HelpText.Rewrite(msg));
            await app.RunAsync([.. failed.Split(' '), "--help"]);
            return ExitCodes.Usage;
        }
        return Environment.ExitCode;
    }

    /// <summary>
    /// Every command's help, read through the parser: only when a man page or completion file must be written or read
    /// (a steady recover finds them current by their record and never renders them). The parser's log is captured for
    /// the nested runs and the exit code kept. A failure is the engine's to report (the manual's own unit fails).
    /// </summary>
    private static IReadOnlyList<Manual.CommandDoc> CollectCommandDocs(ConsoleApp.ConsoleAppBuilder app)
    {
        var (log, exitCode) = (ConsoleApp.Log, Environment.ExitCode);
        var help = new System.Text.StringBuilder();
        ConsoleApp.Log = m => help.Append(m);
        try { return Manual.CommandDocs.Collect(a => { help.Clear(); app.Run(a); return help.ToString(); }); }
        catch (Exception e) when (e is not AicaException) { throw new AicaException($"the command definitions could not be read: {e.Message}"); }
        finally { (ConsoleApp.Log, Environment.ExitCode) = (log, exitCode); }
    }

    /// <summary>A usage error: the message and the usage on stderr, with --json also the error document on stdout.</summary>
    private static int UsageError(TextWriter stdout, TextWriter stderr, GlobalOptions o, string message, string usage)
    {
        if (o.Json) WriteJsonError(stdout, message, ExitCodes.Usage);
        stderr.WriteLine(message);
        stderr.WriteLine(usage);
        return ExitCodes.Usage;
    }

    /// <summary>The one JSON document of a failed --json run: {"error": "...", "exit_code": N}.</summary>
    public static void WriteJsonError(TextWriter stdout, string message, int exitCode) =>
        AicaJson.Write(stdout, new ErrorDoc(message, exitCode), AicaJson.Error);

    /// <summary>"; did you mean 'aica user'?" for the nearest name within a small edit distance, else "".</summary>
    public static string DidYouMean(string typed, IEnumerable<string> names, string prefix) =>
        FirstNear(typed, names) is { } n ? $" (did you mean '{prefix}{n}'?)" : "";

    private static string? FirstNear(string typed, IEnumerable<string> names)
    {
        var limit = typed.Length <= 3 ? 1 : 2;
        return names.Select(n => (Name: n, D: EditDistance(typed, n))).Where(x => x.D <= limit).OrderBy(x => x.D).ThenBy(x => x.Name, StringComparer.Ordinal)
            .Select(x => x.Name).FirstOrDefault();
    }

    /// <summary>Levenshtein distance (insert, delete, substitute), with a swap of two neighbours counted as one.</summary>
    public static int EditDistance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (var i = 0; i <= a.Length; i++) d[i, 0] = i;
        for (var j = 0; j <= b.Length; j++) d[0, j] = j;
        for (var i = 1; i <= a.Length; i++)
            for (var j = 1; j <= b.Length; j++)
            {
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
            }
        return d[a.Length, b.Length];
    }

    private static string GroupUsage(string group) =>
        $"Usage: aica {group} <subcommand> [options]   (aica {group} <subcommand> --help for its options)\n\nSubcommands:\n" +
        string.Join("\n", Table.Where(c => c.Name.StartsWith(group + " ")).Select(c => $"  {(c.Name[(group.Length + 1)..] + " " + c.Args).TrimEnd(),-18} {c.Description}"));

    /// <summary>The global options as help lists them (any position on the command line).</summary>
    public const string GlobalOptionsHelp = """
        Global options (any position):
          --root DIR        Operate on a server tree mounted at DIR (also AICA_ROOT; default /)
          --json            One JSON document on stdout, also on failure: {"error": ..., "exit_code": N}
          -q, --quiet       Only problems and the summary
          -v, --verbose     More detail (doctor: every check)
          --wait SECONDS    Wait this long for another aica's lock (default 30)
          -h, --help        This help
          --version         The version
        """;

    /// <summary>The usage line after an error: the message above it matters, not the whole command list.</summary>
    public const string ShortUsage = "Usage: aica <command> [options]   (aica --help lists the commands)";

    public static string Usage => $"""
        Usage: aica <command> [options]   (aica <command> --help for its options)

        Commands:
        {string.Join("\n", Table.Select(c => $"  {(c.Name + " " + c.Args).TrimEnd(),-22} {c.Description}"))}

        {GlobalOptionsHelp}

        With no arguments on a terminal: the menu (admin mode as root, member mode otherwise).
        Exit codes: 0 ok · 1 failed · 2 usage · 3 refused for safety · 4 lock busy · 130 interrupted
                    5 disk raised an alert · 6 doctor --strict found warnings
        """;
}

/// <summary>One command: its path ("user add"), its arguments for the usage line, its one-line description.</summary>
public sealed record CommandInfo(string Name, string Args, string Description)
{
    /// <summary>The first required argument (a bare NAME in <see cref="Args"/>), or null.</summary>
    public string? RequiredArgument => Args.Split(' ', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault(a => !a.StartsWith('['));
}

/// <summary>The global options, taken out of any position of the command line.</summary>
public sealed record GlobalArgs(GlobalOptions Options, string[] Rest, bool Help, bool ShowVersion, string? Error)
{
    /// <summary>The global options as arguments again (for commands the menu runs).</summary>
    public static string[] Reconstruct(GlobalOptions o)
    {
        var list = new List<string>();
        if (o.Root != "/") { list.Add("--root"); list.Add(o.Root); }
        if (o.WaitSeconds != 30) list.Add($"--wait={o.WaitSeconds}");
        if (o.Verbose) list.Add("-v");
        return list.ToArray();
    }

    public static GlobalArgs Parse(string[] args, string? envRoot)
    {
        var o = new GlobalOptions(Root: string.IsNullOrEmpty(envRoot) ? "/" : envRoot);
        var rest = new List<string>();
        bool help = false, version = false;
        for (var i = 0; i < args.Length; i++)
        {
            var a = args[i];
            // The framework drops what follows "--" without a word ("aica perms -- /data/x" would normalise every
            // shared root); aica passes nothing through, so it is a usage error.
            if (a == "--") return new GlobalArgs(o, [], false, false, "'--' is not used by aica (a path that starts with '-' can be given as ./NAME or in full)");
            string? Value(string name)
            {
                if (a.StartsWith(name + "=")) return a[(name.Length + 1)..];
                if (i + 1 < args.Length) return args[++i];
                return null;
            }
            switch (a)
            {
                case "--json": o = o with { Json = true }; continue;
                case "-q" or "--quiet": o = o with { Quiet = true }; continue;
                case "-v" or "--verbose": o = o with { Verbose = true }; continue;
                case "-h" or "--help": help = true; continue;
                case "--version": version = true; continue;
            }
            if (a == "--root" || a.StartsWith("--root="))
            {
                var v = Value("--root");
                if (string.IsNullOrEmpty(v)) return new GlobalArgs(o, [], false, false, "--root needs a directory");
                if (!v.StartsWith('/')) return new GlobalArgs(o, [], false, false, $"--root must be an absolute path: {v}");
                o = o with { Root = v };
                continue;
            }
            if (a == "--wait" || a.StartsWith("--wait="))
            {
                var v = Value("--wait");
                if (!int.TryParse(v, out var w) || w < 0 || w > 86400) return new GlobalArgs(o, [], false, false, $"--wait needs seconds (0–86400), got '{v}'");
                o = o with { WaitSeconds = w };
                continue;
            }
            rest.Add(a);
        }
        return new GlobalArgs(o, rest.ToArray(), help, version, null);
    }
}
