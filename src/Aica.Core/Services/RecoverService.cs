using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Aica.Accounts;
using Aica.Contracts;
using Aica.Config;
using Aica.Engine;
using Aica.Fleet;
using Aica.Native;
using Aica.Site;
using Aica.Users;
using static Aica.Native.Perms;

namespace Aica.Services;

public sealed record RecoveryReport(string Status, int Users, int Failed, IReadOnlyList<AppliedAction> Actions, IReadOnlyList<PlannedAction> Planned,
    IReadOnlyList<string> Problems, IReadOnlyList<string> Notes, double DurationMs, bool DryRun)
{
    public int ExitCode => Status == "ok" ? ExitCodes.Ok : ExitCodes.Failed;
    /// <summary>Agrees with the [FAIL] lines: failed users, then the problems that are no user's (bad registry lines, server-wide units).</summary>
    public string Summary
    {
        get
        {
            var failedChanges = Actions.Count(a => !a.Ok);
            var more = (Problems.Count > 0 ? $", {Problems.Count} other problem{(Problems.Count == 1 ? "" : "s")}" : "")
                + (failedChanges > 0 ? $", {failedChanges} change{(failedChanges == 1 ? "" : "s")} failed" : "");
            return $"recovered {Users - Failed} users, {Failed} failed{more}"; // SPEC §8's line, then what is no user's
        }
    }
}

/// <summary>aica recover (SPEC §8): rebuilds everything derived from /data, under the lock, one user's failure isolated.</summary>
public sealed class RecoverService(AicaServices s)
{
    public async Task<RecoveryReport> Run(bool dryRun, CancellationToken ct)
    {
        var sw = Stopwatch.StartNew();
        if (!dryRun) s.RequireRoot("recover");
        if (!s.DataMounted())
        {
            var msg = $"{s.DataNotMountedReason()}: refusing to recover (a missing disk would fill the SSD)";
            if (!dryRun) WriteOutcome(new RecoveryReport("refused", 0, 0, [], [], [msg], [], sw.Elapsed.TotalMilliseconds, false), msg);
            throw AicaException.Refused(msg);
        }
        using var _ = dryRun ? null : s.Lock(ct);
        // The shared inputs' fingerprints before they are read: a change made while this run works is seen by the next sync.
        var inputPrints = dryRun ? null : AppliedState.PrintAll(s.Fs, [AicaConfig.RegistryPath, AicaConfig.ConfigPath]);
        // A bad aica.toml never stops recovery (nobody could log in): each bad key is reported with its line and takes
        // its last good value or default; the run then exits 1.
        var load = s.ReadConfig();
        var config = load.Config;
        var configProblems = load.Issues.Select(i => $"{s.Fs.Host(AicaConfig.ConfigPath)} {i}").ToList();
        if (load.Valid && !dryRun) s.RememberGoodConfig();
        var db = s.Accounts.Load();
        var registry = s.Registry.Load();
        if (!dryRun && registry.Users.Any(u => u.IsLegacy && db.User(u.Name) is not null))
            registry = UpgradeLegacy(config, db, ct);

        var state = s.Builder(config).Build(registry, db, null);
        // Files found current by the last run are only looked at (lstat), not read again (dry runs record nothing).
        var verified = dryRun ? VerifiedFiles.None : VerifiedFiles.Load(s.Fs);
        var ctx = s.Context(config, batchAccounts: true, verified).WithAccounts(db);
        var engine = new StateEngine(ctx);
        var userCount = registry.Users.Count;
        var resolved = state.Units.Where(x => x.User is not null).Select(x => x.User!).ToHashSet(StringComparer.Ordinal); // not a scan of all units per user
        var unresolved = registry.Users.Count(u => !resolved.Contains(u.Name));
        if (dryRun)
        {
            var plan = engine.Plan(state);
            var planProblems = configProblems.Concat(state.Problems).ToList();
            return new RecoveryReport(planProblems.Count > 0 ? "failed" : "ok", userCount, unresolved, [], plan, planProblems, [], sw.Elapsed.TotalMilliseconds, true);
        }
        // Each user's units under a time budget: one member's pathological home fails that member, not the boot.
        var applied = await engine.Apply(state, ct, s.RecoverBudgets ?? BudgetPolicy.FromEnvironment()).ConfigureAwait(false);
        // After a full reset the timers and the capture unit are new to the running systemd: reload it and start them.
        if (await s.ActivateUnits(config, applied.Actions, ct).ConfigureAwait(false) is { } activated) ctx.Notes.Add(activated);
        verified.Save(s.Fs);
        var failed = applied.FailedUsers.Count + unresolved;
        var problems = configProblems.Concat(state.Problems).Concat(applied.FailedUnits.Select(u => $"{u} failed")).ToList();
        var status = failed > 0 || problems.Count > 0 || applied.AnyFailed ? "failed" : "ok";
        var report = new RecoveryReport(status, userCount, failed, applied.Actions, [], problems, ctx.Notes, sw.Elapsed.TotalMilliseconds, false);
        WriteOutcome(report, report.Summary);
        var appliedGeneration = status == "ok" ? RecordApplied(registry, inputPrints!) : null;
        // The account files as the run left them: the run's own copy, read again only when an account change invalidated
        // it and no later check has read them since (after a full reset the checks' reload is reused, not made again).
        new NodeReportService(s).AfterRecover(report, registry, ctx.Db, config, appliedGeneration);
        return report;
    }

    /// <summary>
    /// After a run with no failure: the node-local record <c>aica sync</c> compares with (registry generation and the
    /// inputs' fingerprints, the account files as this run left them). A failed run records nothing, so the next sync
    /// tries again (and fails loudly again) until the cause is fixed.
    /// </summary>
    private long? RecordApplied(Registry registry, Dictionary<string, string> inputPrints)
    {
        foreach (var p in AppliedState.Inputs.Except(inputPrints.Keys)) inputPrints[p] = AppliedState.Print(s.Fs, p);
        var record = new AppliedState(registry.Generation, inputPrints);
        try
        {
            if (AppliedState.Read(s.Fs) is not { } old || old.Generation != record.Generation || !old.Prints.OrderBy(x => x.Key).SequenceEqual(record.Prints.OrderBy(x => x.Key)))
                record.Write(s.Fs);
        }
        catch (Exception e) when (e is SysException or IOException) { /* a read-only /var: sync then runs recover every time, correct but slower */ }
        return registry.Generation;
    }

    /// <summary>Legacy name:group lines get the live account's ids written down (SPEC §4: upgraded on the next write).</summary>
    private Registry UpgradeLegacy(AicaConfig config, Accounts.AccountDb db, CancellationToken ct) =>
        s.Registry.Update(reg =>
        {
            foreach (var u in reg.Users.Where(u => u.IsLegacy).ToList())
                if (db.User(u.Name) is { } live)
                    reg.Upsert(u with { Uid = live.Uid, Gid = live.Gid, Shell = live.Shell, Layout = config.DefaultLayout });
            return reg;
        }, s.Wait, ct);

    /// <summary>Problems listed in /run/aica/recovery.json before the rest are only counted.</summary>
    public const int MaxProblems = 100;

    /// <summary>/run/aica/recovery.json plus one line in /var/log and in /data/admin/log.</summary>
    private void WriteOutcome(RecoveryReport r, string line)
    {
        try
        {
            s.Fs.EnsureParents(AicaServices.StatusPath);
            s.Fs.WriteAtomic(AicaServices.StatusPath, StatusJson(r), O(644));
        }
        catch (Exception e) when (e is SysException or IOException) { /* the SSD side may be read-only; the summary still prints */ }
        try { s.Fs.AppendLine(AicaServices.RecoveryLog, $"{s.Clock.LogTime()} {r.Status}: {line}"); }
        catch (Exception e) when (e is SysException or IOException) { }
        if (r.Status != "refused") s.Log("recover", line);
    }

    // Problems capped like every report of member input: the first ones, then "... and K more".
    private byte[] StatusJson(RecoveryReport r) => AicaJson.ToFile(new RecoveryStatusDoc(r.Status, s.Clock.Now.ToString("yyyy-MM-ddTHH:mm:sszzz"),
        r.Users, r.Users - r.Failed, r.Failed, r.Actions.Count(a => a.Ok), Math.Round(r.DurationMs, 1),
        [.. CappedList.Of(r.Problems.Concat(r.Actions.Where(a => !a.Ok).Select(a => a.Error!)), MaxProblems)]), AicaJsonContext.Default.RecoveryStatusDoc);

    public static JsonDocument? ReadStatus(AicaServices s)
    {
        var text = s.Fs.ReadText(AicaServices.StatusPath);
        if (text is null) return null;
        try { return JsonDocument.Parse(text); } catch (JsonException) { return null; }
    }
}
