using Aica.Site;

namespace Aica.Cli.Menu;

/// <summary>
/// What an entry asks before it runs. An empty answer, Esc or a lone <c>q</c> cancels the entry (nothing runs); a
/// <see cref="Validate"/> error asks again.
/// </summary>
public sealed record Prompt(string Label, Func<string, string?>? Validate = null, bool PublicKey = false);

/// <summary>
/// One menu entry: the aica command line it runs (the same commands as the CLI, no second implementation), built
/// from the answers to its prompts. <see cref="Confirm"/>: it creates or removes something, so it shows the command and
/// runs it only after "yes". <see cref="Paged"/>: a report, shown through the pager when it is longer than the screen.
/// <see cref="Notice"/>: what the admin must know before confirming (built from the answers; null for nothing).
/// </summary>
public sealed record MenuEntry(string Title, Func<IReadOnlyList<string>, string[]> Args, IReadOnlyList<Prompt>? Prompts = null,
    bool Confirm = false, string? Text = null, bool Paged = false, Func<IReadOnlyList<string>, string?>? Notice = null);

/// <summary>The admin menu (root) and the member menu, mirroring the bash tool's main.sh.</summary>
public static class MenuModel
{
    private static string? UserName(string s) => Config.Names.ValidateUser(s);

    /// <summary>The answer to the public-key prompt that means "no key".</summary>
    public const string NoKey = "none";

    /// <summary>A pasted key line or a .pub file, checked like user add checks it; "none" for no key.</summary>
    public static string? KeyAnswer(string s)
    {
        if (s == NoKey) return null;
        if (LooksLikeKey(s)) return Users.PublicKey.Parse(s).Reason;
        try { Users.UserService.ReadPublicKey(s); return null; }
        catch (AicaException e) { return e.Message; }
    }

    /// <summary>A pasted key line rather than a path (a key starts with its type: ssh-ed25519, ecdsa-sha2-..., sk-...).</summary>
    public static bool LooksLikeKey(string s) => s.StartsWith("ssh-", StringComparison.Ordinal) || s.StartsWith("ecdsa-", StringComparison.Ordinal)
        || s.StartsWith("sk-", StringComparison.Ordinal);

    public static IReadOnlyList<MenuEntry> Admin() =>
    [
        new("Initial setup (init)", _ => ["init"], Confirm: true),
        new("Doctor: check everything", _ => ["doctor"], Paged: true),
        new("Add a user", a => [.. (string[])["user", "add", a[0]], .. a[1] == "default" ? [] : (string[])["--layout", a[1]],
                .. a[2] == NoKey ? [] : (string[])["--pubkey-file", a[2]]],
            [new Prompt("user name", UserName),
             new Prompt("layout (symlink, hybrid or default)", s => s is "default" or "symlink" or "hybrid" ? null : "symlink, hybrid or default"),
             new Prompt($"public key (.pub file, pasted key line, or {NoKey})", KeyAnswer, PublicKey: true)],
            Confirm: true,
            Notice: a => a[2] == NoKey
                ? $"Without a key the account stays locked: {a[0]} cannot log in until you add one (aica user add {a[0]} --pubkey-file FILE) or set a password (passwd {a[0]})."
                : null),
        new("Remove a user", a => a[1] == "y" ? ["user", "remove", a[0], "--purge", "--yes"] : ["user", "remove", a[0], "--yes"],
            [new Prompt("user name", UserName), new Prompt("also move their /data/users data to a backup? (y/n)",
                s => s is "y" or "n" ? null : "y or n")], Confirm: true),
        new("List users", _ => ["user", "list"], Paged: true),
        new("Recover now", _ => ["recover"], Confirm: true),
        new("Clean caches (all, older than 30 days)", _ => ["clean", "--all", "--older-than", "30"], Confirm: true),
        new("Disk usage and alerts", _ => ["disk"], Paged: true),
        new("Usage by user", _ => ["du", "--by-user"], Paged: true),
        new("Shared data report", _ => ["data", "report"], Paged: true),
    ];

    /// <summary>The member menu; <paramref name="dataDir"/> is the caller's /data/users/NAME (null: not known, env shows the total).</summary>
    public static IReadOnlyList<MenuEntry> Member(string? dataDir) =>
    [
        new("My environment", _ => ["env"], Paged: true),
        new("My disk usage", _ => dataDir is null ? ["env"] : ["du", dataDir, "--top", "15"], Paged: true),
        new("Clean my caches (pip, uv, npm)", _ => ["clean", "--pip", "--uv", "--npm"], Confirm: true),
        new("Conda guide", _ => [], Text: CondaGuide, Paged: true),
        new("Help", _ => [], Text: Help, Paged: true),
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
          aica doctor          your own setup (admins: the whole server), with a fix for each problem
          sudo /data/bin/aica clean --pip --uv --npm    frees your own caches (also --hf, --conda)
          man aica             every command and option
        Ask an admin for anything else.
        """;
}
