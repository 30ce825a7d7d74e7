using Aica.IO;

namespace Aica.Engine;

public enum CheckStatus { Pass, Warn, Fail }

/// <summary>One doctor line: stable id, status, what was found, and how to fix it.</summary>
public sealed record CheckResult(string Id, CheckStatus Status, string Summary, string? Details = null, string? Fix = null, double DurationMs = 0);

/// <summary>A difference between desired and actual state. <see cref="Conflict"/> means apply will not resolve it by itself.</summary>
public sealed record Drift(string Summary, string Fix, bool Conflict = false, CheckStatus Severity = CheckStatus.Fail);

/// <summary>
/// Everything an item needs to look at and change the server. The engine knows no feature: what a feature adds (the
/// account files, the config) is kept here by type (<see cref="With{T}"/>) and read through that feature's own
/// extension properties (e.g. <c>ctx.Accounts</c>, <c>ctx.Db</c> in Aica.Accounts).
/// </summary>
public sealed class EngineContext(RootedFs fs, ProcessRunner runner, Clock clock)
{
    private readonly Dictionary<Type, object> _features = [];

    public RootedFs Fs { get; } = fs;
    public ProcessRunner Runner { get; } = runner;
    public Clock Clock { get; } = clock;

    /// <summary>Adds (or replaces) a feature's state for this run.</summary>
    public EngineContext With<T>(T feature) where T : class
    {
        _features[typeof(T)] = feature;
        return this;
    }

    /// <summary>A feature's state; a context built without it is a programming error.</summary>
    public T Feature<T>() where T : class =>
        _features.TryGetValue(typeof(T), out var f) ? (T)f : throw new InvalidOperationException($"this engine context has no {typeof(T).Name}");

    /// <summary>Files checks found current in an earlier run (recover and a root doctor load it; the rest start empty).</summary>
    public VerifiedFiles Verified { get; init; } = VerifiedFiles.None;

    /// <summary>Names for owner ids in messages (the accounts feature sets them); without them the numbers show.</summary>
    public Func<int, string?> UserName { get; set; } = _ => null;
    public Func<int, string?> GroupName { get; set; } = _ => null;

    /// <summary>Run by <see cref="StateEngine.Apply"/> before the units (recover: missing accounts in one write).</summary>
    public IFirstPass? FirstPass { get; set; }

    /// <summary>Days since 1970 (shadow's last-change field).</summary>
    public long Today => (long)(Clock.Now.ToUniversalTime() - DateTime.UnixEpoch).TotalDays;

    /// <summary>Lines for the persistent log (planted links removed, backups made): the first ones, then a count.</summary>
    public CappedList Notes { get; } = new(MaxNotes);

    /// <summary>Notes listed in one run's output, JSON and log before the rest are only counted (SPEC §6.10).</summary>
    public const int MaxNotes = 100;

    /// <summary>The budget of the user whose items run now (recover); items call its Step in loops over member input.</summary>
    public WorkBudget Work { get; set; } = WorkBudget.None;
}

/// <summary>A pass over the whole state before the units are applied; what it returns counts as applied.</summary>
public interface IFirstPass
{
    IEnumerable<AppliedAction> Run(StateEngine engine, DesiredState state, CancellationToken ct);
}

/// <summary>
/// One piece of desired state (a directory, link, file, group, account...). Check never changes anything;
/// Apply makes the item true given the drift Check found. Modelled on systemd-tmpfiles lines.
/// </summary>
public abstract class Item
{
    /// <summary>Stable check id, e.g. <c>tree.dir</c>, <c>home.link</c>, <c>sudoers.valid</c>.</summary>
    public abstract string Id { get; }
    /// <summary>What this item is about (a path or a name), for messages and the check id suffix.</summary>
    public abstract string Subject { get; }
    /// <summary>The desired state in words, for PASS lines and plans.</summary>
    public abstract string Describe { get; }

    public abstract Drift? Check(EngineContext ctx);
    public abstract Task Apply(EngineContext ctx, Drift drift, CancellationToken ct);

    /// <summary>False when there is nothing to check (a file aica only edits when present is absent): doctor then shows no PASS for it.</summary>
    public virtual bool AppliesTo(EngineContext ctx) => true;
}

public enum Phase { Group = 0, Accounts = 1, Tree = 2, Etc = 3, Homes = 4 }

/// <summary>Items applied in order; a failure stops the rest of the unit and, for a user, the user's later units.</summary>
public sealed record Unit(Phase Phase, string Name, string? User, IReadOnlyList<Item> Items);

/// <summary>The full desired state of a server.</summary>
public sealed record DesiredState(IReadOnlyList<Unit> Units, IReadOnlyList<string> Problems);
