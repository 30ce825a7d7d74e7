using Aica.Accounts;
using Aica.Config;
using Aica.Engine;
using static Aica.Native.Perms;

namespace Aica.Site;

/// <summary>Computes the desired state of the server from config + registry (SPEC §2–§3, §8 order).</summary>
public sealed class DesiredStateBuilder(AicaConfig config, Func<string, IHomeLayout?> layouts, Func<EngineContext, string, CancellationToken, Task<string?>>? sudoersValidator = null)
{
    /// <summary>The system has Debian's pam-auth-update profiles (<see cref="Templates.PamConfigsDir"/>): aica's session layer goes there.</summary>
    public bool DebianPam { get; init; }

    /// <summary>What runs the scheduled jobs on this server (<see cref="Scheduler.Detect"/>): their units or the cron file.</summary>
    public Scheduler Scheduler { get; init; } = new(SchedulerKind.Cron, "not detected");

    /// <summary>The shared group's gid: recorded in the config, else the live group's.</summary>
    public static int? SharedGid(AicaConfig c, AccountDb db) => c.Gid ?? db.Group(c.Group)?.Gid;

    /// <summary>Resolves a registry entry to ids; legacy lines take the live account's ids.</summary>
    public static (UserSpec? Spec, string? Problem) Resolve(UserEntry e, AicaConfig c, AccountDb db, int sharedGid, Func<string, IHomeLayout?> layouts)
    {
        var name = e.Layout ?? c.DefaultLayout;
        if (layouts(name) is not { } layout) return (null, $"{e.Name}: layout {name} is not supported by this aica");
        if (e.Group != c.Group)
            return (null, $"{e.Name}: registered in group {e.Group}, but this server's group is {c.Group}");
        if (e.Uid is { } uid && e.Gid is { } gid)
            return (new UserSpec(e.Name, uid, gid, e.Shell ?? c.DefaultShell, layout, sharedGid, c.Group), null);
        var live = db.User(e.Name);
        if (live is null)
            return (null, $"{e.Name}: legacy registry line (no uid recorded) and no account to take it from; re-add with aica user add {e.Name} --uid N");
        return (new UserSpec(e.Name, live.Uid, live.Gid, live.Shell, layout, sharedGid, c.Group), null);
    }

    /// <summary>
    /// The account state stored on /data (read when a state is built): what a full reset lost of each registered
    /// account and the lab's own groups. A refused or missing store gives none: accounts come back locked.
    /// </summary>
    public Func<StoredAccounts>? StoredAccounts { get; init; }

    /// <summary>The man page and shell completions the running executable generated (none when it did not).</summary>
    public IReadOnlyList<GeneratedFile> ManualFiles { get; init; } = [];

    public DesiredState Build(Registry registry, AccountDb db, string? selfExe, IEnumerable<string>? onlyUsers = null)
    {
        var storedAccounts = StoredAccounts?.Invoke() ?? Accounts.StoredAccounts.None;
        var stored = storedAccounts.State;
        var units = new List<Unit>();
        var problems = registry.Problems.Select(p => p.ToString()).ToList();
        var gid = SharedGid(config, db);
        if (gid is null)
        {
            problems.Add($"group {config.Group} has no recorded gid and does not exist; run aica init --gid N");
            return new DesiredState(units, problems);
        }
        var g = (uint)gid.Value;
        units.Add(new Unit(Phase.Group, "group", null, [new GroupItem(config.Group, gid.Value)]));
        if (stored is { Groups.Count: > 0 })
            units.Add(new Unit(Phase.Group, "lab groups", null, stored.Groups.Select(lg => (Item)new GroupItem(lg.Name, lg.Gid, "accounts.group", lg.Members)).ToList()));
        units.Add(new Unit(Phase.Tree, "shared tree", null, TreeItems(g, selfExe).ToList()));
        units.Add(new Unit(Phase.Etc, "/etc files", null, EtcItems().ToList()));
        // Its own unit: a failure here stops no /etc file above.
        units.Add(new Unit(Phase.Etc, "scheduled jobs", null, SchedulingItems.For(config, Scheduler).ToList()));
        // Its own unit: a hand-edited PAM stack stops only these items, never the unit or cron file above.
        if (DebianPam) units.Add(new Unit(Phase.Etc, "session umask and variables", null, SessionItems().ToList()));
        // Its own unit: a read-only /usr stops only the manual, never the accounts or homes.
        if (ManualFiles.Count > 0)
            units.Add(new Unit(Phase.Etc, "manual and completions", null, ManualFiles.Select(f => (Item)new FileItem(f, O(644))).ToList()));

        var only = onlyUsers?.ToHashSet();
        foreach (var e in registry.Users)
        {
            if (only is not null && !only.Contains(e.Name)) continue;
            var (spec, problem) = Resolve(e, config, db, gid.Value, layouts);
            if (spec is null) { problems.Add(problem!); continue; }
            var acct = new List<Item>();
            if (spec.Gid != gid.Value) acct.Add(new GroupItem(spec.Name, spec.Gid, "user.group"));
            // A stored record of another incarnation of the name (another uid) is not this account's.
            var record = stored?.User(spec.Name) is { } r && r.Uid == spec.Uid ? r : null;
            acct.Add(new AccountItem(spec.Name, spec.Uid, spec.Gid, spec.Shell, spec.Home, config.Group, record));
            units.Add(new Unit(Phase.Accounts, $"user {spec.Name}", spec.Name, acct));
            units.Add(new Unit(Phase.Homes, $"home {spec.Name}", spec.Name, spec.Layout.Items(spec, config).ToList()));
        }
        if (only is null)
        {
            var registered = registry.Users.Select(u => new AccountCapture.Registered(u.Name, u.Uid)).ToList();
            units.Add(new Unit(Phase.Accounts, "account state", null, [new AccountStateItem(storedAccounts, registered, config.Group)]));
        }
        return new DesiredState(units, problems);
    }

    /// <summary>SPEC §3: the root:root directories of /data and their modes.</summary>
    public static readonly IReadOnlyList<(string Path, uint Mode)> FixedDirs =
    [
        ("/data", O(755)), ("/data/bin", O(755)), ("/data/config", O(755)), ("/data/admin", O(750)), ("/data/admin/backups", O(750)),
        ("/data/admin/reports", O(750)), ("/data/admin/log", O(750)), ("/data/admin/accounts", O(700)), ("/data/apps", O(755)), ("/data/users", O(755)),
        ("/data/admin/nodes", O(755)), // one status file per node sharing /data (issue 14)
    ];

    /// <summary>SPEC §3, top levels only: recursive repair is aica perms.</summary>
    public IEnumerable<Item> TreeItems(uint gid, string? selfExe)
    {
        var all = new SortedDictionary<string, Item>(StringComparer.Ordinal);
        foreach (var (p, m) in FixedDirs) all[p] = new DirItem(p, 0, 0, m);
        if (config.BackupDir != "/data/admin/backups") all[config.BackupDir] = new DirItem(config.BackupDir, 0, 0, O(750));
        foreach (var (p, m) in config.SharedRoots)
        {
            // Intermediate directories (/data/cache, /data/models, ...) are root:root 0755.
            var parts = p.Split('/', StringSplitOptions.RemoveEmptyEntries);
            for (var i = 2; i < parts.Length; i++)
            {
                var parent = "/" + string.Join('/', parts[..i]);
                if (!all.ContainsKey(parent)) all[parent] = new DirItem(parent, 0, 0, O(755));
            }
            all[p] = new DirItem(p, 0, gid, m, id: "tree.shared");
        }
        foreach (var item in all.Values) yield return item;
        if (selfExe is not null) yield return new BinaryItem(config.InstallPath, selfExe);
        yield return new FileItem(AicaConfig.ConfigPath, config.Render(), O(644), "config.file", createOnly: true);
        yield return new FileItem(AicaConfig.RegistryPath, "# aica user registry: name:group:uid:gid:shell:layout\n", O(644), "registry.file", createOnly: true);
    }

    public IEnumerable<Item> EtcItems()
    {
        yield return new DirItem("/home", 0, 0, O(755), id: "home.root");
        yield return new FileItem(Templates.ProfilePath, Templates.Profile(config), O(644), "etc.profile");
        yield return new FileItem(Templates.CondarcPath, Templates.Condarc(config), O(644), "etc.condarc");
        yield return new FileItem(Templates.SudoersPath, Templates.Sudoers(config), O(440), "sudoers.valid", validate: sudoersValidator);
        yield return new FileItem(Templates.UnitPath, Templates.Unit(config), O(644), "unit.file");
        yield return new FileItem(Templates.CapturePath, Templates.Capture(config), O(644), "unit.file");
        yield return new FileItem(Templates.LogrotatePath, Templates.Logrotate(), O(644), "logrotate.file");
        // Where sync keeps what this node applied last (node-local, survives a home reset): made with the rest of /etc's side.
        yield return new DirItem("/var/lib/aica", 0, 0, O(755), id: "sync.state");
        yield return new LinkItem(Templates.PathLink, config.InstallPath, "bin.path");
    }

    /// <summary>
    /// umask 002 for members and the shared variables in every PAM session (ssh commands, su, cron, systemd --user, any
    /// shell), not only bash login shells: pam_env and pam_umask through a pam-auth-update profile (README "Sessions").
    /// </summary>
    public IEnumerable<Item> SessionItems()
    {
        yield return new FileItem(Templates.PamEnvPath, Templates.PamEnv(config), O(644), "session.env");
        yield return new FileItem(Templates.PamProfilePath, Templates.PamProfile(config), O(644), "session.umask");
        var lines = Templates.PamSessionLines(config);
        foreach (var f in Templates.PamSessionFiles) yield return new PamStackItem(f, Templates.PamProfileName, lines);
    }
}
