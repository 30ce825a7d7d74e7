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
        AccountState now;
        try { now = Capture(ctx); }
        catch (SysException e) when (e.Errno == Flags.EACCES)
        {
            return new Drift("cannot read /etc/shadow: run aica doctor as root to compare the account state", "sudo aica doctor", Conflict: true, Severity: CheckStatus.Warn);
        }
        var diffs = AccountCapture.Differences(stored.State, now);
        if (diffs.Count == 0) return null;
        var shown = string.Join("; ", diffs.Take(Shown)) + (diffs.Count > Shown ? $"; and {diffs.Count - Shown} more" : "");
        return new Drift($"{diffs.Count} account change(s) not captured in {AccountStore.Path} (a full reset would lose them): {shown}",
            "aica accounts capture (runs hourly as a scheduled job and at shutdown; recover captures too)", Severity: CheckStatus.Warn);
    }

    public override Task Apply(EngineContext ctx, Drift drift, CancellationToken ct)
    {
        var now = Capture(ctx);
        if (new AccountStore(ctx.Fs).Write(now, stored.Bytes))
            ctx.Notes.Add($"captured the account state of {now.Users.Count} users and {now.Groups.Count} lab groups in {AccountStore.Path}");
        return Task.CompletedTask;
    }
}
