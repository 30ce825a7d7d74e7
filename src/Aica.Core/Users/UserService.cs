using System.Globalization;
using Aica.Accounts;
using Aica.Config;
using Aica.Engine;
using Aica.IO;
using Aica.Native;
using Aica.Site;

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
        RefuseOthersData(o.Name, entry);
        var planned = Registry.Parse(registry.Render());
        var registryChanged = planned.Upsert(entry);
        // Nodes sharing /data: a registry change is decided again under the shared lock, from the registry as it is then,
        // and the lock is held until the line is written, so two nodes adding users at once never take the same free uid.
        // A run that changes nothing takes no lock (and writes nothing, not even the lock file's holder line).
        using var shared = o.DryRun || !registryChanged ? null : s.Registry.Lock(s.Wait, ct);
        if (shared is not null)
        {
            registry = s.Registry.Load();
            (entry, mode) = Decide(o, config, db, registry);
            RefuseOthersData(o.Name, entry);
            planned = Registry.Parse(registry.Render());
            registryChanged = planned.Upsert(entry);
        }
        var state = s.Builder(config).Build(planned, db, null, [o.Name]);
        var problems = state.Problems.Where(p => p.StartsWith(o.Name + ":", StringComparison.Ordinal)).ToList();
        var units = state.Units.Where(x => x.User == o.Name).Select(x => x.Phase == Phase.Homes ? WithAddItems(x, entry, sharedGid, config, key) : x).ToList();
        var userState = new DesiredState(units, problems);
        var ctx = s.Context(config).WithAccounts(db); // the account files read above, not parsed again
        var engine = new StateEngine(ctx);
        if (o.DryRun) return new UserAddResult(entry, mode, registryChanged, engine.Plan(userState), null, problems, []);

        var applied = await engine.Apply(userState, ct).ConfigureAwait(false);
        // Register once the account exists (a failed useradd leaves no registry line for recover to trip on). The
        // context's copy is read again after any account change or attempt, so it is the files as they are now.
        var accountOk = ctx.Db.User(o.Name) is not null;
        var changed = false;
        if (accountOk && registryChanged) changed = s.Registry.Update(reg => reg.Upsert(entry), s.Wait, ct);
        var notes = ctx.Notes.ToList();
        if (accountOk && new CaptureService(s).AfterAccountChange() is { } notCaptured) notes.Add(notCaptured);
        s.Log("user", $"add {o.Name} uid {entry.Uid} layout {entry.Layout} ({mode}): {applied.Actions.Count(a => a.Ok)} changes, {applied.Actions.Count(a => !a.Ok)} failed");
        return new UserAddResult(entry, mode, changed, [], applied, problems, notes);
    }

    private void RefuseOthersData(string name, UserEntry entry)
    {
        var dataDir = s.Fs.Lstat($"/data/users/{name}");
        if (dataDir is { } dd && dd.IsDir && dd.Uid != 0 && dd.Uid != entry.Uid)
            throw AicaException.Refused($"/data/users/{name} belongs to uid {dd.Uid}, not {entry.Uid}: a new user must not inherit old files " +
                $"(move it away with aica data orphans --remove, or re-add with --uid {dd.Uid} if it is this person)");
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
        var layout = HomeLayouts.Supported.Find(e.Layout!) ?? throw AicaException.Usage($"layout {e.Layout} is not supported by this aica");
        var spec = new UserSpec(e.Name, e.Uid!.Value, e.Gid!.Value, e.Shell!, layout, sharedGid, config.Group);
        var dotBase = layout.DotBase(spec);
        var homeBase = layout.HomeFolder(spec.Name);
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
        var mover = new TreeMover(s.Fs);
        var home = $"/home/{o.Name}";
        var data = $"/data/users/{o.Name}";
        var homeSt = s.Fs.Lstat(home);
        // Named for the plan, made only once the checks passed (a refused removal leaves no empty backup folder).
        string? backup = null;
        var planned = $"{config.BackupDir}/removed-{o.Name}_{s.Clock.Stamp()}";
        string Backup() => backup ??= UserHome.BackupDir(s.Fs, config.BackupDir, "removed", o.Name, s.Clock, unique: true);

        // What goes to the backup: a real (hybrid) home keeps nothing the user made (a home of only aica's links is
        // simply removed once the account is gone), and with --purge the user's data.
        var toBackup = new List<(string From, string Rel)>();
        if (homeSt is { IsDir: true })
        {
            var own = s.Fs.List(home).Where(n => !(s.Fs.Lstat($"{home}/{n}") is { IsLink: true } && IsManagedLink(home, n, data))).ToList();
            if (own.Count > 0)
            {
                toBackup.Add((home, "home"));
                steps.Add($"move {home} ({own.Count} entries of the user's) to {planned}/home");
            }
        }
        if (o.Purge && s.Fs.Lstat(data) is { IsDir: true })
        {
            toBackup.Add((data, "data"));
            steps.Add($"move {data} to {planned}/data");
        }
        if (reg is not null) steps.Add($"unregister {o.Name}");
        if (uid is not null) steps.Add($"retire uid {uid} (never reused silently)");
        if (live is not null) steps.Add($"remove account {o.Name} (userdel{(o.Force ? " -f" : "")})");
        if (db.Group(o.Name) is { } pg && pg.Gid == live?.Gid) steps.Add($"remove private group {o.Name}");
        // What is left of the home once the account is gone: the layout's link, or a home of only aica's links. Absent
        // items (tmpfiles r / R): removed as links, never followed, after the account (the order below).
        var leftovers = new List<Item>();
        if (homeSt is { IsLink: true })
        {
            leftovers.Add(new AbsentItem(home, Removal.Remove, "user.removed", $"the home link of removed user {o.Name}"));
            steps.Add($"remove link {home}");
        }
        else if (homeSt is { IsDir: true } && toBackup.All(m => m.From != home))
        {
            leftovers.Add(new AbsentItem(home, Removal.RemoveTree, "user.removed", $"the home of removed user {o.Name}: only aica's links"));
            steps.Add($"remove {home} (only aica's links)");
        }
        if (o.DryRun) return new UserRemoveResult(o.Name, uid, steps, toBackup.Count > 0 ? planned : null, true);

        // The order makes every failure leave either the whole user or no user (SPEC §6.5–6): first everything that can
        // fail is checked, with nothing changed; then the backup (put back on failure); then the registry line goes (a
        // line without its account is what recover recreates at the next boot, keys and all); then the account (on
        // failure the line and the home are put back); then what is left of the home.
        CheckBackup(mover, toBackup.Select(m => m.From), config.BackupDir, o.Name, ct);
        var moved = new List<(string From, string To)>();
        try
        {
            foreach (var (from, rel) in toBackup)
            {
                var to = $"{Backup()}/{rel}";
                mover.Move(from, to, ct);
                moved.Add((from, to));
            }
        }
        catch (SysException e)
        {
            throw new AicaException($"{o.Name} was not removed: backing up failed ({e.Message}){PutBack(mover, moved, backup)}");
        }
        catch (OperationCanceledException)
        {
            PutBack(mover, moved, backup);
            throw;
        }
        var time = s.Clock.Now.ToString("yyyy-MM-ddTHH:mm:ss", CultureInfo.InvariantCulture);
        s.Registry.Update(r =>
        {
            r.Remove(o.Name);
            if (uid is { } ru) r.Retire(ru, o.Name, time);
            return true;
        }, s.Wait, CancellationToken.None);

        if (live is not null)
        {
            Exception? failed = null;
            try { await s.Accounts.DeleteUser(o.Name, o.Force, ct).ConfigureAwait(false); }
            catch (Exception e) when (e is AicaException or OperationCanceledException) { failed = e; }
            // Reality decides: an interrupted userdel may have finished.
            if (failed is not null && s.Accounts.Load().User(o.Name) is not null)
            {
                if (reg is not null) s.Registry.Update(r => r.Upsert(reg with { Line = 0 }), s.Wait, CancellationToken.None);
                var back = PutBack(mover, moved, backup);
                if (failed is OperationCanceledException) throw failed;
                throw new AicaException($"{o.Name} was not removed: {failed.Message}; the registry line and the home were put back{back}");
            }
        }
        // From here the user is gone: what is left is tidying, each step tried, failures reported together.
        var problems = new List<string>();
        if (live is not null && s.Accounts.Load().Group(o.Name) is { } g && g.Gid == live.Gid && g.Members.Count == 0)
        {
            try { await s.Accounts.DeleteGroup(o.Name, CancellationToken.None).ConfigureAwait(false); }
            catch (AicaException e) { problems.Add(e.Message); }
        }
        var tidied = await new StateEngine(s.Context(config))
            .Apply(new DesiredState([new Unit(Phase.Homes, $"what is left of {o.Name}", null, leftovers)], []), CancellationToken.None).ConfigureAwait(false);
        problems.AddRange(tidied.Actions.Where(a => !a.Ok).Select(a => $"removing {a.Item.Subject}: {a.Error}"));
        steps.AddRange(mover.Notes); // moved across file systems to a backup that cannot hold them
        if (new CaptureService(s).AfterAccountChange() is { } notCaptured) steps.Add(notCaptured); // the removed user's record goes
        s.Log("user", $"remove {o.Name} uid {uid}{(o.Purge ? $", data moved to {backup}" : "")}{(problems.Count > 0 ? $"; {string.Join("; ", problems)}" : "")}");
        if (problems.Count > 0) throw new AicaException($"{o.Name} was removed (account, registry line{(backup is null ? "" : ", backup " + s.Fs.Host(backup))}), but: {string.Join("; ", problems)}");
        return new UserRemoveResult(o.Name, uid, steps, backup, false);
    }

    /// <summary>
    /// Before anything changes: every tree that goes to the backup on another file system can be copied (no folder
    /// deeper than the copier's limit, no file system mounted inside) and all of them fit there together.
    /// </summary>
    private void CheckBackup(TreeMover mover, IEnumerable<string> sources, string backups, string name, CancellationToken ct)
    {
        var targetDev = s.Fs.Lstat(s.Fs.NearestDir(backups))!.Value.Dev;
        try
        {
            long bytes = 0, entries = 0;
            foreach (var src in sources.Where(p => s.Fs.Lstat(p) is { } st && st.Dev != targetDev)) // same file system: a rename
            {
                var size = mover.Measure(src, ct);
                bytes += size.Bytes;
                entries += size.Entries;
            }
            mover.RequireRoom(backups, new TreeSize(bytes, entries));
        }
        catch (SysException e) { throw new AicaException($"{name} was not removed: the backup cannot be made ({e.Message}); nothing was changed"); }
    }

    /// <summary>Moves back what a failed removal had moved to the backup (then the folder goes if empty); what cannot go back stays there, named.</summary>
    private string PutBack(TreeMover mover, List<(string From, string To)> moved, string? backup)
    {
        var left = new List<string>();
        foreach (var (from, to) in Enumerable.Reverse(moved))
        {
            try { mover.Move(to, from); }
            catch (SysException e) { left.Add($"{to} could not be put back to {from} ({e.Message}): it is kept there"); }
        }
        if (backup is not null && left.Count == 0)
        {
            try { s.Fs.Rmdir(backup); } catch (SysException) { /* something else is in it: kept */ }
        }
        return left.Count == 0 ? "" : "; " + string.Join("; ", left);
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
            else if (HomeLayouts.Supported.Of(e, config) is { HomeIsLink: true } linked
                     && new LinkItem($"/home/{e.Name}", $"/data/users/{e.Name}").Check(ctx ??= s.Context(config).WithAccounts(db)) is { Conflict: true } home)
                rows.Add(new UserRow(e.Name, e.Uid ?? live.Uid, e.Gid ?? live.Gid, e.Shell ?? live.Shell, linked.Name, "home-conflict", $"{home.Summary}; fix: {home.Fix}"));
            else
                rows.Add(new UserRow(e.Name, e.Uid ?? live.Uid, e.Gid ?? live.Gid, e.Shell ?? live.Shell, e.Layout ?? config.DefaultLayout, "ok", e.IsLegacy ? "legacy line (upgraded at next recover)" : ""));
        }
        foreach (var m in db.MembersOf(config.Group).Where(m => registry.Find(m) is null).OrderBy(m => m, StringComparer.Ordinal))
        {
            var live = db.User(m);
            rows.Add(new UserRow(m, live?.Uid, live?.Gid, live?.Shell, null, "unregistered", $"member of {config.Group} but not registered: lost at a full reset (aica user add {m})"));
        }
        foreach (var n in s.Fs.List("/data/users").Where(n => registry.Find(n) is null && db.User(n) is null))
            rows.Add(new UserRow(n, null, null, null, null, "orphan-data", $"/data/users/{n} has no user (aica data orphans)"));
        return rows;
    }
}
