using System.Text;
using Aica.Accounts;
using Aica.Config;
using Aica.Engine;
using Aica.Site;
using Aica.Users;
using static Aica.Native.Perms;

namespace Aica.Services;

/// <param name="Users">Whose accounts and homes to include; null: every registered user, empty: the shared parts only.</param>
public sealed record InitOptions(string? Group = null, int? Gid = null, string? Layout = null, bool DryRun = false, IReadOnlyCollection<string>? Users = null);

public sealed record InitResult(AicaConfig Config, bool ConfigChanged, IReadOnlyList<PlannedAction> Planned, ApplyReport? Applied,
    IReadOnlyList<string> Problems, IReadOnlyList<string> Notes)
{
    public bool NoChanges => !ConfigChanged && Planned.Count == 0 && (Applied is null || Applied.Actions.Count == 0);
    public bool Failed => Applied?.AnyFailed == true;
    /// <summary>Changes made (or planned), the config file included: the number the summary and the log both give.</summary>
    public int Changes => (ConfigChanged ? 1 : 0) + (Applied?.Actions.Count(a => a.Ok) ?? Planned.Count);
}

/// <summary>aica init: records the group and gid, then applies the whole desired state (SPEC §7).</summary>
public sealed class InitService(AicaServices s)
{
    public async Task<InitResult> Run(InitOptions o, CancellationToken ct)
    {
        if (o.Group is not null && Names.ValidateGroup(o.Group) is { } ge) throw AicaException.Usage(ge);
        if (o.Gid is { } g0 && Names.ValidateId(g0, "gid") is { } ie) throw AicaException.Usage(ie);
        if (o.Layout is not null && Names.ValidateLayout(o.Layout) is { } le) throw AicaException.Usage(le);
        if (!o.DryRun) s.RequireRoot("init");
        s.RequireDataMounted();

        using var _ = o.DryRun ? null : s.Lock(ct);
        var readText = s.Fs.ReadText(AicaConfig.ConfigPath); // null: no aica.toml (a link or non-file throws here)
        var existing = readText is null ? null : s.LoadConfig();
        if (existing is not null && o.Group is not null && o.Group != existing.Group)
            throw AicaException.Usage($"aica.toml already names group {existing.Group}; edit {s.Fs.Host(AicaConfig.ConfigPath)} to change it");
        if (existing?.Gid is { } eg && o.Gid is { } og && og != eg)
            throw AicaException.Usage($"aica.toml already records gid {eg} for {existing.Group}");

        var db = s.Accounts.Load();
        var group = o.Group ?? existing?.Group ?? new AicaConfig().Group;
        var live = db.Group(group);
        if (live is not null && o.Gid is { } want && live.Gid != want)
            throw AicaException.Usage($"group {group} already exists with gid {live.Gid}, not {want}");
        var gid = existing?.Gid ?? o.Gid ?? live?.Gid ?? FreeGid(db, 2000);
        if (live is null && db.GroupById(gid) is { } taken)
            throw AicaException.Usage($"gid {gid} is already used by group {taken.Name}; choose another with --gid");

        var basis = existing ?? new AicaConfig();
        var config = basis with { Group = group, Gid = gid, DefaultLayout = o.Layout ?? basis.DefaultLayout };
        var configChanged = existing is null || existing.Gid is null || existing.DefaultLayout != config.DefaultLayout;

        var state = s.Builder(config).Build(s.Registry.Load(), db, s.SelfExe, o.Users);
        var ctx = s.Context(config).WithAccounts(db); // the account files read above, not parsed again
        if (o.DryRun)
            return new InitResult(config, configChanged, new StateEngine(ctx).Plan(state), null, state.Problems, []);

        string? written = null;
        if (configChanged)
        {
            s.Fs.EnsureParents(AicaConfig.ConfigPath);
            if (s.Fs.Lstat("/data/config") is null) s.Fs.EnsureDir("/data/config", O(755), 0, 0);
            written = ConfigText(existing, readText, config);
            // Nodes sharing /data that run init at the same time must agree on one aica.toml (the group's gid): written
            // under the shared lock, and only if nobody wrote it since this run read it (a steady run takes no lock).
            using var shared = s.Registry.Lock(s.Wait, ct);
            if (s.Fs.ReadText(AicaConfig.ConfigPath) != readText)
                throw new AicaException($"{s.Fs.Host(AicaConfig.ConfigPath)} was changed (by another node?) while init ran: run aica init again", ExitCodes.LockBusy);
            s.Fs.WriteAtomic(AicaConfig.ConfigPath, Encoding.UTF8.GetBytes(written), O(644));
        }
        s.RememberGoodConfig(written);
        var report = await new StateEngine(ctx).Apply(state, ct).ConfigureAwait(false);
        var notes = new List<string>(ctx.Notes);
        if (configChanged && existing is not null) notes.Add($"{AicaConfig.ConfigPath}: {Edits(existing, config).Count} value(s) set in place (comments and order kept)");
        notes.Add(s.Scheduler.IsSystemd ? $"scheduled jobs: systemd timers ({s.Scheduler.Why})" : $"scheduled jobs: {Templates.CronPath} ({s.Scheduler.Why})");
        if (await s.ActivateUnits(config, report.Actions, ct).ConfigureAwait(false) is { } activated) notes.Add(activated);
        if (configChanged || report.Actions.Count > 0) // a run with nothing to do touches no file, the log included
            s.Log("init", $"group {config.Group} gid {gid}: {(configChanged ? 1 : 0) + report.Actions.Count(a => a.Ok)} changes, {report.Actions.Count(a => !a.Ok)} failed");
        return new InitResult(config, configChanged, [], report, state.Problems, notes);
    }

    /// <summary>
    /// The new aica.toml: a fresh one from the model, or the admin's file with only the changed values edited in place
    /// (Tomlyn's syntax tree keeps comments and order, so no backup is needed). What would be written is checked first:
    /// init never installs a config that does not validate (exit 2).
    /// </summary>
    /// <param name="existingText">The aica.toml this run read (and will compare before writing): the text edited, not a new read.</param>
    private string ConfigText(AicaConfig? existing, string? existingText, AicaConfig config)
    {
        var text = existing is null ? config.Render() : ConfigFile.Edit(existingText ?? "", Edits(existing, config));
        var check = ConfigFile.Read(text);
        if (!check.Valid) throw AicaException.Usage($"init would write an invalid {s.Fs.Host(AicaConfig.ConfigPath)}: {string.Join("; ", check.Issues)}");
        return text;
    }

    private static List<(string Key, object Value)> Edits(AicaConfig existing, AicaConfig config)
    {
        var edits = new List<(string, object)>();
        if (existing.Gid != config.Gid && config.Gid is { } gid) edits.Add(("group.gid", gid));
        if (existing.DefaultLayout != config.DefaultLayout) edits.Add(("users.default_layout", config.DefaultLayout));
        return edits;
    }

    private static int FreeGid(AccountDb db, int from)
    {
        var gid = from;
        while (db.GroupById(gid) is not null || db.UserById(gid) is not null) gid++;
        return gid;
    }
}
