using System.Text;
using Aica.Accounts;
using Aica.Config;
using Aica.Engine;
using Aica.IO;
using Aica.Native;
using Aica.Site;
using static Aica.Native.Perms;

namespace Aica.Users;

public sealed record MigrateOptions(string Name, string? To, bool Rollback = false, bool DryRun = false);

public sealed record MigrateResult(string Name, string From, string To, string? Journal, IReadOnlyList<string> Steps, IReadOnlyList<string> Problems,
    bool DryRun, bool RolledBack, IReadOnlyList<string>? Warnings = null)
{
    public int ExitCode => Problems.Count > 0 ? ExitCodes.Failed : ExitCodes.Ok;
}

/// <summary>
/// aica user migrate (SPEC §5): converts a user between the symlink and hybrid layouts. Everything it will touch is
/// first copied (link-safe, bytes, owners, modes, times) into a journal <c>BACKUPS/migrate-U_TS/</c> with a metadata
/// file; then the conversion, then the engine for the new layout and a verification that its own plan is empty.
/// <c>--rollback</c> moves whatever is now at each recorded path into the journal and puts the original back, from any
/// point of an interrupted run, and registers the old layout again.
/// </summary>
public sealed partial class MigrateService(AicaServices s)
{
    /// <summary>
    /// Called with its number after each change step of a migration (or path restored by a rollback). A seam for the
    /// test assembly, which stops the run there the way a kill would, so the kill-in-the-middle tests are deterministic
    /// without sleeps; the product never sets it (no fault hook ships in the binary).
    /// </summary>
    public Action<int>? AfterStep { get; init; }

    private sealed record Record(int Index, bool Existed, string Path);

    private int _steps;

    private void Step() => AfterStep?.Invoke(++_steps);

    public async Task<MigrateResult> Run(MigrateOptions o, CancellationToken ct)
    {
        if (Names.ValidateUser(o.Name) is { } ue) throw AicaException.Usage(ue);
        if (!o.Rollback && o.To is null) throw AicaException.Usage("--to symlink|hybrid (or --rollback) is required");
        if (o.To is not null && Names.ValidateLayout(o.To) is { } le) throw AicaException.Usage(le);
        if (!o.DryRun) s.RequireRoot("user migrate");
        s.RequireDataMounted();
        using var _ = o.DryRun ? null : s.Lock(ct);
        var config = s.LoadConfig();
        var db = s.Accounts.Load();
        var entry = s.Registry.Load().Find(o.Name) ?? throw AicaException.Usage($"{o.Name} is not registered (aica user add {o.Name} first)");
        var sharedGid = DesiredStateBuilder.SharedGid(config, db) ?? throw AicaException.Usage($"group {config.Group} does not exist: run aica init");
        var (spec, problem) = DesiredStateBuilder.Resolve(entry, config, db, sharedGid, HomeLayouts.Supported.Find);
        if (spec is null) throw AicaException.Usage(problem!);
        if (o.Rollback) return Rollback(config, spec, o.DryRun, ct);
        var from = spec.Layout.Name;
        var to = HomeLayouts.Supported.Find(o.To!) ?? throw AicaException.Usage($"layout {o.To} is not supported by this aica");
        // Registered symlink with a real home on the SSD (an account adopted with its old home): the same conversion as
        // from hybrid moves its files onto /data, backed up first, so the home link can be made.
        var realHome = spec.Layout.HomeIsLink && s.Fs.Lstat(spec.Home) is { IsDir: true };
        if (to == spec.Layout && !(to.HomeIsLink && realHome)) return new MigrateResult(o.Name, from, to.Name, null, [], [], o.DryRun, false);
        if (Latest(config, o.Name) is { State: not ("done" or "rolled-back") } pending)
            throw AicaException.Refused($"an unfinished migration of {o.Name} is recorded in {pending.Dir} (state {pending.State}): aica user migrate {o.Name} --rollback first");

        RefuseRunning(spec);
        var plan = !to.HomeIsLink ? ToHybrid(config, spec) : ToSymlink(config, spec, fromHybrid: !spec.Layout.HomeIsLink);
        var steps = plan.Moves.Select(m => $"move {m.From} -> {m.To}").Concat(plan.Removes.Select(r => $"remove {r} (backed up)")).ToList();
        steps.Insert(0, $"back up {string.Join(", ", plan.Records.Where(r => r.Existed).Select(r => r.Path))}");
        steps.AddRange(plan.Dropped.Select(d => $"keep the SSD copy {d} only in the journal (the persistent one wins)"));
        steps.Add($"apply the {o.To} layout for {o.Name}, verify, register layout {o.To}");
        if (o.DryRun) return new MigrateResult(o.Name, from, o.To!, null, steps, [], true, false);

        var tree = new TreeMover(s.Fs);
        CheckRoom(tree, config, plan, ct);
        var journal = UserHome.BackupDir(s.Fs, config.BackupDir, "migrate", o.Name, s.Clock, unique: true);
        try
        {
            WriteMeta(journal, o.Name, from, o.To!, "backing-up", plan.Records);
            s.Fs.Mkdir($"{journal}/orig", O(700), 0, 0);
            foreach (var r in plan.Records.Where(r => r.Existed)) tree.Copy(r.Path, $"{journal}/orig/{r.Index}", ct);
            tree.Flush($"{journal}/orig"); // the journal on disk before anything it guards is moved
            WriteMeta(journal, o.Name, from, o.To!, "ready", plan.Records);
        }
        catch (Exception e) when (e is SysException or OperationCanceledException)
        {
            // Nothing but the journal changed yet: it goes, so no unfinished migration blocks the next try.
            try { tree.Remove(journal); } catch (SysException) { /* a journal still "backing-up" changes nothing at rollback */ }
            if (e is OperationCanceledException) throw;
            throw new AicaException($"not migrating: backing up into {s.Fs.Host(journal)} failed ({e.Message}); nothing was changed");
        }

        // An interruption (SIGTERM, exit 130) between steps leaves the journal "ready": --rollback undoes what was done.
        // A failed move leaves its source as it was and no partial copy (TreeMover); what moved before it is in the journal.
        try
        {
            foreach (var d in plan.Mkdirs) { ct.ThrowIfCancellationRequested(); s.Fs.Mkdir(d, O(2750), (uint)spec.Uid, (uint)sharedGid); Step(); }
            foreach (var (f, t) in plan.Moves) { ct.ThrowIfCancellationRequested(); tree.Move(f, t, ct); Step(); }
            foreach (var r in plan.Removes) { ct.ThrowIfCancellationRequested(); tree.Remove(r); Step(); }
        }
        catch (SysException e)
        {
            WriteMeta(journal, o.Name, from, o.To!, "failed", plan.Records);
            throw new AicaException($"migration stopped: {e.Message}; aica user migrate {o.Name} --rollback restores the {from} layout");
        }

        var target = spec with { Layout = to };
        var (problems, warnings) = await ApplyAndVerify(config, entry with { Layout = o.To }, target, ct).ConfigureAwait(false);
        warnings.InsertRange(0, tree.Notes); // attributes /data cannot hold (NFS v3): named, never dropped silently
        if (problems.Count > 0)
        {
            WriteMeta(journal, o.Name, from, o.To!, "failed", plan.Records);
            return new MigrateResult(o.Name, from, o.To!, journal, steps,
                [.. problems, $"verification failed: aica user migrate {o.Name} --rollback restores the {from} layout"], false, false, warnings);
        }
        Step(); // converted and verified, not registered yet
        SetLayout(spec, entry, o.To!, ct);
        WriteMeta(journal, o.Name, from, o.To!, "done", plan.Records);
        s.Log("user", $"migrate {o.Name} {from} -> {o.To} (journal {journal})");
        return new MigrateResult(o.Name, from, o.To!, journal, steps, [], false, false, warnings);
    }

    /// <summary>
    /// A move between the SSD and /data copies, then deletes the original: what a running process of the user writes
    /// meanwhile (a training log, an editor's save) would go with it, and its working directory would vanish.
    /// </summary>
    private static void RefuseRunning(UserSpec u) =>
        UserService.RefuseBusy(u.Name, u.Uid, "what they write while files move would be lost; log them out first");

    private sealed record Plan(List<Record> Records, List<string> Mkdirs, List<(string From, string To)> Moves, List<string> Removes)
    {
        /// <summary>What is not carried over (an SSD copy of a persistent dotfile): it stays in the journal.</summary>
        public List<string> Dropped { get; } = [];
    }

    private static void Add(List<Record> recs, RootedFs fs, string path)
    {
        if (recs.All(r => r.Path != path)) recs.Add(new Record(recs.Count, fs.Lstat(path) is not null, path));
    }

    private void RequireRealDir(string path)
    {
        var st = s.Fs.Lstat(path);
        if (st is { IsDir: false }) throw AicaException.Refused($"{path} is {(st.Value.IsLink ? $"a symbolic link to {s.Fs.ShowLink(path)}" : "not a directory")} (tampered): not migrating; aica recover first");
    }

    /// <summary>symlink → hybrid: the managed dotfiles at the top of /data/users/U move into dotfiles/; the home link goes.</summary>
    private Plan ToHybrid(AicaConfig config, UserSpec u)
    {
        RequireRealDir(u.DataDir);
        var dot = HybridLayout.DotfilesDir(u);
        RequireRealDir(dot);
        var recs = new List<Record>();
        var plan = new Plan(recs, [], [], []);
        Add(recs, s.Fs, u.Home);
        Add(recs, s.Fs, dot);
        if (s.Fs.Lstat($"{u.DataDir}/conda") is null) Add(recs, s.Fs, $"{u.DataDir}/conda"); // environments are never copied: only a new one is recorded
        if (s.Fs.Lstat(dot) is null) plan.Mkdirs.Add(dot);
        var clash = new List<string>();
        foreach (var d in HybridLayout.Managed(config))
        {
            Add(recs, s.Fs, $"{u.DataDir}/{d}");
            if (s.Fs.Lstat($"{u.DataDir}/{d}") is null) continue;
            if (s.Fs.Lstat($"{dot}/{d}") is not null) clash.Add($"{dot}/{d}");
            plan.Moves.Add(($"{u.DataDir}/{d}", $"{dot}/{d}"));
        }
        if (clash.Count > 0) throw AicaException.Refused($"both {u.DataDir}/NAME and {dot}/NAME exist for: {string.Join(", ", clash)}; keep one, then migrate");
        // A real SSD home (an account adopted with it) holding its own copy of a dotfile that also exists on /data: the
        // hybrid layout would keep the persistent one and hide the SSD edit in a root-only backup. Stopped and reported,
        // as --to symlink does for the same clash; an identical copy is no conflict.
        if (s.Fs.Lstat(u.Home) is { IsDir: true })
        {
            foreach (var d in HybridLayout.Managed(config))
            {
                var ssd = $"{u.Home}/{d}";
                if (s.Fs.Lstat(ssd) is not { IsLink: false }) continue;
                var persistent = s.Fs.Lstat($"{u.DataDir}/{d}") is not null ? $"{u.DataDir}/{d}" : s.Fs.Lstat($"{dot}/{d}") is not null ? $"{dot}/{d}" : null;
                if (persistent is not null && !SameFile(ssd, persistent)) clash.Add($"{persistent} (and {ssd} on the SSD)");
            }
            if (clash.Count > 0) throw AicaException.Refused($"already exist in {u.DataDir}: {string.Join(", ", clash)}; move them aside, then migrate");
        }
        if (s.Fs.Lstat(u.Home) is { IsLink: true }) plan.Removes.Add(u.Home);
        return plan;
    }

    /// <summary>Two regular files with the same bytes (a small dotfile: anything over 1 MiB counts as different).</summary>
    private bool SameFile(string a, string b)
    {
        if (s.Fs.Lstat(a) is not { IsFile: true } sa || s.Fs.Lstat(b) is not { IsFile: true } sb || sa.Size != sb.Size || sa.Size > 1 << 20) return false;
        return (s.Fs.ReadFile(a) ?? []).AsSpan().SequenceEqual(s.Fs.ReadFile(b));
    }

    /// <summary>
    /// Before the journal is made: every recorded path can be copied into it (no folder deeper than the copier's limit,
    /// no file system mounted inside) and fits on the backups' file system, and what moves to another file system fits
    /// there: a migration never stops half way for room it could have measured first.
    /// </summary>
    private void CheckRoom(TreeMover tree, AicaConfig config, Plan plan, CancellationToken ct)
    {
        try
        {
            var journal = plan.Records.Where(r => r.Existed).Select(r => tree.Measure(r.Path, ct)).ToList();
            tree.RequireRoom(config.BackupDir, new TreeSize(journal.Sum(x => x.Bytes), journal.Sum(x => x.Entries)));
            foreach (var group in plan.Moves.GroupBy(m => m.To[..m.To.LastIndexOf('/')]))
            {
                var targetDev = s.Fs.Lstat(s.Fs.NearestDir(group.Key))!.Value.Dev;
                var sizes = group.Where(m => s.Fs.Lstat(m.From) is { } st && st.Dev != targetDev).Select(m => tree.Measure(m.From, ct)).ToList();
                if (sizes.Count > 0) tree.RequireRoom(group.Key, new TreeSize(sizes.Sum(x => x.Bytes), sizes.Sum(x => x.Entries)));
            }
        }
        catch (SysException e) { throw new AicaException($"not migrating: {e.Message}; nothing was changed"); }
    }

    /// <summary>
    /// hybrid → symlink: dotfiles/ content and what the user keeps on the SSD move to /data/users/U; the SSD home goes.
    /// Not <paramref name="fromHybrid"/> (a symlink user adopted with a real SSD home): only the SSD home's files move,
    /// and a dotfiles/ folder in the user's data is theirs, left alone.
    /// </summary>
    private Plan ToSymlink(AicaConfig config, UserSpec u, bool fromHybrid)
    {
        RequireRealDir(u.DataDir);
        var dot = HybridLayout.DotfilesDir(u);
        if (fromHybrid) RequireRealDir(dot);
        // Entries are moved one by one by name, and then their folders removed: a name that cannot be given back
        // (not UTF-8) would be left behind and go with its folder (kept only in the journal). Refused before anything changes.
        var odd = (fromHybrid ? s.Fs.NotUtf8(dot).Select(n => $"{dot}/{n}") : [])
            .Concat(s.Fs.Lstat(u.Home) is { IsDir: true } ? s.Fs.NotUtf8(u.Home).Select(n => $"{u.Home}/{n}") : []).ToList();
        if (odd.Count > 0) throw AicaException.Refused($"names that are not UTF-8: {string.Join(", ", odd)}; rename them (e.g. convmv), then migrate");
        var recs = new List<Record>();
        var plan = new Plan(recs, [], [], []);
        Add(recs, s.Fs, u.Home);
        if (fromHybrid) Add(recs, s.Fs, dot);
        if (s.Fs.Lstat($"{u.DataDir}/conda") is null) Add(recs, s.Fs, $"{u.DataDir}/conda"); // environments are never copied: only a new one is recorded
        var clash = new List<string>();
        var dotNames = fromHybrid ? s.Fs.List(dot) : [];
        foreach (var n in dotNames)
        {
            if (s.Fs.Lstat($"{u.DataDir}/{n}") is not null) clash.Add($"{u.DataDir}/{n}");
            plan.Moves.Add(($"{dot}/{n}", $"{u.DataDir}/{n}"));
        }
        if (s.Fs.Lstat(u.Home) is { IsDir: true })
        {
            foreach (var n in s.Fs.List(u.Home))
            {
                var p = $"{u.Home}/{n}";
                var st = s.Fs.Lstat(p)!.Value;
                var link = st.IsLink ? s.Fs.ReadLink(p) : null;
                if ((fromHybrid && link == $"{dot}/{n}") || (n == "data" && link == u.DataDir)) continue; // aica's own links
                if (dotNames.Contains(n)) { plan.Dropped.Add(p); continue; } // an SSD copy of a persistent dotfile: the persistent one wins
                if (s.Fs.Lstat($"{u.DataDir}/{n}") is not null) clash.Add($"{u.DataDir}/{n} (and {p} on the SSD)");
                plan.Moves.Add((p, $"{u.DataDir}/{n}"));
            }
        }
        if (clash.Count > 0) throw AicaException.Refused($"already exist in {u.DataDir}: {string.Join(", ", clash)}; move them aside, then migrate");
        foreach (var (_, to) in plan.Moves) Add(recs, s.Fs, to);
        // The symlink layout's private HuggingFace home (2700) is made by ApplyAndVerify: recorded when missing so a
        // rollback takes it away (inside a .cache the move brings, it goes along with that one).
        var cache = $"{u.DataDir}/.cache";
        if (plan.Moves.All(m => m.To != cache))
        {
            var cst = s.Fs.Lstat(cache);
            if (cst is null) Add(recs, s.Fs, cache);
            else if (cst.Value.IsDir && s.Fs.Lstat($"{cache}/huggingface") is null) Add(recs, s.Fs, $"{cache}/huggingface");
        }
        // The engine may create .profile, .ssh... there, and adds its block to a .bash_profile/.bash_login found there.
        foreach (var d in HybridLayout.Managed(config).Concat([".bash_profile", ".bash_login"])) Add(recs, s.Fs, $"{u.DataDir}/{d}");
        if (fromHybrid) plan.Removes.Add(dot);
        if (s.Fs.Lstat(u.Home) is not null) plan.Removes.Add(u.Home);
        return plan;
    }

    /// <summary>The engine for this user's home in the new layout, then its own plan must be empty (tamper warnings aside).</summary>
    private async Task<(List<string> Problems, List<string> Warnings)> ApplyAndVerify(AicaConfig config, UserEntry entry, UserSpec target, CancellationToken ct)
    {
        var registry = Registry.Parse(s.Registry.Load().Render());
        registry.Upsert(entry);
        var db = s.Accounts.Load();
        var state = s.Builder(config).Build(registry, db, null, [entry.Name]);
        var units = state.Units.Where(u => u.User == entry.Name).ToList();
        var engine = new StateEngine(s.Context(config).WithAccounts(db));
        var applied = await engine.Apply(new DesiredState(units, []), ct).ConfigureAwait(false);
        var problems = applied.Actions.Where(a => !a.Ok && a.Drift.Severity == CheckStatus.Fail).Select(a => a.Error!).ToList();
        var after = engine.Plan(new DesiredState(units, []));
        problems.AddRange(after.Where(p => p.Drift.Severity == CheckStatus.Fail).Select(p => $"after migration: {p.Drift.Summary}"));
        return (problems, after.Where(p => p.Drift.Severity != CheckStatus.Fail).Select(p => p.Drift.Summary).ToList());
    }

    private MigrateResult Rollback(AicaConfig config, UserSpec u, bool dryRun, CancellationToken ct)
    {
        var tree = new TreeMover(s.Fs);
        var latest = Latest(config, u.Name);
        if (latest is null || latest.State == "rolled-back") throw AicaException.Usage($"no migration of {u.Name} to roll back in {config.BackupDir}");
        RefuseRunning(u);
        var (journal, meta, recs) = (latest.Dir, latest.Meta, latest.Records);
        var from = meta["from"];
        var to = meta["to"];
        var state = meta["state"];
        var steps = new List<string>();
        if (state != "backing-up")
            foreach (var r in Enumerable.Reverse(recs))
            {
                if (r.Existed) steps.Add($"restore {r.Path} from {journal}/orig/{r.Index}");
                else if (s.Fs.Lstat(r.Path) is not null) steps.Add($"move {r.Path} (created by the migration) into {journal}/after/");
            }
        steps.Add($"register layout {from} for {u.Name}");
        if (dryRun) return new MigrateResult(u.Name, to, from, journal, steps, [], true, true);

        if (state != "backing-up") // a run killed while backing up changed nothing yet
        {
            if (s.Fs.Lstat($"{journal}/after") is null) s.Fs.Mkdir($"{journal}/after", O(700), 0, 0);
            foreach (var r in Enumerable.Reverse(recs))
            {
                ct.ThrowIfCancellationRequested();
                var after = $"{journal}/after/{r.Index}";
                for (var k = 1; s.Fs.Lstat(after) is not null; k++) after = $"{journal}/after/{r.Index}.{k}"; // an interrupted rollback left one: keep both
                if (s.Fs.Lstat(r.Path) is not null) tree.Move(r.Path, after);
                if (r.Existed) tree.Copy($"{journal}/orig/{r.Index}", r.Path);
                Step();
            }
        }
        steps.AddRange(tree.Notes);
        SetLayout(u, s.Registry.Load().Find(u.Name), from, ct);
        WriteMeta(journal, u.Name, from, to, "rolled-back", recs);
        s.Log("user", $"migrate {u.Name} rolled back to {from} (journal {journal})");
        return new MigrateResult(u.Name, to, from, journal, steps, [], false, true);
    }

    /// <summary>
    /// Registers the layout on the line as it is now, under the lock: an admin's hand edit of the user's line made while
    /// the migration ran (minutes, for a big home) is kept; only the layout field changes (a legacy name:group line gets
    /// the ids it was migrated with, else the layout could not be written down).
    /// </summary>
    private void SetLayout(UserSpec u, UserEntry? read, string layout, CancellationToken ct) =>
        s.Registry.Update(reg => (reg.Find(u.Name) ?? read) is { } cur
            && reg.Upsert(cur.IsLegacy ? cur with { Uid = u.Uid, Gid = u.Gid, Shell = u.Shell, Layout = layout } : cur with { Layout = layout }), s.Wait, ct);

    private sealed record Journal(string Dir, string State, Dictionary<string, string> Meta, List<Record> Records);

    /// <summary>
    /// The newest readable journal of this user's migrations: <c>migrate-U_STAMP[-N]</c> whose meta.txt names U
    /// (a literal match: <c>bob</c> never picks up a journal of <c>bob_x</c>), newest stamp and suffix first.
    /// </summary>
    private Journal? Latest(AicaConfig config, string user)
    {
        var prefix = $"migrate-{user}_";
        var candidates = new List<(string Name, string Stamp, int N)>();
        foreach (var n in s.Fs.List(config.BackupDir).Where(n => n.StartsWith(prefix, StringComparison.Ordinal)))
        {
            var m = JournalName().Match(n[prefix.Length..]);
            if (m.Success) candidates.Add((n, m.Groups[1].Value, m.Groups[2].Success ? int.Parse(m.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture) : 1));
        }
        foreach (var (name, _, _) in candidates.OrderByDescending(c => c.Stamp, StringComparer.Ordinal).ThenByDescending(c => c.N))
        {
            var dir = $"{config.BackupDir}/{name}";
            var (m, r) = ReadMeta(dir);
            if (m is not null && m.GetValueOrDefault("user") == user) return new Journal(dir, m["state"], m, r);
        }
        return null;
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"^(\d{8}_\d{6})(?:-(\d{1,6}))?\z")]
    private static partial System.Text.RegularExpressions.Regex JournalName();

    private void WriteMeta(string journal, string user, string from, string to, string state, List<Record> recs)
    {
        var sb = new StringBuilder();
        sb.Append("# aica user migrate journal: orig/N holds the original of record N (bytes, owner, mode, times); after/N what rollback moved away\n");
        sb.Append($"user={user}\nfrom={from}\nto={to}\nstate={state}\ntime={s.Clock.LogTime()}\n");
        foreach (var r in recs) sb.Append($"record={r.Index} {(r.Existed ? 1 : 0)} {Convert.ToBase64String(Encoding.UTF8.GetBytes(r.Path))}\n");
        s.Fs.WriteAtomic($"{journal}/meta.txt", Encoding.UTF8.GetBytes(sb.ToString()), O(600));
    }

    private (Dictionary<string, string>? Meta, List<Record> Records) ReadMeta(string journal)
    {
        string? text;
        try { text = s.Fs.ReadText($"{journal}/meta.txt"); }
        catch (SysException) { return (null, []); }
        if (text is null) return (null, []);
        var meta = new Dictionary<string, string>();
        var recs = new List<Record>();
        foreach (var line in text.Split('\n'))
        {
            if (line.StartsWith('#') || !line.Contains('=')) continue;
            var k = line[..line.IndexOf('=')];
            var v = line[(line.IndexOf('=') + 1)..];
            if (k != "record") { meta[k] = v; continue; }
            var f = v.Split(' ');
            if (f.Length == 3 && int.TryParse(f[0], out var i))
                recs.Add(new Record(i, f[1] == "1", Encoding.UTF8.GetString(Convert.FromBase64String(f[2]))));
        }
        return meta.ContainsKey("from") && meta.ContainsKey("to") && meta.ContainsKey("state") ? (meta, recs) : (null, []);
    }
}
