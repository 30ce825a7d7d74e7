namespace Aica.Engine;

/// <summary>
/// The time one user's units may take in recover (SPEC §6.10): a pathological home (millions of entries, huge rc
/// files) fails that user, reported and counted, and the others still recover before logins. Time is counted only
/// while the user's own units run (their account in phase 1, their home in phase 4). Items call <see cref="Step"/> in
/// their loops over member-controlled input; child processes get <see cref="Token"/>, which fires at the deadline.
/// </summary>
public sealed class WorkBudget : IDisposable
{
    /// <summary>No limit: init, user add and doctor (only the outer cancellation counts).</summary>
    public static WorkBudget Unlimited(CancellationToken outer) => new("", Timeout.InfiniteTimeSpan, outer);

    /// <summary>No limit and no cancellation: what items see outside an engine run (checks for doctor, plans).</summary>
    public static readonly WorkBudget None = Unlimited(CancellationToken.None);

    private readonly CancellationTokenSource _cts;
    private readonly CancellationToken _outer;
    private readonly System.Diagnostics.Stopwatch _spent = new();
    private readonly long _maxSteps;
    private readonly Func<TimeSpan>? _totalLeft;
    private long _steps;

    public WorkBudget(string user, TimeSpan limit, CancellationToken outer, long maxSteps = long.MaxValue, Func<TimeSpan>? totalLeft = null)
    {
        User = user;
        Limit = limit;
        _outer = outer;
        _maxSteps = maxSteps;
        _totalLeft = totalLeft;
        _cts = CancellationTokenSource.CreateLinkedTokenSource(outer);
    }

    public string User { get; }
    public TimeSpan Limit { get; }
    public TimeSpan Spent => _spent.Elapsed;
    public long Steps => Interlocked.Read(ref _steps);

    /// <summary>The last <see cref="Enter"/> was cut short by the budget for all users, not the user's own.</summary>
    public bool CutByTotal { get; private set; }

    /// <summary>Which budget ran out, in words for the report.</summary>
    public string Describe => CutByTotal
        ? "the time budget for all users ran out before this user's turn ended"
        : $"its time budget of {Limit.TotalSeconds:0.###} s ran out";

    /// <summary>Cancelled at the deadline (or by the outer token: SIGTERM).</summary>
    public CancellationToken Token => _cts.Token;

    /// <summary>The budget ran out (as opposed to the whole command being cancelled).</summary>
    public bool Exceeded => _cts.IsCancellationRequested && !_outer.IsCancellationRequested;

    /// <summary>One unit of work on member input; throws <see cref="OperationCanceledException"/> once the budget is spent.</summary>
    public void Step()
    {
        if (Interlocked.Increment(ref _steps) > _maxSteps) _cts.Cancel();
        _cts.Token.ThrowIfCancellationRequested();
    }

    /// <summary>The user's units start (again): the clock runs until <see cref="Leave"/>.</summary>
    public void Enter()
    {
        if (_cts.IsCancellationRequested) return;
        var left = Limit == Timeout.InfiniteTimeSpan ? Timeout.InfiniteTimeSpan : Limit - _spent.Elapsed;
        CutByTotal = false;
        if (_totalLeft?.Invoke() is { } total && (left == Timeout.InfiniteTimeSpan || total < left)) { left = total; CutByTotal = true; }
        if (left != Timeout.InfiniteTimeSpan && left <= TimeSpan.Zero) { _cts.Cancel(); return; }
        if (left != Timeout.InfiniteTimeSpan) _cts.CancelAfter(left);
        _spent.Start();
    }

    /// <summary>The user's units are done for now: the clock stops (shared phases in between are not the user's time).</summary>
    public void Leave()
    {
        _spent.Stop();
        if (!_cts.IsCancellationRequested) _cts.CancelAfter(Timeout.InfiniteTimeSpan);
    }

    public void Dispose() => _cts.Dispose();
}

/// <summary>
/// How recover budgets its users: <see cref="PerUser"/> each (counted while that user's units run) and
/// <see cref="Total"/> for all users together, so the whole run ends well inside the unit's start timeout.
/// </summary>
/// <param name="maxSteps">Work steps after which a user's budget counts as spent (tests: a pathological home without
/// millions of entries or timing); none in the product.</param>
public sealed class BudgetPolicy(TimeSpan perUser, TimeSpan total, IReadOnlyDictionary<string, long>? maxSteps = null)
{
    /// <summary>Default per user: far above any real home (milliseconds), far below the unit's 600 s start timeout.</summary>
    public static readonly TimeSpan DefaultPerUser = TimeSpan.FromSeconds(20);

    /// <summary>Default for all users together: leaves the unit's 600 s for the shared phases and the status file.</summary>
    public static readonly TimeSpan DefaultTotal = TimeSpan.FromSeconds(300);

    /// <summary>Overrides the per-user budget (seconds, decimals allowed), e.g. for a host with very slow account tools.</summary>
    public const string PerUserEnv = "AICA_RECOVER_USER_BUDGET_S";

    private readonly System.Diagnostics.Stopwatch _all = System.Diagnostics.Stopwatch.StartNew();

    public TimeSpan PerUser { get; } = perUser;
    public TimeSpan Total { get; } = total;

    public static BudgetPolicy FromEnvironment()
    {
        var perUser = double.TryParse(Environment.GetEnvironmentVariable(PerUserEnv), System.Globalization.NumberStyles.Float,
            System.Globalization.CultureInfo.InvariantCulture, out var s) && s > 0 ? TimeSpan.FromSeconds(Math.Min(s, 86_400)) : DefaultPerUser;
        return new BudgetPolicy(perUser, DefaultTotal > perUser ? DefaultTotal : perUser);
    }

    public WorkBudget For(string user, CancellationToken outer) =>
        new(user, PerUser, outer, maxSteps?.GetValueOrDefault(user, long.MaxValue) ?? long.MaxValue, () => Total - _all.Elapsed);
}
