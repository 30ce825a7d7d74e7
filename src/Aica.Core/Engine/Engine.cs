using System.Diagnostics;
using Aica.Native;

namespace Aica.Engine;

public sealed record PlannedAction(Unit Unit, Item Item, Drift Drift);

public sealed record AppliedAction(Unit Unit, Item Item, Drift Drift, string? Error)
{
    public bool Ok => Error is null;
}

public sealed record ApplyReport(IReadOnlyList<AppliedAction> Actions, IReadOnlySet<string> FailedUsers, IReadOnlyList<string> FailedUnits,
    IReadOnlySet<string> Users)
{
    public bool AnyFailed => Actions.Any(a => !a.Ok) || FailedUnits.Count > 0;
}

/// <summary>
/// The one desired-state engine (SPEC §2): <see cref="Plan"/> lists what apply would do, <see cref="Apply"/>
/// does it idempotently, <see cref="Check"/> reports every difference for doctor. All three use the items' Check.
/// </summary>
public sealed class StateEngine(EngineContext ctx)
{
    public IReadOnlyList<PlannedAction> Plan(DesiredState state)
    {
        var list = new List<PlannedAction>();
        foreach (var unit in Ordered(state))
            foreach (var item in unit.Items)
                if (SafeCheck(item) is { } d) list.Add(new PlannedAction(unit, item, d));
        return list;
    }

    /// <summary>
    /// Applies every unit in order. With <paramref name="budgets"/> (recover) each user's units run under that user's
    /// <see cref="WorkBudget"/>: a user whose budget runs out fails (reported, counted) and the others go on.
    /// </summary>
    public async Task<ApplyReport> Apply(DesiredState state, CancellationToken ct, BudgetPolicy? budgets = null)
    {
        var actions = new List<AppliedAction>();
        var failedUsers = new HashSet<string>();
        var failedUnits = new List<string>();
        var users = new HashSet<string>();
        var userBudgets = new Dictionary<string, WorkBudget>();
        ctx.Fs.ExpectManyDirs(UserCount(state));
        if (ctx.FirstPass is { } first) actions.AddRange(first.Run(this, state, ct));
        try
        {
            foreach (var unit in Ordered(state))
            {
                if (unit.User is { } u)
                {
                    users.Add(u);
                    if (failedUsers.Contains(u)) continue; // a user who failed earlier is not touched further
                }
                var budget = unit.User is { } bu && budgets is not null
                    ? userBudgets.TryGetValue(bu, out var b) ? b : userBudgets[bu] = budgets.For(bu, ct)
                    : null;
                using var unlimited = budget is null ? WorkBudget.Unlimited(ct) : null;
                ctx.Work = budget ?? unlimited!;
                ctx.Work.Enter();
                try { await ApplyUnit(unit, ctx.Work, actions, failedUsers, failedUnits, ct).ConfigureAwait(false); }
                finally { ctx.Work.Leave(); }
            }
        }
        finally
        {
            ctx.Work = WorkBudget.None;
            foreach (var b in userBudgets.Values) b.Dispose();
        }
        return new ApplyReport(actions, failedUsers, failedUnits, users);
    }

    private async Task ApplyUnit(Unit unit, WorkBudget work, List<AppliedAction> actions, HashSet<string> failedUsers, List<string> failedUnits, CancellationToken ct)
    {
        Item? current = null;
        try
        {
            foreach (var item in unit.Items)
            {
                current = item;
                ct.ThrowIfCancellationRequested();
                work.Step();
                var drift = SafeCheck(item);
                if (drift is null) continue;
                string? error = null;
                if (drift.Conflict) error = drift.Summary;
                else
                {
                    try { await item.Apply(ctx, drift, work.Token).ConfigureAwait(false); }
                    catch (Exception e) when (e is AicaException or SysException or IOException or UnauthorizedAccessException or ArgumentException)
                    {
                        error = e.Message;
                    }
                }
                actions.Add(new AppliedAction(unit, item, drift, error));
                if (error is not null && drift.Severity == CheckStatus.Fail)
                {
                    if (unit.User is { } fu) failedUsers.Add(fu); else failedUnits.Add(unit.Name);
                    break;
                }
            }
        }
        catch (OperationCanceledException) when (work.Exceeded && unit.User is { } user && current is not null)
        {
            // Only this user's budget ran out (not SIGTERM): the user fails, what was done stays done, the others go on.
            var msg = $"{user}: recovery stopped at {current.Subject} after {work.Spent.TotalSeconds:0.0} s: {work.Describe} " +
                "(a pathological home: millions of entries or huge files?)";
            actions.Add(new AppliedAction(unit, current, new Drift(msg, "aica doctor --user " + user + "; remove what the user planted, then aica recover"), msg));
            failedUsers.Add(user);
        }
    }

    public IEnumerable<CheckResult> Check(DesiredState state)
    {
        ctx.Fs.ExpectManyDirs(UserCount(state));
        foreach (var unit in Ordered(state))
            foreach (var item in unit.Items)
            {
                var sw = Stopwatch.StartNew();
                bool applies;
                try { applies = item.AppliesTo(ctx); }
                catch (Exception e) when (e is SysException or IOException) { applies = true; } // Check reports the error
                if (!applies) continue;
                var d = SafeCheck(item);
                var ms = sw.Elapsed.TotalMilliseconds;
                var id = $"{item.Id}:{item.Subject}";
                yield return d is null
                    ? new CheckResult(id, CheckStatus.Pass, item.Describe, DurationMs: ms)
                    : new CheckResult(id, d.Severity, d.Summary, item.Describe, d.Fix, ms);
            }
    }

    /// <summary>An item's check; one that throws is a conflict naming the error.</summary>
    public Drift? SafeCheck(Item item)
    {
        try { return item.Check(ctx); }
        catch (Exception e) when (e is SysException or IOException or AicaException or ArgumentException or UnauthorizedAccessException)
        {
            return new Drift($"cannot check {item.Subject}: {e.Message}", CannotCheckFix(e), Conflict: true);
        }
    }

    /// <summary>The fix of a check that could not run, for an admin or a member reading it.</summary>
    public const string NeedsRootFix = "needs root to read: run sudo aica doctor";

    /// <summary>What to do about a check that threw: permission (run as root), else the file the error names.</summary>
    public static string CannotCheckFix(Exception e) => e switch
    {
        SysException { Errno: Flags.EACCES or Flags.EPERM } or UnauthorizedAccessException => NeedsRootFix,
        SysException { Errno: Flags.ELOOP } => "a symbolic link is in the way (aica never follows one): remove it, then aica recover",
        SysException { Errno: Flags.EIO or Flags.EROFS or Flags.ENOSPC or Flags.EDQUOT } => "the file system reports the error above: check dmesg and the disk, then aica recover",
        _ => "repair or remove the file named above (aica recover rewrites what it owns), then aica doctor",
    };

    /// <summary>Users with units: each has a /data/users/U that every item of theirs looks below.</summary>
    private static int UserCount(DesiredState s) => s.Units.Select(u => u.User).OfType<string>().Distinct().Count();

    public static IEnumerable<Unit> Ordered(DesiredState s) => s.Units.OrderBy(u => (int)u.Phase); // stable: keeps user order
}
