using System.Globalization;
using Aica.Accounts;
using Aica.Config;
using Aica.Engine;
using Aica.IO;
using Aica.Native;
using Aica.Services;

namespace Aica.Users;

public sealed record UserAddOptions(string Name, string? Group = null, int? Uid = null, string? Shell = null, string? Layout = null,
    string? PubkeyFile = null, bool DryRun = false);

public sealed record UserAddResult(UserEntry Entry, string Mode, bool RegistryChanged, IReadOnlyList<PlannedAction> Planned, ApplyReport? Applied,
    IReadOnlyList<string> Problems, IReadOnlyList<string> Notes)
{
    public bool Failed => Applied?.AnyFailed == true || Problems.Count > 0;
    public bool NoChanges => !RegistryChanged && Planned.Count == 0 && (Applied is null || Applied.Actions.Count == 0);
}

public sealed record UserRemoveOptions(string Name, bool Purge = false, bool Force = false, bool DryRun = false);

public sealed record UserRemoveResult(string Name, int? Uid, IReadOnlyList<string> Steps, string? Backup, bool DryRun);

public sealed record UserRow(string Name, int? Uid, int? Gid, string? Shell, string? Layout, string Status, string Detail);

/// <summary>
/// aica user add|remove|list (SPEC §4–§6): accounts with user private groups, the home per layout through the same
/// desired-state engine as recover (only this user's units), the registry under its lock.
/// </summary>
public sealed class UserService(AicaServices s)
{
    public const int FirstUid = 1000;

    /// <summary>The admin's .pub file: read from the host (it is the admin's input, not a member-writable tree).</summary>
    public static PublicKey ReadPublicKey(string file)
    {
        string text;
        // Often a file a member handed over: opened without blocking (a FIFO would hang the admin's command until
        // someone writes to it) and read only when it is a regular file of a public key's size.
        var fd = Native.Sys.TryOpenAt(Native.Flags.AT_FDCWD, Native.Sys.Z(file), Native.Flags.O_RDONLY | Native.Flags.O_NONBLOCK | Native.Flags.O_NOCTTY, out var errno);
        if (fd is null)
            throw AicaException.Usage(errno == Native.Flags.ENOENT ? $"--pubkey-file {file}: no such file" : $"--pubkey-file {file}: {Native.Sys.StrError(errno)}");
        using (fd)
        {
            try
            {
                var st = Native.Sys.Fstat(fd, file);
                if (!st.IsFile) throw AicaException.Usage($"--pubkey-file {file}: not a regular file");
                if (st.Size > 16384) throw AicaException.Usage($"--pubkey-file {file}: too large for a public key");
                text = System.Text.Encoding.UTF8.GetString(Native.Sys.ReadAll(fd, file, 16384));
            }
            catch (Native.SysException e) { throw AicaException.Usage($"--pubkey-file {file}: {e.Message}"); }
        }
        var (key, reason) = PublicKey.Parse(text);
        return key ?? throw AicaException.Usage($"--pubkey-file {file}: {reason}");
    }

    public async Task<UserAddResult> Add(UserAddOptions o, CancellationToken ct)
    {
        if (Names.ValidateUser(o.Name) is { } ue) throw AicaException.Usage(ue);
        if (o.Group is not null && Names.ValidateGroup(o.Group) is { } ge) throw AicaException.Usage(ge);
        if (o.Uid is { } u0 && Names.ValidateId(u0, "uid") is { } ie) throw AicaException.Usage(ie);
        if (o.Shell is not null && Names.ValidateShell(o.Shell) is { } se) throw AicaException.Usage(se);
        if (o.Layout is not null && Names.ValidateLayout(o.Layout) is { } le) throw AicaException.Usage(le);
        var key = o.PubkeyFile is null ? null : ReadPublicKey(o.PubkeyFile);
        if (!o.DryRun) s.RequireRoot("user add");
        s.RequireDataMounted();

        using var _ = o.DryRun ? null : s.Lock(ct);
        if (!s.ConfigExists) throw AicaException.Usage($"{s.Fs.Host(AicaConfig.ConfigPath)} is missing: run aica init first");
        var config = s.LoadConfig();
        var group = o.Group ?? config.Group;
        if (group != config.Group) throw AicaException.Usage($"this server's group is {config.Group}, not {group}");
        var db = s.Accounts.Load();
        var sharedGid = DesiredStateBuilder.SharedGid(config, db) ?? throw AicaException.Usage($"group {config.Group} does not exist: run aica init first");
        var registry = s.Registry.Load();
        var (entry, mode) = Decide(o, config, db, registry);

        var dataDir = s.Fs.Lstat($"/data/users/{o.Name}");
        if (dataDir is { } dd && dd.IsDir && dd.Uid != 0 && dd.Uid != entry.Uid)
            throw AicaException.Refused($"/data/users/{o.Name} belongs to uid {dd.Uid}, not {entry.Uid}: a new user must not inherit old files " +
                $"(move it away with aica data orphans --remove, or re-add with --uid {dd.Uid} if it is this person)");

        var planned = Registry.Parse(registry.Render());
        var registryChanged = planned.Upsert(entry);
        var state = s.Builder(config).Build(planned, db, null, [o.Name]);
        var problems = state.Problems.Where(p => p.StartsWith(o.Name + ":", StringComparison.Ordinal)).ToList();
        var units = state.Units.Where(x => x.User == o.Name).Select(x => x.Phase == Phase.Homes ? WithAddItems(x, entry, sharedGid, config, key) : x).ToList();
        var userState = new DesiredState(units, problems);
        var ctx = s.Context(config);
        var engine = new StateEngine(ctx);
        if (o.DryRun) return new UserAddResult(entry, mode, registryChanged, engine.Plan(userState), null, problems, []);

        var applied = await engine.Apply(userState, ct).ConfigureAwait(false);
        // Register once the account exists (a failed useradd leaves no registry line for recover to trip on).
        var accountOk = s.Accounts.Load().User(o.Name) is not null;
        var changed = false;
        if (accountOk && registryChanged) changed = s.Registry.Update(reg => reg.Upsert(entry), s.Wait, ct);
        var notes = ctx.Notes.ToList();
        if (accountOk && new CaptureService(s).AfterAccountChange() is { } notCaptured) notes.Add(notCaptured);
        s.Log("user", $"add {o.Name} uid {entry.Uid} layout {entry.Layout} ({mode}): {applied.Actions.Count(a => a.Ok)} changes, {applied.Actions.Count(a => !a.Ok)} failed");
        return new UserAddResult(entry, mode, changed, [], applied, problems, notes);
    }

    /// <summary>Create, adopt, or complete a registered user: which ids, shell and layout the entry gets.</summary>
    private (UserEntry Entry, string Mode) Decide(UserAddOptions o, AicaConfig config, AccountDb db, Registry registry)
    {
        var reg = registry.Find(o.Name);
        var live = db.User(o.Name);
        var layout = o.Layout ?? reg?.Layout ?? config.DefaultLayout;
        if (reg?.Layout is { } rl && o.Layout is not null && rl != o.Layout)
            throw AicaException.Usage($"{o.Name} is registered with layout {rl}: use aica user migrate {o.Name} --to {o.Layout}");
        if (live is not null)
        {
            if (live.Uid < Names.MinUid) throw AicaException.Refused($"{o.Name} is a system account (uid {live.Uid})");
            if (o.Uid is { } want && want != live.Uid) throw AicaException.Usage($"account {o.Name} exists with uid {live.Uid}, not {want} (an existing account is adopted unchanged)");
            if (o.Shell is { } sh && sh != live.Shell) throw AicaException.Usage($"account {o.Name} exists with shell {live.Shell}; an existing account is adopted unchanged (change it with chsh)");
            if (reg?.Uid is { } ru && (ru != live.Uid || reg.Gid != live.Gid))
                throw AicaException.Usage($"{o.Name} is registered with uid/gid {ru}/{reg.Gid} but the account has {live.Uid}/{live.Gid}: fix one of them first");
            return (new UserEntry(o.Name, config.Group, live.Uid, live.Gid, live.Shell, layout), "adopted");
        }
        if (reg?.Uid is { } regUid)
        {
            if (o.Uid is { } want && want != regUid) throw AicaException.Usage($"{o.Name} is registered with uid {regUid}, not {want}");
            return (reg with { Layout = layout, Shell = reg.Shell ?? config.DefaultShell, Line = 0 }, "recreated");
        }
        var retired = registry.RetiredUids();
        var uid = o.Uid ?? AllocateUid(o.Name, db, registry, retired);
        if (db.UserById(uid) is { } other) throw AicaException.Usage($"uid {uid} is taken by {other.Name}");
        if (db.GroupById(uid) is { } og && og.Name != o.Name) throw AicaException.Usage($"gid {uid} (the private group's, = uid) is taken by group {og.Name}");
        if (db.Group(o.Name) is { } pg && pg.Gid != uid) throw AicaException.Usage($"a group {o.Name} exists with gid {pg.Gid}; the private group needs gid = uid {uid} (give --uid {pg.Gid})");
        if (registry.Users.FirstOrDefault(x => x.Name != o.Name && (x.Uid == uid || x.Gid == uid)) is { } clash)
            throw AicaException.Usage($"uid {uid} is registered to {clash.Name}");
        if (retired.FirstOrDefault(r => r.Uid == uid && r.Name != o.Name) is { Name: not null } ret && o.Uid is not null)
            throw AicaException.Usage($"uid {uid} was retired from {ret.Name} (their files may still carry it): choose another uid");
        return (new UserEntry(o.Name, config.Group, uid, uid, o.Shell ?? config.DefaultShell, layout), "created");
    }

    /// <summary>The first uid (= gid) free everywhere; a name's own retired uid is preferred, anyone else's is never reused.</summary>
    public static int AllocateUid(string name, AccountDb db, Registry registry, IReadOnlyList<(int Uid, string Name)> retired)
    {
        bool Free(int id) => db.UserById(id) is null && db.GroupById(id) is null && !retired.Any(r => r.Uid == id && r.Name != name)
            && !registry.Users.Any(x => x.Uid == id || x.Gid == id);
        foreach (var (uid, n) in retired.Reverse())
            if (n == name && Free(uid)) return uid;
        for (var id = FirstUid; id <= Names.MaxUid; id++)
            if (Free(id)) return id;
        throw new AicaException("no free uid left in 1000–60000");
    }

    /// <summary>user add's own items around the layout's: /etc/skel content before the rc blocks, the key before the tamper scan.</summary>
    private static Unit WithAddItems(Unit unit, UserEntry e, int sharedGid, AicaConfig config, PublicKey? key)
    {
        var spec = new UserSpec(e.Name, e.Uid!.Value, e.Gid!.Value, e.Shell!, e.Layout!, sharedGid, config.Group);
        var dotBase = UserHome.DotBase(spec);
        var homeBase = spec.Layout == "hybrid" ? spec.Home : spec.DataDir;
        var items = unit.Items.ToList();
        var firstBlock = items.FindIndex(i => i is ManagedBlockItem);
        items.Insert(firstBlock < 0 ? items.Count : firstBlock,
            new SkelItem(dotBase, homeBase, HybridLayout.Managed(config).ToHashSet(), (uint)spec.Uid, (uint)sharedGid, (uint)spec.Gid));
        if (key is not null)
        {
            var scan = items.FindIndex(i => i is TamperScanItem);
            items.Insert(scan < 0 ? items.Count : scan, new AuthorizedKeyItem($"{dotBase}/.ssh/authorized_keys", key, (uint)spec.Uid, (uint)sharedGid));
        }
        return unit with { Items = items };
    }

    public async Task<UserRemoveResult> Remove(UserRemoveOptions o, CancellationToken ct)
    {
        if (Names.ValidateUser(o.Name) is { } ue) throw AicaException.Usage(ue);
        if (!o.DryRun) s.RequireRoot("user remove");
        s.RequireDataMounted();
        using var _ = o.DryRun ? null : s.Lock(ct);
        var config = s.LoadConfig();
        var db = s.Accounts.Load();
        var registry = s.Registry.Load();
        var reg = registry.Find(o.Name);
        var live = db.User(o.Name);
        if (reg is null && live is null) throw AicaException.Usage($"no such user: {o.Name} is neither registered nor an account");
        var uid = live?.Uid ?? reg?.Uid;
        if (uid is < Names.MinUid) throw AicaException.Refused($"{o.Name} is a system account (uid {uid}): not removed");
        if (IsInvoker(o.Name, uid)) throw AicaException.Refused($"{o.Name} is the admin running this command: not removed");
        if (!o.Force && uid is { } pu) RefuseBusy(o.Name, pu, "log them out first, or --force");

        var steps = new List<string>();
        var tree = new SafeTree(s.Fs);
        var home = $"/home/{o.Name}";
        var data = $"/data/users/{o.Name}";
        var homeSt = s.Fs.Lstat(home);
        string? backup = null;
        string Backup() => backup ??= o.DryRun ? $"{config.BackupDir}/removed-{o.Name}_{s.Clock.Stamp()}" : UserHome.BackupDir(s.Fs, config.BackupDir, "removed", o.Name, s.Clock, unique: true);

        if (live is not null) steps.Add($"remove account {o.Name} (userdel{(o.Force ? " -f" : "")})");
        if (db.Group(o.Name) is { } pg && pg.Gid == live?.Gid) steps.Add($"remove private group {o.Name}");
        // SSD home: a link goes; a real (hybrid) home keeps nothing the user made: that moves to the backup first.
        if (homeSt is { IsLink: true }) steps.Add($"remove link {home}");
        else if (homeSt is { IsDir: true })
        {
            var own = tree.List(home).Where(n => !(s.Fs.Lstat($"{home}/{n}") is { IsLink: true } && IsManagedLink(home, n, data))).ToList();
            if (own.Count > 0) steps.Add($"move {home} ({own.Count} entries of the user's) to {Backup()}/home");
            else steps.Add($"remove {home} (only aica's links)");
        }
        if (o.Purge && s.Fs.Lstat(data) is { IsDir: true }) steps.Add($"move {data} to {Backup()}/data");
        if (reg is not null) steps.Add($"unregister {o.Name}");
        if (uid is not null) steps.Add($"retire uid {uid} (never reused silently)");
        if (o.DryRun) return new UserRemoveResult(o.Name, uid, steps, backup, true);

        // The account first: when userdel refuses (a process started since the check), nothing else has changed.
        if (live is not null)
        {
            await s.Accounts.DeleteUser(o.Name, o.Force, ct).ConfigureAwait(false);
            if (s.Accounts.Load().Group(o.Name) is { } g && g.Gid == live.Gid && g.Members.Count == 0)
                await s.Accounts.DeleteGroup(o.Name, ct).ConfigureAwait(false);
        }
        if (homeSt is { IsLink: true }) s.Fs.Unlink(home);
        else if (homeSt is { IsDir: true })
        {
            if (steps.Any(x => x.StartsWith($"move {home}", StringComparison.Ordinal))) tree.Move(home, $"{Backup()}/home");
            else tree.Remove(home);
        }
        if (o.Purge && s.Fs.Lstat(data) is { IsDir: true }) tree.Move(data, $"{Backup()}/data");
        steps.AddRange(tree.NotKept); // moved across file systems to a backup that cannot hold them
        s.Registry.Update(r =>
        {
            r.Remove(o.Name);
            if (uid is { } ru) r.Retire(ru, o.Name, s.Clock.Now.ToString("yyyy-MM-ddTHH:mm:ss", CultureInfo.InvariantCulture));
            return true;
        }, s.Wait, ct);
        if (new CaptureService(s).AfterAccountChange() is { } notCaptured) steps.Add(notCaptured); // the removed user's record goes
        s.Log("user", $"remove {o.Name} uid {uid}{(o.Purge ? $", data moved to {backup}" : "")}");
        return new UserRemoveResult(o.Name, uid, steps, backup, false);
    }

    private bool IsManagedLink(string home, string name, string data)
    {
        var t = s.Fs.ReadLink($"{home}/{name}");
        return t == data || t == $"{data}/dotfiles/{name}";
    }

    private static bool IsInvoker(string name, int? uid)
    {
        if (Environment.GetEnvironmentVariable("SUDO_USER") == name) return true;
        if (uid is { } u && int.TryParse(Environment.GetEnvironmentVariable("SUDO_UID"), out var su) && su == u) return true;
        if (uid is { } l && LoginUid() == l) return true; // su - / sudo -i drop SUDO_*; the audit login uid stays
        return uid is { } v && Sys.Uid == v;
    }

    /// <summary>The uid this session logged in as (/proc/self/loginuid; null when unset, e.g. at boot).</summary>
    private static long? LoginUid()
    {
        try { return long.TryParse(File.ReadAllText("/proc/self/loginuid").Trim(), out var l) && l != uint.MaxValue ? l : null; }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
    }

    /// <summary>Exit 3 while the user has processes (what they write while aica removes or moves files would be lost).</summary>
    public static void RefuseBusy(string name, int uid, string advice)
    {
        if (ProcessesOf(uid) is { Count: > 0 } procs)
            throw AicaException.Refused($"{name} has {procs.Count} running process(es) (pid {string.Join(", ", procs.Take(5))}): {advice}");
    }

    /// <summary>Processes whose real or effective uid is <paramref name="uid"/> (from /proc; no NSS).</summary>
    public static List<int> ProcessesOf(int uid)
    {
        var pids = new List<int>();
        try
        {
            foreach (var dir in Directory.EnumerateDirectories("/proc"))
            {
                if (!int.TryParse(Path.GetFileName(dir), out var pid)) continue;
                try
                {
                    foreach (var line in File.ReadLines(Path.Combine(dir, "status")))
                    {
                        if (!line.StartsWith("Uid:", StringComparison.Ordinal)) continue;
                        var f = line.Split('\t', StringSplitOptions.RemoveEmptyEntries);
                        if (f.Length >= 3 && (f[1] == uid.ToString(CultureInfo.InvariantCulture) || f[2] == uid.ToString(CultureInfo.InvariantCulture))) pids.Add(pid);
                        break;
                    }
                }
                catch (IOException) { }
                catch (UnauthorizedAccessException) { }
            }
        }
        catch (IOException) { }
        return pids;
    }

    public IReadOnlyList<UserRow> List()
    {
        var config = s.LoadConfig();
        var db = s.Accounts.Load();
        var registry = s.Registry.Load();
        var rows = new List<UserRow>();
        EngineContext? ctx = null;
        foreach (var e in registry.Users)
        {
            var live = db.User(e.Name);
            if (live is null)
                rows.Add(new UserRow(e.Name, e.Uid, e.Gid, e.Shell, e.Layout, "missing-account", "registered, no account: aica recover recreates it"));
            else if (e.Uid is { } uid && (uid != live.Uid || e.Gid != live.Gid))
                rows.Add(new UserRow(e.Name, e.Uid, e.Gid, e.Shell, e.Layout, "id-mismatch", $"account has uid/gid {live.Uid}/{live.Gid}"));
            else if (e.Group != config.Group)
                rows.Add(new UserRow(e.Name, e.Uid ?? live.Uid, e.Gid ?? live.Gid, e.Shell ?? live.Shell, e.Layout, "wrong-group", $"registered in {e.Group}, server group is {config.Group}"));
            else if (!db.IsMember(e.Name, config.Group))
                rows.Add(new UserRow(e.Name, e.Uid ?? live.Uid, e.Gid ?? live.Gid, e.Shell ?? live.Shell, e.Layout, "not-member", $"not in {config.Group}: aica recover adds it"));
            // The engine's own home-link check: a home with files where the link belongs is a conflict recover cannot
            // resolve (an empty one it replaces by itself).
            else if ((e.Layout ?? config.DefaultLayout) == "symlink"
                     && new LinkItem($"/home/{e.Name}", $"/data/users/{e.Name}").Check(ctx ??= s.Context(config)) is { Conflict: true } home)
                rows.Add(new UserRow(e.Name, e.Uid ?? live.Uid, e.Gid ?? live.Gid, e.Shell ?? live.Shell, "symlink", "home-conflict", $"{home.Summary}; fix: {home.Fix}"));
            else
                rows.Add(new UserRow(e.Name, e.Uid ?? live.Uid, e.Gid ?? live.Gid, e.Shell ?? live.Shell, e.Layout ?? config.DefaultLayout, "ok", e.IsLegacy ? "legacy line (upgraded at next recover)" : ""));
        }
        foreach (var m in db.MembersOf(config.Group).Where(m => registry.Find(m) is null).OrderBy(m => m, StringComparer.Ordinal))
        {
            var live = db.User(m);
            rows.Add(new UserRow(m, live?.Uid, live?.Gid, live?.Shell, null, "unregistered", $"member of {config.Group} but not registered: lost at a full reset (aica user add {m})"));
        }
        foreach (var n in new SafeTree(s.Fs).List("/data/users").Where(n => registry.Find(n) is null && db.User(n) is null))
            rows.Add(new UserRow(n, null, null, null, null, "orphan-data", $"/data/users/{n} has no user (aica data orphans)"));
        return rows;
    }
}
