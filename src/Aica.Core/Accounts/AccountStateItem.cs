using Aica.Engine;
using Aica.Native;

namespace Aica.Accounts;

/// <summary>
/// The stored account state matches the live accounts (check <c>accounts.captured</c>). Check is doctor's drift report
/// before a reset can lose anything (WARN, with what differs, never a hash); Apply is the capture. A refused store
/// (not root's, readable by others, truncated, corrupt) is a FAIL and is never overwritten here: the admin looks at it
/// first (<c>aica accounts capture --force</c> replaces it).
/// </summary>
public sealed class AccountStateItem(StoredAccounts stored, IReadOnlyList<AccountCapture.Registered> registered, string sharedGroup) : Item
{
    public const int Shown = 5;
    public override string Id => "accounts.captured";
    public override string Subject => AccountStore.Path;
    public override string Describe => $"account state of {registered.Count} registered users captured in {AccountStore.Path}";

    /// <summary>What a capture would store now; null with a drift when the live files cannot be read.</summary>
    public AccountState Capture(EngineContext ctx) =>
        AccountCapture.Compute(ctx.Accounts.ReadTexts(), registered, sharedGroup, stored.State);

    public override Drift? Check(EngineContext ctx)
    {
        if (stored.Unreadable is { } unreadable)
            return new Drift($"cannot read the stored account state ({unreadable}): run aica doctor as root to compare it", "sudo aica doctor",
                Conflict: true, Severity: CheckStatus.Warn);
        if (stored.Refused is { } why)
            return new Drift($"stored account state refused: {why}; it is not used (accounts recreated after a reset stay locked)",
                "inspect it; chmod 600 / chown root if that is all, else aica accounts capture --force replaces it with the live accounts",
                Conflict: true);
        // The steady state: the account files are the very ones (inode, size, change time) a check found captured, for
        // the same stored file and the same registered users: nothing to compare (three lstats instead of a capture).
        var sources = ctx.Verified.Enabled ? SourceStats(ctx) : null;
        var key = sources is null ? 0 : SourcesKey();
        if (sources is not null && sources.All(x => x.Stat is { } st && ctx.Verified.IsVerified(x.Path, key, st))) return null;
        AccountState now;
        try { now = Capture(ctx); }
        catch (SysException e) when (e.Errno == Flags.EACCES)
        {
            return new Drift("cannot read /etc/shadow: run aica doctor as root to compare the account state", "sudo aica doctor", Conflict: true, Severity: CheckStatus.Warn);
        }
        var diffs = AccountCapture.Differences(stored.State, now);
        if (diffs.Count == 0)
        {
            // Stats taken before the read: a file changed since has another change time, and is compared again next time.
            foreach (var (path, st) in sources ?? [])
                if (st is { } found) ctx.Verified.Record(path, key, found);
            return null;
        }
        var shown = string.Join("; ", diffs.Take(Shown)) + (diffs.Count > Shown ? $"; and {diffs.Count - Shown} more" : "");
        return new Drift($"{diffs.Count} account change(s) not captured in {AccountStore.Path} (a full reset would lose them): {shown}",
            "aica accounts capture (runs hourly as a scheduled job and at shutdown; recover captures too)", Severity: CheckStatus.Warn);
    }

    private static readonly string[] SourceFiles = ["/etc/passwd", "/etc/shadow", "/etc/group"];

    private static List<(string Path, FileStat? Stat)>? SourceStats(EngineContext ctx)
    {
        try { return SourceFiles.Select(p => (p, ctx.Fs.Lstat(p))).ToList(); }
        catch (SysException) { return null; }
    }

    /// <summary>What else the comparison depends on: the stored file's bytes, the registered users, the shared group.</summary>
    private ulong SourcesKey()
    {
        var text = new System.Text.StringBuilder(sharedGroup).Append('\n');
        foreach (var r in registered) text.Append(r.Name).Append(':').Append(r.Uid).Append('\n');
        return VerifiedFiles.KeyOf(stored.Bytes) ^ VerifiedFiles.KeyOf(System.Text.Encoding.UTF8.GetBytes(text.ToString()));
    }

    public override Task Apply(EngineContext ctx, Drift drift, CancellationToken ct)
    {
        var now = Capture(ctx);
        if (new AccountStore(ctx.Fs).Write(now, stored.Bytes))
            ctx.Notes.Add($"captured the account state of {now.Users.Count} users and {now.Groups.Count} lab groups in {AccountStore.Path}");
        return Task.CompletedTask;
    }
}
