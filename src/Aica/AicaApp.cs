using System.Reflection;
using Aica.Services;
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

    /// <summary>Every command path, so an unknown one is exit 2 before the framework sees it.</summary>
    public static readonly HashSet<string> Commands = new(StringComparer.Ordinal)
    {
        "init", "recover", "doctor",
        "user add", "user remove", "user list", "user fix", "user migrate",
        "perms", "data list", "data fix", "data orphans", "data mirror", "data verify", "data report",
        "clean", "disk", "du",
        "install miniconda", "install uv", "adopt", "env",
        "config check", "accounts capture",
    };

    /// <summary>Parents whose subcommands are listed in <see cref="Commands"/> as "parent sub".</summary>
    private static IEnumerable<string> Groups => Commands.Where(c => c.Contains(' ')).Select(c => c[..c.IndexOf(' ')]).Distinct();

    public static Task<int> RunAsync(string[] args) => RunAsync(args, Console.Out, Console.Error, null);

    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr, Func<GlobalOptions, AicaServices>? services)
    {
        Environment.ExitCode = 0;
        var parsed = GlobalArgs.Parse(args, Environment.GetEnvironmentVariable("AICA_ROOT"));
        if (parsed.Error is { } err) { stderr.WriteLine($"aica: {err}"); stderr.WriteLine(Usage); return ExitCodes.Usage; }
        if (parsed.ShowVersion) { stdout.WriteLine($"aica {Version}"); return 0; }

        var rest = parsed.Rest;
        var positional = rest.TakeWhile(a => !a.StartsWith('-')).ToArray();
        if (rest.Length == 0 && !parsed.Help)
        {
            // The interactive menu needs a terminal; without one print help and never wait for input.
            if (ReferenceEquals(stdout, Console.Out) && Menu.MenuApp.CanRun)
            {
                var admin = Native.Sys.Euid == 0;
                return await new Menu.MenuApp(GlobalArgs.Reconstruct(parsed.Options), admin, stdout, admin ? null : Menu.MenuModel.MyDataDir(parsed.Options)).RunAsync();
            }
            stderr.WriteLine(Usage);
            return ExitCodes.Usage;
        }
        if (parsed.Help && positional.Length == 0) { stdout.WriteLine(Usage); return 0; }
        if (positional.Length == 0) { stderr.WriteLine($"aica: unknown option '{rest[0]}'"); stderr.WriteLine(Usage); return ExitCodes.Usage; }
        var cmd = positional[0];
        if (Groups.Contains(cmd))
        {
            if (positional.Length < 2 || !Commands.Contains($"{cmd} {positional[1]}"))
            {
                if (parsed.Help && positional.Length < 2) { stdout.WriteLine(GroupUsage(cmd)); return 0; }
                stderr.WriteLine(positional.Length < 2 ? $"aica {cmd}: a subcommand is required" : $"aica {cmd}: unknown subcommand '{positional[1]}'");
                stderr.WriteLine(GroupUsage(cmd));
                return ExitCodes.Usage;
            }
        }
        else if (!Commands.Contains(cmd))
        {
            stderr.WriteLine($"aica: unknown command '{cmd}'");
            stderr.WriteLine(Usage);
            return ExitCodes.Usage;
        }

        var ctx = new CliContext(parsed.Options, stdout, stderr, services ?? (o => new AicaServices(o)));
        ConsoleApp.ServiceProvider = ctx;
        ConsoleApp.Log = msg => stdout.WriteLine(msg);
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
        app.Add<Commands.DuCommand>();
        app.Add<Commands.InstallCommands>();
        app.Add<Commands.AdoptCommand>();
        app.Add<Commands.EnvCommand>();
        app.Add<Commands.ConfigCommands>();
        app.Add<Commands.AccountsCommand>();
        await app.RunAsync(parsed.Help ? [.. rest, "--help"] : rest);
        if (ctx.ParseFailedCommand is { } failed)
        {
            // An unknown or malformed option: the command's usage on stderr (SPEC §7), still exit 2.
            ConsoleApp.Log = msg => stderr.WriteLine(msg);
            await app.RunAsync([.. failed.Split(' '), "--help"]);
            return ExitCodes.Usage;
        }
        return Environment.ExitCode;
    }

    private static string GroupUsage(string group) =>
        $"usage: aica {group} <{string.Join("|", Commands.Where(c => c.StartsWith(group + " ")).Select(c => c[(group.Length + 1)..]))}> [options]";

    public static string Usage => $"""
        usage: aica <command> [options]   (aica <command> --help for its options)

        commands: {string.Join(", ", Commands.Select(c => c.Contains(' ') ? c[..c.IndexOf(' ')] : c).Distinct())}
        menu: aica with no arguments on a terminal (admin mode as root, member mode otherwise)
        global options (any position): --root DIR  --json  -q  -v  --wait SECONDS  --help  --version
        exit codes: 0 ok · 1 failed · 2 usage · 3 refused for safety · 4 lock busy · 130 interrupted
        """;
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
