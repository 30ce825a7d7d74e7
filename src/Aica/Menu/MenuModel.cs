using Aica.Site;

namespace Aica.Cli.Menu;

/// <summary>What an entry asks before it runs.</summary>
public sealed record Prompt(string Label, string? Default = null, Func<string, string?>? Validate = null);

/// <summary>
/// One menu entry: the aica command line it runs (the same commands as the CLI, no second implementation),
/// built from the answers to its prompts; destructive entries ask for confirmation first.
/// </summary>
public sealed record MenuEntry(string Title, Func<IReadOnlyList<string>, string[]> Args, IReadOnlyList<Prompt>? Prompts = null,
    bool Destructive = false, string? Text = null);

/// <summary>The admin menu (root) and the member menu, mirroring the bash tool's main.sh.</summary>
public static class MenuModel
{
    private static string? UserName(string s) => Config.Names.ValidateUser(s);

    public static IReadOnlyList<MenuEntry> Admin() =>
    [
        new("Initial setup (init)", _ => ["init"]),
        new("Doctor: check everything", _ => ["doctor"]),
        new("Add a user", a => a[1].Length == 0 ? ["user", "add", a[0]] : ["user", "add", a[0], "--layout", a[1]],
            [new Prompt("user name", null, UserName), new Prompt("layout (symlink or hybrid, empty for the default)", "",
                s => s is "" or "symlink" or "hybrid" ? null : "symlink or hybrid")]),
        new("Remove a user", a => a[1] == "y" ? ["user", "remove", a[0], "--purge", "--yes"] : ["user", "remove", a[0], "--yes"],
            [new Prompt("user name", null, UserName), new Prompt("also move their /data/users data to a backup? (y/N)", "n",
                s => s is "y" or "n" ? null : "y or n")], Destructive: true),
        new("List users", _ => ["user", "list"]),
        new("Recover now", _ => ["recover"]),
        new("Clean caches (all, older than 30 days)", _ => ["clean", "--all", "--older-than", "30"], Destructive: true),
        new("Disk usage and alerts", _ => ["disk"]),
        new("Usage by user", _ => ["du", "--by-user"]),
        new("Shared data report", _ => ["data", "report"]),
    ];

    /// <summary>The member menu; <paramref name="dataDir"/> is the caller's /data/users/NAME (null: not known, env shows the total).</summary>
    public static IReadOnlyList<MenuEntry> Member(string? dataDir) =>
    [
        new("My environment", _ => ["env"]),
        new("My disk usage", _ => dataDir is null ? ["env"] : ["du", dataDir, "--top", "15"]),
        new("Clean my caches (pip, uv, npm)", _ => ["clean", "--pip", "--uv", "--npm"], Destructive: true),
        new("Conda guide", _ => [], Text: CondaGuide),
        new("Help", _ => [], Text: Help),
    ];

    /// <summary>
    /// The caller's data directory, from the account database (no NSS lookup: SPEC §6.8), else $USER; null when
    /// neither names a valid user.
    /// </summary>
    public static string? MyDataDir(GlobalOptions options)
    {
        try
        {
            using var s = new AicaServices(options);
            var name = s.Accounts.Load().UserById((int)Native.Sys.Uid)?.Name ?? Environment.GetEnvironmentVariable("USER");
            return name is not null && Config.Names.ValidateUser(name) is null ? Site.UserSpec.DataDirOf(name) : null;
        }
        catch (Exception e) when (e is AicaException or Native.SysException or IOException) { return null; }
    }

    public const string CondaGuide = """
        Conda on this server
          conda create -n myenv python=3.11     environments live on /data (see ~/.condarc envs_dirs)
          conda activate myenv                  the package cache is shared: downloads happen once
          conda env list                        never put environments on the SSD: it is reset at reboot
        Models: TORCH_HOME, HF_HUB_CACHE, HF_DATASETS_CACHE point at the shared caches; your HF token stays in ~/.cache.
        """;

    public const string Help = """
        aica keeps this server usable across reboots: your files live on /data and your home is rebuilt at boot.
          aica env             where your home, data, conda environments and caches are
          aica doctor          (admins) checks everything, with a fix for each problem
          sudo /data/bin/aica clean --pip --uv --npm    frees your own caches (also --hf, --conda)
        Ask an admin for anything else.
        """;
}
